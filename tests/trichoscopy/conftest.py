"""Scenes drawn to order for the analysis tests: a few hairs placed by hand, clean optics."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pytest

from mesoclinic.trichoscopy import synth
from mesoclinic.trichoscopy.geometry import visible_length


@dataclass(frozen=True)
class Shaft:
    """A hair to draw: exit point (px), direction (degrees), length and width (um)."""

    x: float
    y: float
    angle_deg: float
    length_um: float = 700.0
    width_um: float = 65.0
    colour: str = "dark brown"
    curvature_per_mm: float = 0.0


def build_scene(
    shafts: list[Shaft],
    *,
    size_px: tuple[int, int] = (360, 480),
    um_per_px: float = 4.0,
    skin_tone: str = "light",
    openings: bool = True,
) -> synth.Scene:
    """A scene holding exactly ``shafts``, each leaving its own follicle opening."""
    hairs = []
    opening_list = []
    height, width = size_px
    for index, shaft in enumerate(shafts, start=1):
        start = np.array([shaft.x, shaft.y], dtype=float)
        points = synth._curve(
            start,
            math.radians(shaft.angle_deg),
            shaft.length_um / um_per_px,
            shaft.curvature_per_mm / 1000.0 * um_per_px,
        )
        hairs.append(
            synth.TruthHair(
                id=index,
                unit=index,
                exit_px=(shaft.x, shaft.y),
                centreline_px=(
                    *((float(x), float(y)) for x, y in points[::4]),
                    (float(points[-1, 0]), float(points[-1, 1])),
                ),
                width_um=shaft.width_um,
                colour=shaft.colour,
                exit_in_image=bool(
                    -0.5 <= shaft.x < width - 0.5 and -0.5 <= shaft.y < height - 0.5
                ),
                visible_length_px=visible_length(points, size_px),
            )
        )
        if openings:
            opening_list.append((shaft.x, shaft.y, (shaft.width_um / 2 + 30.0) / um_per_px))
    return synth.Scene(
        tier="test",
        seed=0,
        size_px=size_px,
        um_per_px=um_per_px,
        skin_tone=skin_tone,
        hairs=tuple(hairs),
        openings=tuple(opening_list),
        dandruff=(),
        vessels=(),
    )


def clean_look(
    *, seed: int = 1, glare: tuple[tuple[float, float, float, float], ...] = ()
) -> synth.Look:
    """Even light, mild blur and noise, no JPEG: what a careful close-up looks like."""
    return synth.Look(
        seed=seed,
        light_angle=0.0,
        light_gradient=0.05,
        vignetting=0.05,
        blur_sigma_px=0.8,
        glare=glare,
        noise=0.01,
        shot_noise=0.0005,
        jpeg_quality=None,
        texture=0.03,
        specular_stripe=0.0,
    )


@pytest.fixture
def draw():
    """Render hand-placed shafts: ``draw(shafts, **scene_options) -> (image, scene)``."""

    def render(shafts: list[Shaft], *, look: synth.Look | None = None, **options):
        scene = build_scene(shafts, **options)
        return synth.render(scene, look or clean_look()), scene

    return render
