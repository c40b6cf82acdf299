"""Shared fixtures for outcomes: the clock is Wednesday 2 December 2026 (FIXED_NOW, London);
Rita (born 1985) has a hair course starting 5 January 2026 at Acme City with Paul."""

from __future__ import annotations

import importlib.util
import sys
import types
from dataclasses import dataclass
from typing import Any

import pytest

from mesoclinic.scheduling.models import Course
from tests.api.conftest import api_for  # noqa: F401 - fixture for test_api.py
from tests.conftest import make_patient
from tests.outcomes.factories import course_row


@pytest.fixture
def rita(world: Any) -> Any:
    return make_patient(
        world.acme, world.fiona, given_name="Rita", family_name="Review", email="rita@example.com"
    )


@pytest.fixture
def rita_course(world: Any, calendar: Any, rita: Any) -> Course:
    return course_row(world, rita, calendar.hair)


@dataclass
class FakeResult:
    count: int = 42
    density_per_cm2: float = 168.0
    widths_um: tuple[float, ...] = (20.0, 40.0, 60.0, 80.0)
    terminal_count: int = 39
    vellus_count: int = 3
    flags: tuple[str, ...] = ("low contrast",)


@pytest.fixture
def fake_library(monkeypatch):
    """A stand-in ``mesoclinic.trichoscopy`` with the interface the hook documents."""
    from PIL import Image

    module = types.ModuleType("mesoclinic.trichoscopy")
    module.__version__ = "0.test"
    module.analyze = lambda image, um_per_px, roi=None: FakeResult()
    module.render_overlay = lambda image, result: Image.new("RGB", (8, 8), (255, 0, 0))
    module.__spec__ = types.SimpleNamespace(name="mesoclinic.trichoscopy")  # type: ignore[assignment]
    monkeypatch.setitem(sys.modules, "mesoclinic.trichoscopy", module)
    real = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util,
        "find_spec",
        lambda name, *a: module.__spec__ if name == "mesoclinic.trichoscopy" else real(name, *a),
    )
    return module
