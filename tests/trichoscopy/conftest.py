"""Scenes drawn to order for the analysis tests: a few hairs placed by hand, clean optics
(``synth.scene_from_shafts`` and ``synth.clean_look``, also used by
bench/trichoscopy_units.py)."""

from __future__ import annotations

import pytest

from mesoclinic.trichoscopy import synth
from mesoclinic.trichoscopy.synth import Shaft, clean_look
from mesoclinic.trichoscopy.synth import scene_from_shafts as build_scene

__all__ = ["Shaft", "build_scene", "clean_look", "draw"]


@pytest.fixture
def draw():
    """Render hand-placed shafts: ``draw(shafts, **scene_options) -> (image, scene)``."""

    def render(shafts: list[Shaft], *, look: synth.Look | None = None, **options):
        scene = build_scene(shafts, **options)
        return synth.render(scene, look or clean_look()), scene

    return render
