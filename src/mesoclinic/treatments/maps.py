"""Treatment-area zone maps for the session chart: geometry and shading (pure, no models, no DB).

Each area (the codes of ``protocols.models.Area``) has one ``ZoneMap``: an SVG outline of the
head, face or body drawn under clickable zones. ``shade`` turns the volumes injected per zone
into shading levels 0-4 for the ``treatments/_zone_map.html`` include.

Side convention, written on every map as "L"/"R" marks so nobody has to guess:

- scalp, seen from above with the nose at the top: the patient's right is on the viewer's right
  (as on a map, facing north);
- face, submental and body front views: the patient faces the viewer, so the patient's right is on
  the viewer's left; the body's back view shows the patient's right on the viewer's right.

The shapes are built from a few smooth primitives (elliptical arcs and Catmull-Rom curves turned
into cubic Beziers). Where two zones touch, both are built from the very same boundary curve
(one of them walks it backwards), so they tile exactly without overlapping; where zones do not
touch, they are separate islands a few units apart.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import ROUND_CEILING, Decimal, InvalidOperation

from django.utils import formats
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from mesoclinic.patients.scales import SCALP_ZONES

AREAS = ("scalp", "face", "submental", "body")  # same codes as protocols.models.Area
LEVELS = 4  # shading levels above 0 ("untreated")


@dataclass(frozen=True)
class Zone:
    """One clickable zone: its code (stored on charted lines), label, SVG shape and label spot."""

    code: str
    label: str | Promise
    shape: str  # SVG path data ("d") in the map's viewBox; holes use the even-odd rule
    label_x: float  # where the volume is written (the text is centred on this point)
    label_y: float


@dataclass(frozen=True)
class Mark:
    """A fixed orientation word drawn on a map ("L", "R", "Front"), centred on (x, y)."""

    text: str | Promise
    x: float
    y: float


@dataclass(frozen=True)
class ZoneMap:
    """The zones of one area, in tab order, with the outline drawn under them."""

    area: str
    title: str | Promise
    view_box: str
    outline: str  # SVG path data, drawn under the zones (stroke only, no fill)
    zones: tuple[Zone, ...]
    marks: tuple[Mark, ...] = field(default=())

    def __post_init__(self) -> None:
        codes = [zone.code for zone in self.zones]
        if len(set(codes)) != len(codes):
            raise ValueError(f"zone codes repeat on the {self.area} map: {codes}")

    def zone(self, code: str) -> Zone:
        """The zone with this code; ``KeyError`` when the map has none."""
        for zone in self.zones:
            if zone.code == code:
                return zone
        raise KeyError(code)

    @property
    def codes(self) -> frozenset[str]:
        return frozenset(zone.code for zone in self.zones)


@dataclass(frozen=True)
class ShadedZone:
    """A zone as drawn for one session: its volume, shading level and whether it is chosen."""

    zone: Zone
    volume_ml: Decimal  # Decimal("0") when untreated
    level: int  # 0 = untreated, 1..LEVELS = shading bucket
    selected: bool

    @property
    def volume_text(self) -> str:
        """The volume as written on the map, localised, without trailing zeros ("1.5", "2")."""
        value = self.volume_ml.normalize()
        exponent = value.as_tuple().exponent
        if isinstance(exponent, int) and exponent > 0:  # normalize() turns 10 into 1E+1
            value = value.quantize(Decimal(1))
        return formats.number_format(value, use_l10n=True)


def zone_map(area: str) -> ZoneMap:
    """The map of an area code from ``AREAS``; ``ValueError`` for any other code."""
    try:
        return _MAPS[area]
    except KeyError:
        raise ValueError(f"no zone map for area {area!r}; known: {', '.join(AREAS)}") from None


def zone_label(area: str, code: str) -> str:
    """The (translated) label of a zone, or the code itself when the area or zone is unknown.

    Never raises, so old charted lines with retired codes still display.
    """
    try:
        return str(zone_map(area).zone(code).label)
    except (ValueError, KeyError):
        return code


def shade(
    zone_map: ZoneMap, volumes_ml: Mapping[str, Decimal], selected: Iterable[str] = ()
) -> list[ShadedZone]:
    """Every zone of the map, in map order, with its volume and shading level.

    The level of a zone with volume ``v`` when the largest volume on the map is ``m`` is
    ``ceil(4 * v / m)``: 0 exactly when ``v`` is zero or absent, at least 1 for any positive
    volume, 4 for the largest, and never lower for a larger volume (monotone). The scale is
    relative to this map only. Codes in ``volumes_ml`` or ``selected`` that are not on the map
    are ignored. A negative or non-finite volume is a ``ValueError``.
    """
    chosen = frozenset(selected)
    volumes: dict[str, Decimal] = {}
    for code, raw in volumes_ml.items():
        if code in zone_map.codes:
            volumes[code] = _volume(code, raw)
    largest = max(volumes.values(), default=Decimal(0))
    return [
        ShadedZone(
            zone=zone,
            volume_ml=volumes.get(zone.code, Decimal(0)),
            level=_level(volumes.get(zone.code, Decimal(0)), largest),
            selected=zone.code in chosen,
        )
        for zone in zone_map.zones
    ]


def _volume(code: str, raw: object) -> Decimal:
    try:
        value = raw if isinstance(raw, Decimal) else Decimal(str(raw))
    except InvalidOperation:
        raise ValueError(f"volume of zone {code!r} is not a number: {raw!r}") from None
    if not value.is_finite() or value < 0:
        raise ValueError(f"volume of zone {code!r} must be a finite number >= 0, not {raw!r}")
    return value


def _level(volume: Decimal, largest: Decimal) -> int:
    if volume <= 0:
        return 0
    # Decimal division is correctly rounded, so the ratio never decreases as volume grows,
    # and volume == largest gives exactly LEVELS.
    bucket = (LEVELS * volume / largest).to_integral_value(rounding=ROUND_CEILING)
    return max(1, min(LEVELS, int(bucket)))


# --- Geometry -------------------------------------------------------------------------------
# Coordinates are rounded to 0.1 unit when written; shared boundaries are written from the same
# numbers, so neighbours still meet exactly.

Point = tuple[float, float]


def _num(value: float) -> str:
    text = f"{value:.1f}"
    if text.endswith(".0"):
        text = text[:-2]
    return "0" if text == "-0" else text


def _pt(point: Point) -> str:
    return f"{_num(point[0])} {_num(point[1])}"


@dataclass(frozen=True)
class _Edge:
    """A piece of boundary from ``start``: a run of L (line), C (cubic) and A (arc) segments.

    Segment arguments end with the segment's end point: L (x, y); C (x1, y1, x2, y2, x, y);
    A (rx, ry, large, sweep, x, y).
    """

    start: Point
    segments: tuple[tuple[str, tuple[float, ...]], ...]

    @property
    def end(self) -> Point:
        args = self.segments[-1][1]
        return (args[-2], args[-1])

    def reversed(self) -> _Edge:
        """The same curve walked from its end back to its start."""
        starts = [self.start] + [(args[-2], args[-1]) for _cmd, args in self.segments[:-1]]
        out: list[tuple[str, tuple[float, ...]]] = []
        for (cmd, args), begin in zip(reversed(self.segments), reversed(starts), strict=True):
            if cmd == "L":
                out.append(("L", begin))
            elif cmd == "C":
                out.append(("C", (args[2], args[3], args[0], args[1], *begin)))
            else:
                out.append(("A", (args[0], args[1], args[2], 1 - args[3], *begin)))
        return _Edge(self.end, tuple(out))

    def d(self) -> str:
        parts = []
        for cmd, args in self.segments:
            if cmd == "A":
                rx, ry, large, sweep, x, y = args
                parts.append(f"A{_num(rx)} {_num(ry)} 0 {int(large)} {int(sweep)} {_pt((x, y))}")
            else:
                points = [(args[i], args[i + 1]) for i in range(0, len(args), 2)]
                parts.append(cmd + " ".join(_pt(point) for point in points))
        return " ".join(parts)


def _check_joined(first: _Edge, second: _Edge) -> None:
    if _pt(first.end) != _pt(second.start):
        raise ValueError(f"boundary gap: {_pt(first.end)} then {_pt(second.start)}")


def _line(a: Point, b: Point) -> _Edge:
    return _Edge(a, (("L", b),))


def _quad(a: Point, control: Point, b: Point) -> _Edge:
    """A quadratic curve, stored as the equal cubic."""
    c1 = (a[0] + 2 / 3 * (control[0] - a[0]), a[1] + 2 / 3 * (control[1] - a[1]))
    c2 = (b[0] + 2 / 3 * (control[0] - b[0]), b[1] + 2 / 3 * (control[1] - b[1]))
    return _Edge(a, (("C", (*c1, *c2, *b)),))


def _smooth(points: Sequence[Point], closed: bool = False) -> _Edge:
    """A Catmull-Rom curve through the points as cubic Beziers (closed: back to the first)."""
    pts = list(points)
    count = len(pts)
    segments = []
    for i in range(count if closed else count - 1):
        if closed:
            p0, p1, p2, p3 = (pts[(i + k) % count] for k in (-1, 0, 1, 2))
        else:
            p0, p1 = pts[max(i - 1, 0)], pts[i]
            p2, p3 = pts[i + 1], pts[min(i + 2, count - 1)]
        c1 = (p1[0] + (p2[0] - p0[0]) / 6, p1[1] + (p2[1] - p0[1]) / 6)
        c2 = (p2[0] - (p3[0] - p1[0]) / 6, p2[1] - (p3[1] - p1[1]) / 6)
        segments.append(("C", (*c1, *c2, *p2)))
    return _Edge(pts[0], tuple(segments))


def _pieces(points: Sequence[Point]) -> list[_Edge]:
    """One open smooth curve through the points, cut at every point (to share parts of it)."""
    whole = _smooth(points)
    return [_Edge(points[i], (segment,)) for i, segment in enumerate(whole.segments)]


def _loop(*edges: _Edge) -> str:
    """A closed subpath walking the edges in order; each must start where the last one ended."""
    for first, second in zip(edges, (*edges[1:], edges[0]), strict=True):
        _check_joined(first, second)
    return f"M{_pt(edges[0].start)} " + " ".join(edge.d() for edge in edges) + " Z"


def _blob(points: Sequence[Point]) -> str:
    """A closed smooth shape through the points."""
    edge = _smooth(points, closed=True)
    return f"M{_pt(edge.start)} {edge.d()} Z"


def _stroke(points: Sequence[Point]) -> str:
    """An open smooth line drawn there and back, so it encloses no area (nothing to fill)."""
    edge = _smooth(points)
    return f"M{_pt(edge.start)} {edge.d()} {edge.reversed().d()} Z"


def _ellipse(cx: float, cy: float, rx: float, ry: float) -> str:
    return (
        f"M{_pt((cx + rx, cy))} A{_num(rx)} {_num(ry)} 0 1 0 {_pt((cx - rx, cy))} "
        f"A{_num(rx)} {_num(ry)} 0 1 0 {_pt((cx + rx, cy))} Z"
    )


def _almond(cx: float, cy: float, half_width: float, half_height: float) -> str:
    """A closed eye- or lip-shaped outline: two quadratic curves meeting at sharp corners."""
    left, right = _pt((cx - half_width, cy)), _pt((cx + half_width, cy))
    top, bottom = _pt((cx, cy - 2 * half_height)), _pt((cx, cy + 2 * half_height))
    return f"M{left} Q{top} {right} Q{bottom} {left} Z"


def _mirror(points: Iterable[Point], axis: float) -> list[Point]:
    return [(2 * axis - x, y) for x, y in points]


def _symmetric(half: Sequence[Point], axis: float) -> list[Point]:
    """Points down one side (x > axis) then back up the mirrored side: a symmetric outline."""
    other = _mirror(reversed(half), axis)
    if half and half[0][0] == axis:  # a point on the axis is not repeated
        other = other[:-1]
    if half and half[-1][0] == axis:
        other = other[1:]
    return [*half, *other]


@dataclass(frozen=True)
class _Egg:
    """Two half-ellipses sharing the horizontal axis: a head seen from above.

    Angles are in degrees, counter-clockwise on screen from the viewer's right; the front half
    (90 degrees at the top) has radius ``ry_front``, the back half ``ry_back``.
    """

    cx: float
    cy: float
    rx: float
    ry_front: float
    ry_back: float

    def point(self, degrees: float) -> Point:
        rad = math.radians(degrees)
        ry = self.ry_front if math.sin(rad) >= 0 else self.ry_back
        return (self.cx + self.rx * math.cos(rad), self.cy - ry * math.sin(rad))

    def arc(self, start: float, end: float) -> _Edge:
        """The outline from one angle to another, cut where the two halves meet."""
        step = 1 if end > start else -1
        low, high = sorted((start, end))
        cuts = [180 * k for k in range(math.ceil(low / 180), math.floor(high / 180) + 1)]
        stops = [a for a in sorted(cuts, reverse=step < 0) if low < a < high] + [end]
        segments = []
        here = start
        for stop in stops:
            middle = math.radians((here + stop) / 2)
            ry = self.ry_front if math.sin(middle) >= 0 else self.ry_back
            # Counter-clockwise on screen (angles growing) is SVG's sweep-flag 0.
            segments.append(("A", (self.rx, ry, 0, 0 if step > 0 else 1, *self.point(stop))))
            here = stop
        return _Edge(self.point(start), tuple(segments))

    def outline(self) -> str:
        return _loop(self.arc(0, 180), self.arc(-180, 0))


@dataclass(frozen=True)
class _Oval:
    """An ellipse; angles in degrees, counter-clockwise on screen from the viewer's right."""

    cx: float
    cy: float
    rx: float
    ry: float

    def point(self, degrees: float) -> Point:
        rad = math.radians(degrees)
        return (self.cx + self.rx * math.cos(rad), self.cy - self.ry * math.sin(rad))

    def arc(self, start: float, end: float) -> _Edge:
        """The ellipse from one angle to another (less than 180 degrees apart)."""
        sweep = 0 if end > start else 1
        return _Edge(self.point(start), (("A", (self.rx, self.ry, 0, sweep, *self.point(end))),))


# --- Scalp, seen from above -----------------------------------------------------------------


def _scalp() -> ZoneMap:
    """Nine zones tiling the head seen from above, nose at the top.

    A central column (frontal, mid-scalp, vertex) runs front to back; the hairline band wraps
    the front, the temporal and parietal zones the sides, the occipital band the back.
    """
    mid = 150.0
    head = _Egg(cx=mid, cy=196, rx=108, ry_front=136, ry_back=114)
    # The hairline band is the ring between the head and a smaller concentric front ellipse,
    # the occipital band the ring between the head and a smaller back ellipse.
    band = _Oval(cx=mid, cy=196, rx=82, ry=110)
    nape = _Oval(cx=mid, cy=196, rx=74, ry=80)
    corner, side, back = 36.0, 4.0, -52.0  # right-side outline angles where outer zones meet

    def points(sign: int) -> dict[str, Point]:
        # sign 1: viewer's right (the patient's right, seen from above); -1: mirrored.
        def at(angle: float) -> float:
            return angle if sign > 0 else 180 - angle

        j1, j2 = (203.0, 146.0), (200.0, 198.0)  # where transverse borders meet the column
        return {
            "band_out": head.point(at(corner)),
            "band_in": band.point(at(corner)),
            "side_out": head.point(at(side)),
            "back_out": head.point(at(back)),
            "back_in": nape.point(at(back)),
            "j1": j1 if sign > 0 else (2 * mid - j1[0], j1[1]),
            "j2": j2 if sign > 0 else (2 * mid - j2[0], j2[1]),
        }

    rt, lt = points(1), points(-1)
    # The two borders of the central column, each one smooth curve cut at the junctions.
    col_r = _pieces([rt["band_in"], rt["j1"], rt["j2"], rt["back_in"]])
    col_l = _pieces([lt["band_in"], lt["j1"], lt["j2"], lt["back_in"]])
    front_mid = _quad(lt["j1"], (mid, 126), rt["j1"])
    mid_vertex = _quad(lt["j2"], (mid, 176), rt["j2"])
    band_in = band.arc(180 - corner, corner)  # left to right over the front
    nape_in = nape.arc(180 - back, 360 + back)  # left to right round the back

    shapes = {
        "frontal_hairline": _loop(
            head.arc(corner, 180 - corner),
            _line(lt["band_out"], lt["band_in"]),
            band_in,
            _line(rt["band_in"], rt["band_out"]),
        ),
        "frontal": _loop(band_in, col_r[0], front_mid.reversed(), col_l[0].reversed()),
        "mid_scalp": _loop(front_mid, col_r[1], mid_vertex.reversed(), col_l[1].reversed()),
        "vertex": _loop(mid_vertex, col_r[2], nape_in.reversed(), col_l[2].reversed()),
        "temporal_left": _loop(
            head.arc(180 - corner, 180 - side),
            _line(lt["side_out"], lt["j2"]),
            col_l[1].reversed(),
            col_l[0].reversed(),
            _line(lt["band_in"], lt["band_out"]),
        ),
        "temporal_right": _loop(
            head.arc(side, corner),
            _line(rt["band_out"], rt["band_in"]),
            col_r[0],
            col_r[1],
            _line(rt["j2"], rt["side_out"]),
        ),
        "parietal_left": _loop(
            head.arc(180 - side, 180 - back),
            _line(lt["back_out"], lt["back_in"]),
            col_l[2].reversed(),
            _line(lt["j2"], lt["side_out"]),
        ),
        "parietal_right": _loop(
            head.arc(back, side),
            _line(rt["side_out"], rt["j2"]),
            col_r[2],
            _line(rt["back_in"], rt["back_out"]),
        ),
        "occipital": _loop(
            head.arc(180 - back, 360 + back),
            _line(rt["back_out"], rt["back_in"]),
            nape_in.reversed(),
            _line(lt["back_in"], lt["back_out"]),
        ),
    }
    label_at: dict[str, Point] = {
        "frontal_hairline": (mid, 73),
        "frontal": (mid, 110),
        "mid_scalp": (mid, 163),
        "vertex": (mid, 230),
        "temporal_left": (2 * mid - 231, 158),
        "temporal_right": (231, 158),
        "parietal_left": (2 * mid - 228, 238),
        "parietal_right": (228, 238),
        "occipital": (mid, 292),
    }
    nose = _stroke([(138, 63), (143, 50), (150, 41), (157, 50), (162, 63)])
    ear_r = _stroke([(257, 176), (267, 178), (272, 196), (267, 214), (256, 216)])
    ear_l = _stroke(_mirror([(257, 176), (267, 178), (272, 196), (267, 214), (256, 216)], mid))
    return ZoneMap(
        area="scalp",
        title=_("Scalp, seen from above"),
        view_box="0 0 300 340",
        outline=" ".join([head.outline(), nose, ear_r, ear_l]),
        # The labels are patients.scales' own (one wording for assessment and chart); they are
        # looked up in the translation catalogue when shown.
        zones=tuple(
            Zone(code, _(label), shapes[code], *label_at[code]) for code, label in SCALP_ZONES
        ),
        marks=(
            Mark(_("Front"), mid, 22),
            Mark(_("Back"), mid, 328),
            # Seen from above with the nose up, the patient's right is on the viewer's right.
            Mark(_("R"), 287, 197),
            Mark(_("L"), 13, 197),
        ),
    )


# --- Face, front view -----------------------------------------------------------------------


def _pair(points: Sequence[Point], axis: float) -> tuple[list[Point], list[Point]]:
    """A shape on the viewer's right and its mirror image on the viewer's left."""
    return list(points), _mirror(points, axis)


def _face() -> ZoneMap:
    """Thirteen zones on a face seen from the front (the patient's right on the viewer's left).

    Eyes, nose and mouth stay uncovered (holes in the periorbital and perioral rings, gaps
    elsewhere) so the drawing stays readable when every zone is shaded.
    """
    mid = 150.0
    face = [(mid, 16), (205, 26), (243, 62), (259, 112), (262, 160), (256, 210), (242, 258)]
    face += [(218, 300), (186, 330), (mid, 341)]
    ear = [(260, 146), (272, 140), (280, 158), (277, 186), (268, 208), (257, 213)]
    hairline = [(62, 150), (70, 104), (100, 72), (mid, 60), (200, 72), (230, 104), (238, 150)]
    brow = [(165, 141), (188, 135), (212, 140)]
    bridge = [(143, 168), (141, 190), (139, 206)]
    nose_wing = [(139, 211), (131, 217), (131, 225), (138, 229)]
    nose_tip = [(141, 224), (145, 230), (mid, 231.5), (155, 230), (159, 224)]
    neck = [(204, 318), (207, 360), (209, 398)]
    eye_x, eye_y = 188.0, 170.0
    mouth_y = 269.0
    outline = [
        _blob(_symmetric(face, mid)),
        _stroke(hairline),
        _stroke(nose_tip),
        _almond(mid, mouth_y, 20, 6),
        _stroke([(mid - 20, mouth_y), (mid, mouth_y + 1.5), (mid + 20, mouth_y)]),
    ]
    for x in (eye_x, 2 * mid - eye_x):
        outline += [_almond(x, eye_y, 18, 6), _ellipse(x, eye_y, 5.5, 5.5)]
    for shape in (ear, brow, neck, bridge, nose_wing):
        outline += [_stroke(side) for side in _pair(shape, mid)]

    def ring(cx: float, cy: float, rx: float, ry: float, hole_w: float, hole_h: float) -> str:
        return _ellipse(cx, cy, rx, ry) + " " + _almond(cx, cy, hole_w, hole_h)

    # Patient's left side (viewer's right); the right side is the mirror image.
    cheek = [(190, 206), (208, 199), (228, 201), (239, 213), (235, 229), (224, 242), (212, 247)]
    cheek += [(203, 241), (196, 228)]
    nasolabial = [(169, 226), (181, 221), (193, 238), (202, 259), (202, 278), (193, 283)]
    nasolabial += [(186, 264), (176, 243)]
    jawline = [(246, 236), (240, 260), (225, 285), (205, 307), (185, 322), (176, 314)]
    jawline += [(194, 297), (211, 277), (225, 256), (236, 236)]

    def sides(
        code: str, left_label: Promise, right_label: Promise, points: Sequence[Point], label: Point
    ) -> list[Zone]:
        left, right = _pair(points, mid)
        return [
            Zone(f"{code}_left", left_label, _blob(left), *label),
            Zone(f"{code}_right", right_label, _blob(right), 2 * mid - label[0], label[1]),
        ]

    zones = [
        Zone(
            "forehead",
            _("Forehead"),
            _blob(
                _symmetric(
                    [
                        (mid, 68),
                        (190, 74),
                        (220, 96),
                        (228, 122),
                        (206, 129),
                        (176, 127),
                        (mid, 117),
                    ],
                    mid,
                )
            ),
            mid,
            100,
        ),
        Zone(
            "glabella",
            _("Glabella"),
            _blob([(mid, 126), (163, 131), (160, 148), (mid, 160), (140, 148), (137, 131)]),
            mid,
            141,
        ),
        Zone(
            "periorbital_left",
            _("Left periorbital"),
            ring(eye_x, eye_y, 33, 21, 23, 8.5),
            eye_x,
            eye_y - 14,
        ),
        Zone(
            "periorbital_right",
            _("Right periorbital"),
            ring(2 * mid - eye_x, eye_y, 33, 21, 23, 8.5),
            2 * mid - eye_x,
            eye_y - 14,
        ),
        *sides("cheek", _("Left cheek"), _("Right cheek"), cheek, (216, 226)),
        *sides(
            "nasolabial",
            _("Left nasolabial fold"),
            _("Right nasolabial fold"),
            nasolabial,
            (191, 256),
        ),
        Zone(
            "perioral",
            _("Perioral"),
            ring(mid, mouth_y, 31, 17.5, 23, 8),
            mid,
            mouth_y - 11,
        ),
        Zone(
            "chin",
            _("Chin"),
            _blob(_symmetric([(mid, 294), (164, 296), (171, 310), (166, 325), (mid, 331)], mid)),
            mid,
            312,
        ),
        *sides("jawline", _("Left jawline"), _("Right jawline"), jawline, (224, 270)),
        Zone(
            "neck",
            _("Neck"),
            _blob(
                _symmetric(
                    [(mid, 350), (182, 342), (198, 331), (201, 360), (203, 392), (mid, 394)], mid
                )
            ),
            mid,
            370,
        ),
    ]
    return ZoneMap(
        area="face",
        title=_("Face, front view"),
        view_box="0 0 300 400",
        outline=" ".join(outline),
        zones=tuple(zones),
        # Facing the viewer: the patient's right is on the viewer's left.
        marks=(Mark(_("R"), 22, 250), Mark(_("L"), 278, 250)),
    )


# --- Submental, front view with the chin raised ---------------------------------------------


def _submental() -> ZoneMap:
    """Five zones under and beside the chin, seen from the front with the chin raised.

    The jowls sit above the jaw line, lateral to the chin; the three submental zones below it,
    between the jaw and the crease over the hyoid.
    """
    mid = 150.0
    jaw = [(262, 4), (259, 50), (250, 92), (236, 122), (212, 146), (182, 160), (mid, 165)]
    neck = [(225, 133), (218, 190), (220, 296)]
    outline = [
        _stroke(_symmetric(jaw, mid)),
        _stroke([(131, 16), (128, 24), (136, 31), (mid, 35), (164, 31), (172, 24), (169, 16)]),
        _almond(mid, 80, 26, 6.5),
        _stroke([(mid - 26, 80), (mid, 82), (mid + 26, 80)]),
        _stroke([(136, 116), (mid, 120), (164, 116)]),
        _stroke([(104, 206), (mid, 222), (196, 206)]),
        *(_stroke(side) for side in _pair(neck, mid)),
    ]
    jowl = [(186, 152), (206, 146), (223, 131), (230, 113), (222, 103), (206, 107), (190, 117)]
    jowl += [(180, 134)]
    submental = [(182, 169), (209, 155), (215, 170), (211, 190), (194, 201), (182, 189)]
    jowl_l, jowl_r = _pair(jowl, mid)
    sub_l, sub_r = _pair(submental, mid)
    zones = (
        Zone("submental_left", _("Left submental"), _blob(sub_l), 198, 178),
        Zone(
            "submental_centre",
            _("Submental centre"),
            _blob(_symmetric([(mid, 174), (168, 172), (174, 190), (166, 207), (mid, 211)], mid)),
            mid,
            191,
        ),
        Zone("submental_right", _("Right submental"), _blob(sub_r), 2 * mid - 198, 178),
        Zone("jowl_left", _("Left jowl"), _blob(jowl_l), 206, 127),
        Zone("jowl_right", _("Right jowl"), _blob(jowl_r), 2 * mid - 206, 127),
    )
    return ZoneMap(
        area="submental",
        title=_("Submental area, front view with the chin raised"),
        view_box="0 0 300 300",
        outline=" ".join(outline),
        zones=zones,
        # Facing the viewer: the patient's right is on the viewer's left.
        marks=(Mark(_("R"), 22, 150), Mark(_("L"), 278, 150)),
    )


# --- Body (stretch marks), front and back views ---------------------------------------------

# One side of the body (x measured from the midline, towards the viewer's right), from the
# neck round the arm and hand, down the trunk and leg, to the crotch.
_BODY_HALF: tuple[Point, ...] = (
    (9, 49),
    (11, 60),
    (26, 67),
    (46, 73),
    (58, 84),
    (68, 108),
    (77, 150),
    (83, 190),
    (88, 232),
    (92, 262),
    (96, 278),
    (91, 292),
    (83, 290),
    (79, 272),
    (70, 234),
    (59, 196),
    (52, 156),
    (50, 130),
    (47.5, 119),
    (45, 122),
    (44, 136),
    (44, 160),
    (40, 194),
    (45, 226),
    (54, 256),
    (55, 286),
    (50, 330),
    (44, 372),
    (40, 408),
    (36, 424),
    (16, 424),
    (12, 406),
    (9, 372),
    (7, 330),
    (4, 302),
    (0, 294),
)


def _figure(cx: float, back: bool) -> list[str]:
    """The outline of one standing figure centred on x = cx (a front or a back view)."""
    half = [(cx + dx, y) for dx, y in _BODY_HALF]
    body = [*half, *_mirror(reversed(half[:-1]), cx)]
    parts = [_stroke(body), _ellipse(cx, 30, 20, 20)]
    if back:
        parts += [_stroke([(cx, 70), (cx, 150), (cx, 232)])]  # spine
        parts += [_stroke([(cx, 252), (cx, 275), (cx, 293)])]  # gluteal cleft
        for shoulder_blade in _pair([(cx + 14, 96), (cx + 32, 92), (cx + 30, 122)], cx):
            parts.append(_stroke(shoulder_blade))
    else:
        parts.append(_ellipse(cx, 214, 2, 2))  # navel
    return parts


def _body() -> ZoneMap:
    """Thirteen stretch-mark zones on a front view, and the buttocks on a back view."""
    front, back = 105.0, 315.0

    def at(cx: float, points: Iterable[Point]) -> list[Point]:
        return [(cx + dx, y) for dx, y in points]

    def sides(
        code: str,
        left_label: Promise,
        right_label: Promise,
        points: Sequence[Point],
        label: Point,
        cx: float,
        left_on_right: bool,
    ) -> list[Zone]:
        """A pair of zones; ``left_on_right``: the patient's left is on the viewer's right."""
        right_side = at(cx, points)
        mirrored = _mirror(right_side, cx)
        lx = cx + label[0]
        shapes = (right_side, mirrored) if left_on_right else (mirrored, right_side)
        xs = (lx, 2 * cx - lx) if left_on_right else (2 * cx - lx, lx)
        return [
            Zone(f"{code}_left", left_label, _blob(shapes[0]), xs[0], label[1]),
            Zone(f"{code}_right", right_label, _blob(shapes[1]), xs[1], label[1]),
        ]

    abdomen = [(0, 146), (13, 148), (18, 168), (17, 200), (19, 236), (16, 264), (0, 272)]
    flank = [(22, 152), (40, 156), (37, 194), (41, 222), (27, 226), (22, 196), (21, 170)]
    hip = [(27, 236), (44, 232), (51, 252), (51, 276), (44, 290), (33, 286), (27, 262)]
    thigh = [(10, 304), (28, 298), (46, 304), (46, 340), (40, 372), (26, 378), (13, 370)]
    thigh += [(9, 336)]
    upper_arm = [(53, 104), (59, 96), (66, 103), (73, 140), (77, 176), (70, 185), (61, 182)]
    upper_arm += [(55, 154), (52, 126)]
    buttock = [(4, 250), (30, 244), (49, 258), (50, 290), (36, 304), (14, 304), (4, 292)]
    zones = [
        Zone("abdomen", _("Abdomen"), _blob(at(front, _symmetric(abdomen, 0))), front, 232),
        *sides("flank", _("Left flank"), _("Right flank"), flank, (30, 190), front, True),
        *sides("hip", _("Left hip"), _("Right hip"), hip, (39, 262), front, True),
        *sides("thigh", _("Left thigh"), _("Right thigh"), thigh, (27, 338), front, True),
        # Seen from behind, the patient's left is on the viewer's left.
        *sides("buttock", _("Left buttock"), _("Right buttock"), buttock, (27, 275), back, False),
        Zone("breast_left", _("Left breast"), _ellipse(front + 23, 116, 15, 14), front + 23, 116),
        Zone("breast_right", _("Right breast"), _ellipse(front - 23, 116, 15, 14), front - 23, 116),
        *sides(
            "upper_arm",
            _("Left upper arm"),
            _("Right upper arm"),
            upper_arm,
            (65, 150),
            front,
            True,
        ),
    ]
    return ZoneMap(
        area="body",
        title=_("Body, front and back views"),
        view_box="0 0 420 450",
        outline=" ".join([*_figure(front, back=False), *_figure(back, back=True)]),
        zones=tuple(zones),
        marks=(
            Mark(_("Front"), front, 442),
            Mark(_("Back"), back, 442),
            Mark(_("R"), front - 42, 24),
            Mark(_("L"), front + 42, 24),
            Mark(_("L"), back - 42, 24),
            Mark(_("R"), back + 42, 24),
        ),
    )


_MAPS: dict[str, ZoneMap] = {
    "scalp": _scalp(),
    "face": _face(),
    "submental": _submental(),
    "body": _body(),
}
