"""Two hairs from one opening, drawn to order: where the analysis counts them right.

    .venv/bin/python bench/trichoscopy_units.py              # the grid, as text
    .venv/bin/python bench/trichoscopy_units.py --markdown --json var/bench/units.json

On the medium and hard tiers most of the count's error is hairs missed under a hair from
their own opening (bench/trichoscopy.py's error table; docs/decisions/0006). Those images
mix that case with every other difficulty; this grid isolates it. Each image holds one
follicular unit and nothing else, on clean optics (``synth.clean_look``: mild blur and
noise, no JPEG, highlights or glare) at 4 um/px: a 70 um hair 1000 um long, and a second
hair leaving the same opening a few degrees off it (``--angles``), as long or shorter
(``--ratios``: its length as a share of the first's) and 60 or 30 um wide (``--widths``).
Each cell is rendered ``--renderings`` times (default 3) with new noise. A single hair is
the control row (it must count 1).

A cell reads ``right/renderings``, followed by the counts where any is wrong, and the
per-hair F1 over the grid is given (``evaluate.score``: one-to-one centreline matches at a
2 px tolerance). The unit's direction is turned ``--base-angle`` degrees (default 20) off
the pixel grid so that no shaft runs along a row. Nothing here is timed.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from mesoclinic.trichoscopy import analyze, evaluate, synth
from mesoclinic.trichoscopy.analysis import VERSION

EXIT_PX = (90.0, 120.0)
SIZE_PX = (360, 480)
UM_PER_PX = 4.0
FIRST_LENGTH_UM = 1000.0
FIRST_WIDTH_UM = 70.0


def unit_scene(angle_deg: float | None, ratio: float, width_um: float, base: float) -> synth.Scene:
    """The first hair, and unless ``angle_deg`` is None the second one off it."""
    shafts = [synth.Shaft(*EXIT_PX, base, length_um=FIRST_LENGTH_UM, width_um=FIRST_WIDTH_UM)]
    if angle_deg is not None:
        shafts.append(
            synth.Shaft(
                *EXIT_PX,
                base + angle_deg,
                length_um=FIRST_LENGTH_UM * ratio,
                width_um=width_um,
            )
        )
    return synth.scene_from_shafts(shafts, size_px=SIZE_PX, um_per_px=UM_PER_PX)


def run_cell(scene: synth.Scene, renderings: int) -> list[evaluate.ImageScore]:
    scores = []
    for seed in range(1, renderings + 1):
        image = synth.render(scene, synth.clean_look(seed=seed))
        scores.append(evaluate.score(analyze(image, scene.um_per_px), scene))
    return scores


def cell_text(scores: list[evaluate.ImageScore]) -> str:
    right = sum(s.count_error == 0 for s in scores)
    text = f"{right}/{len(scores)}"
    if right < len(scores):
        text += " (" + ",".join(str(s.detected_count) for s in scores) + ")"
    return text


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--angles", default="2,4,6,9,13,20", help="degrees between the hairs")
    parser.add_argument("--ratios", default="1.0,0.8,0.6", help="second length / first")
    parser.add_argument("--widths", default="60,30", help="second hair's width, um")
    parser.add_argument("--renderings", type=int, default=3)
    parser.add_argument("--base-angle", type=float, default=20.0)
    parser.add_argument("--markdown", action="store_true", help="print a Markdown table")
    parser.add_argument("--json", type=Path, help="write every count and score here")
    args = parser.parse_args(argv)
    angles = [float(a) for a in args.angles.split(",")]
    ratios = [float(r) for r in args.ratios.split(",")]
    widths = [float(w) for w in args.widths.split(",")]
    columns = [(r, w) for w in widths for r in ratios]

    pooled: list[evaluate.ImageScore] = []
    rows: list[tuple[str, list[str]]] = []
    cells: list[dict[str, object]] = []
    control = run_cell(unit_scene(None, 1.0, 0.0, args.base_angle), args.renderings)
    rows.append(("one hair (control)", [cell_text(control)] + [""] * (len(columns) - 1)))
    cells.append({"angle_deg": None, "counts": [s.detected_count for s in control]})
    for angle in angles:
        texts = []
        for ratio, width in columns:
            scores = run_cell(unit_scene(angle, ratio, width, args.base_angle), args.renderings)
            pooled.extend(scores)
            texts.append(cell_text(scores))
            cells.append(
                {
                    "angle_deg": angle,
                    "length_ratio": ratio,
                    "second_width_um": width,
                    "counts": [s.detected_count for s in scores],
                    "tp": [s.true_positives for s in scores],
                    "fp": [s.false_positives for s in scores],
                }
            )
        rows.append((f"{angle:g} degrees", texts))
        print(f"{angle:g} degrees done", file=sys.stderr, flush=True)

    right = sum(s.count_error == 0 for s in pooled)
    under = sum(s.count_error < 0 for s in pooled)
    over = sum(s.count_error > 0 for s in pooled)
    summary = evaluate.Summary("units", images=pooled)
    headers = ["second hair"] + [f"{r:g} x long, {w:g} um" for r, w in columns]
    if args.markdown:
        print("| " + " | ".join(headers) + " |")
        print("|" + "---|" * len(headers))
        for name, texts in rows:
            print("| " + " | ".join([name, *texts]) + " |")
    else:
        print("  ".join(headers))
        for name, texts in rows:
            print("  ".join([name, *texts]))
    print(
        f"\n{len(pooled)} two-hair images: counted right {right}, one or more short {under}, "
        f"too many {over}; per-hair F1 {summary.f1:.3f} (analysis {VERSION})"
    )
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(
            json.dumps(
                {
                    "right": right,
                    "under": under,
                    "over": over,
                    "f1": round(summary.f1, 4),
                    "cells": cells,
                },
                indent=1,
            )
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
