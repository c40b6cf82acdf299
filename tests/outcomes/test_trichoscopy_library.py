"""The outcome visit's hook with the real trichoscopy library behind it (no stand-in)."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

from mesoclinic import trichoscopy
from mesoclinic.outcomes import trichoscopy_hook
from mesoclinic.trichoscopy import synth


def _jpeg(pixels: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, format="JPEG", quality=92)
    return buffer.getvalue()


def test_the_library_is_found_and_reports_its_version():
    assert trichoscopy_hook.available()
    sample = synth.generate(12, "easy", size_px=(240, 320))
    findings = trichoscopy_hook.analyse(_jpeg(sample.image), um_per_px=sample.scene.um_per_px)
    assert findings.library_version == trichoscopy.__version__ == "1.2.7"


def test_a_stored_close_up_is_analysed_into_visit_measurements():
    sample = synth.generate(12, "easy")
    findings = trichoscopy_hook.analyse(_jpeg(sample.image), um_per_px=sample.scene.um_per_px)
    assert abs(findings.count - sample.scene.count) <= 1
    # The visit's "terminal" hairs are the trials' definition: 30 um or wider.
    wide = sum(1 for hair in sample.scene.hairs if hair.exit_in_image and hair.width_um >= 30)
    assert abs(findings.terminal_count - wide) <= 1
    assert findings.terminal_count + findings.vellus_count <= findings.count
    assert findings.density_per_cm2 == pytest.approx(findings.count / sample.scene.area_cm2)
    assert findings.overlay_png is not None and findings.overlay_png.startswith(b"\x89PNG")
    prefill = findings.prefill()
    assert prefill["target_area_count"] == findings.count


def test_a_refused_calibration_is_a_message_not_an_error_page():
    sample = synth.generate(12, "easy", size_px=(240, 320))
    with pytest.raises(trichoscopy_hook.Unavailable, match=r"calibration|micrometres"):
        trichoscopy_hook.analyse(_jpeg(sample.image), um_per_px=0.0)
