"""A practitioner's corrections to an analysis: hairs removed by number, hairs added by hand.

Corrections never change a result in place: ``apply`` returns a new ``Result`` whose hairs
are the corrected ones, so every figure derived from them (count, density, classes) is the
corrected figure, and whose ``corrections`` log is the old one plus the new entries, so
that the corrected result can be reproduced from the analysis and the log. A batch is
checked entirely before anything is applied: one bad entry refuses the whole batch.

Hair numbers are never reused: a hair added by hand gets a number above every number the
result has ever used, including those of hairs removed since.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Iterable, Sequence
from typing import Any

from .errors import TrichoscopyError
from .result import Correction, Hair, Result

# Widest plausible hair shaft; a width outside (0, MAX_WIDTH_UM) is a typing or unit error.
MAX_WIDTH_UM = 500.0
_ADD_KEYS = frozenset({"action", "centreline_px", "width_um"})
_REMOVE_KEYS = frozenset({"action", "hair_id"})


def apply(result: Result, corrections: Sequence[Correction]) -> Result:
    """A new result with ``corrections`` applied in order; ``result`` is left unchanged.

    A removal drops the hair with that number. An addition appends a hair with the next
    unused number, ``manual=True``, its exit at the first point of its centreline, counted
    if that exit lies in the region, the width given (or unmeasured) and no follicular
    unit. Applying two batches one after the other gives the same result as applying them
    together. Raises ``TrichoscopyError``, applying nothing, if any correction names an
    unknown or already removed hair, or adds a hair that is not a line of at least two
    finite points inside the image, or gives a width outside 0 to 500 um.
    """
    hairs = list(result.hairs)
    removed_before = {c.hair_id for c in result.corrections if c.action == "remove"}
    removed_now: set[int] = set()
    next_id = _next_id(result)
    applied: list[Correction] = []
    for number, correction in enumerate(corrections, start=1):
        where = f"Correction {number}" if len(corrections) > 1 else "The correction"
        if not isinstance(correction, Correction):
            raise TrichoscopyError(f"{where} is not a correction.")
        if correction.action == "remove":
            hair_id = _hair_id(correction.hair_id, where)
            if hair_id in removed_now:
                raise TrichoscopyError(
                    f"{where}: hair {hair_id} is removed twice in these corrections."
                )
            if hair_id in removed_before:
                raise TrichoscopyError(f"{where}: hair {hair_id} has already been removed.")
            index = next((i for i, hair in enumerate(hairs) if hair.id == hair_id), None)
            if index is None:
                raise TrichoscopyError(
                    f"{where}: there is no hair {hair_id} in this result; check the number "
                    "on the overlay."
                )
            del hairs[index]
            removed_now.add(hair_id)
            applied.append(Correction("remove", hair_id=hair_id))
        elif correction.action == "add":
            points = _centreline(correction.centreline_px, result.image_shape, where)
            width_um = _width(correction.width_um, where)
            exit_px = points[0]
            hairs.append(
                Hair(
                    id=next_id,
                    centreline_px=points,
                    width_um=width_um,
                    exit_px=exit_px,
                    counted=result.roi.contains(*exit_px),
                    unit=None,
                    manual=True,
                )
            )
            next_id += 1
            applied.append(Correction("add", centreline_px=points, width_um=width_um))
        else:
            raise TrichoscopyError(
                f"{where}: the action {correction.action!r} is not known; use add or remove."
            )
    return result.with_hairs(tuple(hairs), result.corrections + tuple(applied))


def remove(result: Result, *hair_ids: int) -> Result:
    """``result`` with the hairs numbered ``hair_ids`` removed (see ``apply``)."""
    return apply(result, [Correction("remove", hair_id=hair_id) for hair_id in hair_ids])


def add(
    result: Result,
    centreline_px: Sequence[Sequence[float]],
    *,
    width_um: float | None = None,
) -> Result:
    """``result`` with one hair added along ``centreline_px``, from its exit (see ``apply``)."""
    points = _as_points(centreline_px, "The correction")
    return apply(result, [Correction("add", centreline_px=points, width_um=width_um)])


def from_json(data: Any) -> tuple[Correction, ...]:
    """Corrections from the list ``Correction.as_json`` entries make (a corrections file).

    Checks the structure and types only (``apply`` checks them against a result); raises
    ``TrichoscopyError`` naming the first malformed entry.
    """
    if not isinstance(data, list):
        raise TrichoscopyError(
            'Corrections must be a list of entries such as {"action": "remove", "hair_id": 12}.'
        )
    parsed: list[Correction] = []
    for number, entry in enumerate(data, start=1):
        where = f"Correction {number}"
        if not isinstance(entry, dict):
            raise TrichoscopyError(f"{where} is not an object with an action.")
        action = entry.get("action")
        if action == "remove":
            _only_keys(entry, _REMOVE_KEYS, where)
            if "hair_id" not in entry:
                raise TrichoscopyError(f"{where}: a removal needs the hair_id of the hair.")
            parsed.append(Correction("remove", hair_id=_hair_id(entry["hair_id"], where)))
        elif action == "add":
            _only_keys(entry, _ADD_KEYS, where)
            raw = entry.get("centreline_px")
            if not isinstance(raw, list) or not all(
                isinstance(point, list) and len(point) == 2 and all(map(_is_number, point))
                for point in raw
            ):
                raise TrichoscopyError(
                    f"{where}: centreline_px must be a list of [x, y] pixel positions."
                )
            width = entry.get("width_um")
            if width is not None and not _is_number(width):
                raise TrichoscopyError(f"{where}: width_um must be a number or null.")
            parsed.append(
                Correction(
                    "add",
                    centreline_px=tuple((float(x), float(y)) for x, y in raw),
                    width_um=None if width is None else float(width),
                )
            )
        else:
            raise TrichoscopyError(f"{where}: the action must be add or remove, not {action!r}.")
    return tuple(parsed)


def _next_id(result: Result) -> int:
    """One above every hair number the result has used, removed hairs' included."""
    used = [hair.id for hair in result.hairs]
    used += [c.hair_id for c in result.corrections if c.action == "remove" and c.hair_id]
    return max(used, default=0) + 1


def _is_number(value: object) -> bool:
    return isinstance(value, numbers.Real) and not isinstance(value, bool)


def _hair_id(value: object, where: str) -> int:
    if not isinstance(value, numbers.Integral) or isinstance(value, bool):
        raise TrichoscopyError(f"{where}: the hair number must be a whole number, not {value!r}.")
    return int(value)


def _only_keys(entry: dict[str, Any], allowed: Iterable[str], where: str) -> None:
    unknown = sorted(set(entry) - set(allowed))
    if unknown:
        raise TrichoscopyError(
            f"{where}: unknown field {', '.join(map(repr, unknown))}; "
            f"expected {', '.join(sorted(allowed))}."
        )


def _centreline(
    raw: Sequence[Sequence[float]], shape: tuple[int, int], where: str
) -> tuple[tuple[float, float], ...]:
    """The points as float pairs, if there are two or more, finite and inside the image."""
    points = _as_points(raw, where)
    if len(points) < 2:
        raise TrichoscopyError(
            f"{where}: a hair added by hand needs at least two points, from its exit along "
            "the shaft."
        )
    if not all(math.isfinite(value) for point in points for value in point):
        raise TrichoscopyError(f"{where}: the hair's points must be finite numbers.")
    height, width = shape[0], shape[1]
    # Pixel centres run from 0 to size - 1; the image's edges lie half a pixel beyond.
    outside = [
        (x, y) for x, y in points if not (-0.5 <= x <= width - 0.5 and -0.5 <= y <= height - 0.5)
    ]
    if outside:
        x, y = outside[0]
        raise TrichoscopyError(
            f"{where}: the point ({x:g}, {y:g}) lies outside the {width}x{height} image."
        )
    return points


def _as_points(raw: Iterable[Sequence[float]], where: str) -> tuple[tuple[float, float], ...]:
    try:
        return tuple((float(x), float(y)) for x, y in raw)
    except (TypeError, ValueError):
        raise TrichoscopyError(
            f"{where}: the hair's centreline must be a list of (x, y) pixel positions."
        ) from None


def _width(value: float | None, where: str) -> float | None:
    if value is None:
        return None
    if not _is_number(value) or not math.isfinite(value) or not 0 < value < MAX_WIDTH_UM:
        raise TrichoscopyError(
            f"{where}: a hair's width must be more than 0 and less than {MAX_WIDTH_UM:g} um; "
            f"got {value!r}."
        )
    return float(value)
