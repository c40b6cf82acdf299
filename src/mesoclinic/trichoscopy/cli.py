"""``mesoclinic trichoscopy``: analyse an image, draw synthetic test images, score the analysis.

    mesoclinic trichoscopy analyze scalp.jpg --device dermatoscope-20x-1280 --overlay check.png
    mesoclinic trichoscopy analyze scalp.jpg --um-per-px 3.4 --roi circle:640,480,282 --json
    mesoclinic trichoscopy analyze scalp.jpg --ruler ruler.jpg --ruler-spacing-um 100
    mesoclinic trichoscopy generate --tier medium --count 20 var/trichoscopy/medium
    mesoclinic trichoscopy evaluate var/trichoscopy/medium --repeat 2

``analyze`` never guesses the calibration: without ``--um-per-px``, ``--device`` or a ruler
image it refuses. ``generate`` writes synthetic images with their full truth beside them;
``evaluate`` analyses such a folder and scores the analysis against the truth. The exit code
is 0 on success, 1 when ``evaluate`` finds a target missed, and 2 for input refused (with a
message on stderr saying what to do instead).

This module needs no database and no Django settings: ``mesoclinic trichoscopy ...`` runs it
without importing Django.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from PIL import Image

from . import calibration, corrections, evaluate, imageio, synth
from .analysis import analyze
from .errors import TrichoscopyError
from .overlay import render_overlay
from .result import (
    FLAG_EXPLANATIONS,
    TERMINAL_FROM_UM,
    UNCERTAIN_WITHIN_UM,
    VELLUS_UNDER_UM,
    Correction,
    Result,
)

PROG = "mesoclinic trichoscopy"

NO_CALIBRATION = (
    "no calibration given: pass --um-per-px X, --device NAME or --ruler IMAGE "
    "--ruler-spacing-um S. The analysis will not guess a calibration: every width and "
    "density depends on it."
)

# What each flag of ``analysis.analyze`` means, for the person reading the summary.


def main(argv: Sequence[str] | None = None) -> int:
    """Run one sub-command; returns the exit code (never raises for bad input)."""
    parser = _parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as stop:  # --help, or arguments argparse refused (it printed why)
        return stop.code if isinstance(stop.code, int) else (0 if stop.code is None else 2)
    try:
        code: int = args.handler(args)
        return code
    except TrichoscopyError as error:
        return _fail(str(error))
    except BrokenPipeError:  # the reader (head, less) went away: stop quietly
        _silence_stdout()
        return 1
    except OSError as error:
        return _fail(_os_error_text(error))


# -- the parser ----------------------------------------------------------------------------


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=PROG,
        description="Count hairs and measure their shafts in calibrated trichoscopy images.",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    profiles = ", ".join(sorted(calibration.DEVICE_PROFILES))
    analyse = commands.add_parser(
        "analyze",
        help="count and measure the hairs in one image",
        description=(
            "Count and measure the hairs in one calibrated image. A calibration is required: "
            "the analysis will not guess one."
        ),
    )
    analyse.add_argument("image", metavar="IMAGE", help="PNG, JPEG, TIFF, BMP or WebP file")
    scale = analyse.add_mutually_exclusive_group()
    scale.add_argument(
        "--um-per-px", type=float, metavar="X", help="micrometres per pixel of this image"
    )
    scale.add_argument(
        "--device",
        metavar="NAME",
        help=f"a device profile's micrometres per pixel (generic examples: {profiles})",
    )
    scale.add_argument(
        "--ruler",
        metavar="RULER_IMAGE",
        help="an image of a ruler taken with the same device and magnification",
    )
    analyse.add_argument(
        "--ruler-spacing-um",
        type=float,
        metavar="S",
        help="spacing of the ruler's finest lines in micrometres (with --ruler)",
    )
    analyse.add_argument(
        "--roi",
        metavar="SPEC",
        help="counting region in pixels: x,y,width,height or circle:cx,cy,r (default: whole image)",
    )
    analyse.add_argument("--overlay", metavar="OUT_PNG", help="write the overlay to check against")
    analyse.add_argument(
        "--corrections",
        metavar="JSON",
        help="apply a JSON list of corrections (hairs added or removed) before output",
    )
    analyse.add_argument("--json", action="store_true", help="print the full result as JSON")
    analyse.set_defaults(handler=_analyze)

    generate = commands.add_parser(
        "generate",
        help="write synthetic images with their ground truth",
        description=(
            "Write synthetic images of a tier with their ground truth: OUTDIR/<tier>-<seed>.png "
            "and OUTDIR/<tier>-<seed>.json for each seed."
        ),
    )
    generate.add_argument("--tier", required=True, choices=list(synth.TIERS))
    generate.add_argument("--count", required=True, type=int, metavar="N")
    generate.add_argument("--seed", type=int, default=1, metavar="S", help="first seed (default 1)")
    generate.add_argument(
        "--held-back",
        action="store_true",
        help="use the tier's held-back settings (never used while tuning the analysis)",
    )
    generate.add_argument(
        "--size", metavar="WxH", help="image size in pixels (default: the tier's 1280x960)"
    )
    generate.add_argument(
        "--format",
        choices=("png", "jpg"),
        default="png",
        help=(
            "png (default) is lossless: the tier's own JPEG step is already in the picture; "
            "jpg compresses once more (quality 95)"
        ),
    )
    generate.add_argument("outdir", metavar="OUTDIR")
    generate.set_defaults(handler=_generate)

    score = commands.add_parser(
        "evaluate",
        help="analyse a folder of synthetic images and score against their truth",
        description=(
            "Analyse every image of a folder written by 'generate' and score the analysis "
            "against its truth. Only the truth's um_per_px is passed to the analysis, as the "
            "calibration a clinic would supply; nothing else of the truth is seen by it. Exit "
            "code 1 when a target is missed."
        ),
    )
    score.add_argument("directory", metavar="DIR")
    score.add_argument("--json", action="store_true", help="print the scores as JSON")
    score.add_argument(
        "--repeat",
        type=int,
        default=0,
        metavar="K",
        help=(
            "also re-render each scene K times with new lighting, noise, blur, glare and JPEG "
            "and report the counts' coefficient of variation (default 0)"
        ),
    )
    score.add_argument(
        "--memory-images",
        type=int,
        default=5,
        metavar="M",
        help=(
            "trace the peak memory on the first M images of each group, in a run apart from "
            "the timed one (tracing slows the analysis several times; default 5)"
        ),
    )
    score.set_defaults(handler=_evaluate)
    return parser


def _fail(message: str) -> int:
    print(f"error: {message}", file=sys.stderr)
    return 2


def _silence_stdout() -> None:
    """Point stdout at /dev/null so that flushing it at exit raises no second error."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):  # stdout is not a real file (captured in tests)
        pass


def _os_error_text(error: OSError) -> str:
    if error.filename is not None and error.strerror:
        return f"{error.filename}: {error.strerror}"
    return str(error) or type(error).__name__


# -- analyze -------------------------------------------------------------------------------


def _um_per_px(args: argparse.Namespace) -> float:
    """The calibration from exactly one of the options; refuses when none is given."""
    if args.ruler_spacing_um is not None and args.ruler is None:
        raise TrichoscopyError("--ruler-spacing-um goes with --ruler RULER_IMAGE.")
    if args.um_per_px is not None:
        return calibration.check_um_per_px(args.um_per_px)
    if args.device is not None:
        return calibration.from_profile(args.device)
    if args.ruler is not None:
        if args.ruler_spacing_um is None:
            raise TrichoscopyError(
                "--ruler needs --ruler-spacing-um: the spacing of the ruler's finest lines "
                "in micrometres."
            )
        ruler = imageio.load_image(args.ruler)
        return calibration.from_ruler(ruler, args.ruler_spacing_um).um_per_px
    raise TrichoscopyError(NO_CALIBRATION)


def _read_corrections(path: str) -> tuple[Correction, ...]:
    """The corrections in a JSON file: a list of ``Correction.as_json`` entries, or a
    result's JSON (its ``corrections`` are taken)."""
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise TrichoscopyError(f"{path} is not a JSON file of corrections: {error}.") from None
    if isinstance(data, dict) and "corrections" in data:
        data = data["corrections"]
    try:
        return corrections.from_json(data)
    except TrichoscopyError as error:
        raise TrichoscopyError(f"{path}: {error}") from None


def _analyze(args: argparse.Namespace) -> int:
    um_per_px = _um_per_px(args)
    fixes = _read_corrections(args.corrections) if args.corrections else None
    image = imageio.load_image(args.image)
    result = analyze(image, um_per_px, roi=args.roi)
    if fixes is not None:
        result = corrections.apply(result, fixes)
    if args.overlay:
        overlay_path = Path(args.overlay)
        render_overlay(image, result).save(overlay_path, format="PNG")
    if args.json:
        print(json.dumps(result.as_json(), indent=2))
    else:
        print(summary_text(result, source=args.image))
    if args.overlay:
        print(f"Overlay written to {args.overlay}", file=sys.stderr if args.json else sys.stdout)
    return 0


def _number(value: float | None, digits: int = 1, unit: str = "") -> str:
    if value is None or not math.isfinite(value):
        return "n/a"
    return f"{value:.{digits}f}{unit}"


def summary_text(result: Result, *, source: str | None = None) -> str:
    """The result in words and figures, for a person at a terminal."""
    area = result.area_cm2

    def per_cm2(count: int) -> str:
        return f"{count / area:8.1f} hairs/cm2" if area > 0 else "n/a"

    height, width = result.image_shape
    region = "whole image" if _is_whole(result) else _roi_text(result)
    lines = []
    if source:
        lines.append(f"Image: {source} ({width}x{height} px at {result.um_per_px:g} µm/px)")
    lines += [
        f"Hairs counted: {result.count} in {area:.4f} cm2 ({region})",
        f"Density: {result.density_per_cm2:.1f} hairs/cm2",
    ]
    classes = [
        (f"terminal (>= {TERMINAL_FROM_UM:g} µm)", result.terminal_count),
        (f"intermediate ({VELLUS_UNDER_UM:g}-{TERMINAL_FROM_UM:g} µm)", result.intermediate_count),
        (f"vellus (< {VELLUS_UNDER_UM:g} µm)", result.vellus_count),
    ]
    for label, count in classes:
        lines.append(f"  {label:<25} {count:5d}  {per_cm2(count)}")
    if result.unmeasured_count:
        lines.append(f"  {'width not measured':<25} {result.unmeasured_count:5d}")
    ratio = result.terminal_to_vellus_ratio
    lines += [
        f"Terminal:vellus ratio: {'n/a (no vellus hair)' if ratio is None else f'{ratio:.2f}'}",
        f"Mean shaft width: {_number(result.mean_width_um, 1, ' µm')}",
        f"Thin hairs (< {VELLUS_UNDER_UM:g} µm): {_number(result.thin_hair_percent, 1, ' %')}",
        f"Cumulative thickness: {result.cumulative_thickness_mm_per_cm2:.2f} mm/cm2",
    ]
    if result.uncertain_count:
        lines.append(
            f"Width class uncertain: {result.uncertain_count} hairs within "
            f"{UNCERTAIN_WITHIN_UM:g} µm of the {VELLUS_UNDER_UM:g} µm cut-off"
        )
    units = result.follicular_units()
    if units:
        parts = [f"{units[size]} of {size} hair{'s' if size > 1 else ''}" for size in sorted(units)]
        lines.append(f"Follicular units (units of each size): {', '.join(parts)}")
    else:
        lines.append("Follicular units: none found")
    not_counted = len(result.hairs) - result.count
    if not_counted:
        lines.append(
            f"Also drawn, not counted: {not_counted} hairs whose exit from the skin lies "
            "outside the region or the image"
        )
    if result.corrections:
        lines.append(f"Corrections applied: {len(result.corrections)}")
    lines.append("Width histogram (counted hairs):")
    lines += _histogram_lines(result)
    if result.flags:
        lines.append("Flags:")
        for flag in result.flags:
            explanation = FLAG_EXPLANATIONS.get(flag, "check the overlay.")
            lines.append(f"  - {flag}: {explanation}")
    else:
        lines.append("Flags: none")
    lines.append(
        "These are automatic measurements: check every hair on the overlay (--overlay) and "
        "correct it before using the figures."
    )
    return "\n".join(lines)


def _histogram_lines(result: Result, bar_width: int = 30) -> list[str]:
    rows = result.width_histogram()
    most = max((row["hairs"] for row in rows), default=0)
    out = []
    for row in rows:
        label = (
            f"{row['from_um']:>3}-{row['to_um']:<3} µm"
            if row["to_um"] is not None
            else f"{row['from_um']:>3}+    µm"
        )
        length = round(bar_width * row["hairs"] / most) if most else 0
        if row["hairs"] and not length:
            length = 1
        out.append(f"  {label} |{'#' * length:<{bar_width}} {row['hairs']}")
    return out


def _is_whole(result: Result) -> bool:
    roi = result.roi
    height, width = result.image_shape
    return (
        roi.kind == "rect"
        and roi.x <= -0.5
        and roi.y <= -0.5
        and roi.width >= width
        and roi.height >= height
    )


def _roi_text(result: Result) -> str:
    roi = result.roi
    if roi.kind == "circle":
        return f"circle at {roi.x:g},{roi.y:g} radius {roi.radius:g} px"
    return f"rectangle {roi.x:g},{roi.y:g} {roi.width:g}x{roi.height:g} px"


# -- generate ------------------------------------------------------------------------------


def _size(text: str) -> tuple[int, int]:
    """``WxH`` as (height, width), the order of ``synth``."""
    try:
        width_text, height_text = text.lower().split("x")
        width, height = int(width_text), int(height_text)
    except ValueError:
        raise TrichoscopyError(
            f"--size {text!r} is not understood: give WxH, e.g. 640x480."
        ) from None
    if min(width, height) < imageio.MIN_SIDE_PX:
        raise TrichoscopyError(
            f"--size {text!r} is too small: each side needs at least {imageio.MIN_SIDE_PX} pixels."
        )
    if width * height > imageio.MAX_PIXELS:
        raise TrichoscopyError(f"--size {text!r} is larger than the analysis accepts.")
    return height, width


def _generate(args: argparse.Namespace) -> int:
    if args.count < 1:
        raise TrichoscopyError("--count must be at least 1.")
    size_px = _size(args.size) if args.size else None
    outdir = Path(args.outdir)
    outdir.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    for seed in range(args.seed, args.seed + args.count):
        sample = synth.generate(seed, args.tier, held_back=args.held_back, size_px=size_px)
        # Held-back images get their own names, so both sets can share a folder.
        stem = f"{args.tier}-held-back-{seed}" if args.held_back else f"{args.tier}-{seed}"
        image_name = f"{stem}.{args.format}"
        picture = Image.fromarray(sample.image)
        if args.format == "png":
            picture.save(outdir / image_name, format="PNG")
        else:
            picture.save(outdir / image_name, format="JPEG", quality=95)
        truth = sample.scene.truth_json()
        truth["image"] = image_name
        truth["held_back"] = bool(args.held_back)
        (outdir / f"{stem}.json").write_text(json.dumps(truth, indent=1) + "\n", encoding="utf-8")
        height, width = sample.scene.size_px
        print(
            f"{outdir / image_name}: {sample.scene.count} hairs, {width}x{height} px at "
            f"{sample.scene.um_per_px:.3f} µm/px (truth {stem}.json)"
        )
    kind = " held-back" if args.held_back else ""
    print(
        f"Wrote {args.count} {args.tier}{kind} image{'s' if args.count > 1 else ''} with truth "
        f"to {outdir} in {time.perf_counter() - started:.1f} s"
    )
    return 0


# -- evaluate ------------------------------------------------------------------------------


@dataclass
class _Truth:
    path: Path
    data: dict[str, Any]

    @property
    def tier(self) -> str:
        return str(self.data["tier"])

    @property
    def held_back(self) -> bool:
        return bool(self.data.get("held_back", False))

    @property
    def group(self) -> str:
        return f"{self.tier} (held back)" if self.held_back else self.tier


def _truth_files(directory: Path) -> list[_Truth]:
    if not directory.is_dir():
        raise TrichoscopyError(f"{directory} is not a folder.")
    found = []
    for path in sorted(directory.glob("*.json")):
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (json.JSONDecodeError, UnicodeDecodeError):
            print(f"skipped {path.name}: not JSON", file=sys.stderr)
            continue
        if not (
            isinstance(data, dict) and {"tier", "seed", "um_per_px", "hairs", "image"} <= set(data)
        ):
            print(f"skipped {path.name}: not a truth file written by 'generate'", file=sys.stderr)
            continue
        if data["tier"] not in synth.TIERS:
            print(f"skipped {path.name}: unknown tier {data['tier']!r}", file=sys.stderr)
            continue
        found.append(_Truth(path, data))
    if not found:
        raise TrichoscopyError(
            f"{directory} holds no truth files: write some with "
            f"'{PROG} generate --tier easy --count 5 {directory}'."
        )
    return found


def _evaluate(args: argparse.Namespace) -> int:
    from mesoclinic.core.progress import progress

    if args.repeat < 0 or args.memory_images < 0:
        raise TrichoscopyError("--repeat and --memory-images must be 0 or more.")
    directory = Path(args.directory)
    truths = _truth_files(directory)
    summaries: dict[str, evaluate.Summary] = {}
    tiers: dict[str, str] = {}
    images: dict[str, list[dict[str, Any]]] = {}
    for truth in progress(truths, total=len(truths), label=f"Analysing {len(truths)} images"):
        data = truth.data
        image = imageio.load_image(directory / str(data["image"]))
        scene = synth.truth_from_json(data)
        # The calibration, as a clinic would supply it: the only thing of the truth the
        # analysis is given.
        um_per_px = float(data["um_per_px"])
        result, seconds = evaluate.timed_analyze(image, um_per_px)
        group_images = images.setdefault(truth.group, [])
        traced = len(group_images) < args.memory_images
        peak_mb = evaluate.peak_memory_mb(image, um_per_px) if traced else 0.0
        scored = evaluate.score(result, scene, seconds=seconds, peak_mb=peak_mb)
        summary = summaries.setdefault(truth.group, evaluate.Summary(truth.group))
        tiers[truth.group] = truth.tier
        summary.images.append(scored)
        entry = {"truth": truth.path.name, "image": data["image"], **scored.as_json()}
        if not traced:
            entry["peak_mb"] = None
        if args.repeat:
            counts = [result.count]
            for k in range(1, args.repeat + 1):
                again = synth.generate(
                    scene.seed,
                    truth.tier,
                    held_back=truth.held_back,
                    look_seed=scene.seed * 1000 + k,
                    size_px=scene.size_px,
                )
                if again.scene.count != scene.count:
                    raise TrichoscopyError(
                        f"{truth.path.name}: re-rendering seed {scene.seed} gives another scene "
                        "(written by another version of the generator?); --repeat needs the same."
                    )
                counts.append(analyze(again.image, again.scene.um_per_px).count)
            cv = evaluate.count_cv(counts)
            summary.repeat_cvs.append(cv)
            entry["repeat_counts"] = counts
            entry["repeat_cv_percent"] = round(cv, 2)
        group_images.append(entry)

    order = {name: index for index, name in enumerate(synth.TIERS)}
    names = sorted(summaries, key=lambda name: (order[tiers[name]], name != tiers[name]))
    all_met = True
    report = []
    for name in names:
        missed = evaluate.misses(summaries[name], tiers[name])
        all_met = all_met and not missed
        report.append(
            {
                **summaries[name].as_json(),
                "tier": tiers[name],
                "misses": missed,
                "per_image": images[name],
            }
        )
    if args.json:
        print(json.dumps({"groups": report, "all_targets_met": all_met}, indent=2))
    else:
        for name, group in zip(names, report, strict=True):
            print(_group_table(summaries[name], group["misses"]))
            print()
        print("All targets met." if all_met else "Some targets missed (see above).")
    return 0 if all_met else 1


def _group_table(summary: evaluate.Summary, missed: list[str]) -> str:
    data = summary.as_json()
    rows = [
        ("images", data["images"]),
        ("true hairs", data["true_hairs"]),
        ("count MAPE %", data["count_mape_percent"]),
        ("count bias %", data["count_bias_percent"]),
        ("F1", data["f1"]),
        ("width median abs error µm", data["width_median_abs_error_um"]),
        ("vellus/terminal accuracy", data["vellus_terminal_accuracy"]),
        ("repeatability CV %", data["repeatability_cv_percent"]),
        ("s/image (median)", data["seconds_per_image"]),
        ("peak MB", data["peak_mb"]),
    ]
    lines = [summary.name]
    for label, value in rows:
        lines.append(f"  {label:<28} {'n/a' if value is None else value}")
    errors = [
        f"{label} {data['count_errors'][key]}"
        for key, label in evaluate.COUNT_ERROR_LABELS.items()
        if data["count_errors"][key]
    ]
    if errors:
        lines.append("  count errors: " + ", ".join(errors))
    if missed:
        lines.append("  targets missed: " + "; ".join(missed))
    else:
        lines.append("  targets: all met")
    return "\n".join(lines)
