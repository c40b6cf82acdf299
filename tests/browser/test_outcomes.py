"""Outcomes in a real browser: Paul records Rita's baseline (with a new scalp landmark,
her stage and numbers with their device) and her 6-month review, adds standardized photos
to both, compares them with the slider, and downloads the PDF progress report, which is
a real PDF with her name and a chart. A second test looks at the cohort page comparing
two protocols.

The clock is Wednesday 2 December 2026 in London; Rita's hair course began on 5 January.
"""

from __future__ import annotations

import io
import random

import pytest
from playwright.sync_api import expect
from pypdf import PdfReader

from mesoclinic.outcomes.demo import scalp_image
from mesoclinic.outcomes.models import OutcomePhoto, OutcomeVisit
from tests.browser.conftest import SCREENSHOTS, sign_in
from tests.conftest import PASSWORD
from tests.outcomes.conftest import rita, rita_course  # noqa: F401 (fixtures)
from tests.outcomes.factories import patient_on

pytestmark = pytest.mark.browser


def photo(density: float, seed: int, *, close_up: bool = False) -> dict:
    data = scalp_image(random.Random(seed), density=density, close_up=close_up)
    return {"name": f"photo-{seed}.jpg", "mimeType": "image/jpeg", "buffer": data}


def record_visit(
    page, *, point: str, day: str, density: str, new_landmark: bool, shot=None
) -> None:
    page.get_by_role("link", name="Record an outcome visit").first.click()
    expect(page.get_by_role("heading", name="Record an outcome visit")).to_be_visible()
    page.locator("#id_point").select_option(point)
    page.locator("#id_measured_on").fill(day)
    page.get_by_label("Course").select_option(index=1)
    page.get_by_label("Hair-loss stage seen today").select_option("ludwig:II")
    if new_landmark:
        page.get_by_label("Target area landmark").select_option("new")
        page.get_by_text("Describe a new landmark").click()
        page.get_by_label("New landmark's name").fill("Vertex target")
        page.get_by_label("Distance behind the glabella (mm)").fill("180")
        page.get_by_label("Marked with a dot tattoo").check()
    page.get_by_label("Hair density (hairs/cm2)").fill(density)
    page.locator("#id_device_density_per_cm2").fill("FotoFinder 20x")
    page.get_by_label("Mean hair shaft width (um)").fill("61")
    if point != "baseline":
        page.get_by_label("Patient self-assessment since baseline").select_option("1")
    if shot:
        shot("outcome-visit-form")
    page.get_by_role("button", name="Record the visit").click()
    expect(page.get_by_text("Outcome visit recorded. Add its photos below.")).to_be_visible()


def upload(page, view: str, label: str, file: dict) -> None:
    page.locator(f"#id_{view}-image").set_input_files(files=[file])
    page.locator(f"#view-{view}").get_by_role("button", name="Upload").click()
    expect(page.get_by_text(f"{label} photo added.")).to_be_visible()


def test_baseline_and_review_with_photos_compared_and_reported(
    page,
    live_server,
    shot,
    world,
    calendar,
    rita,  # noqa: F811
    rita_course,  # noqa: F811
):
    sign_in(page, "paul@acme.test", PASSWORD)
    page.goto(f"/patients/{rita.pk}/outcomes/")
    shot("outcomes-tab-empty")

    # 1. The baseline, with its photos (guidance shown for each view).
    record_visit(
        page, point="baseline", day="2026-01-05", density="148.5", new_landmark=True, shot=shot
    )
    expect(page.get_by_text("Target area at Vertex target")).to_be_visible()
    expect(page.get_by_text("whorl in the centre of the frame")).to_be_visible()
    upload(page, "vertex", "Vertex", photo(150, 1))
    upload(page, "frontal", "Frontal hairline", photo(150, 2))
    shot("outcome-visit-baseline")

    # 2. The 6-month review: the landmark is carried over; the baseline photo is the
    # framing reference for the new one.
    page.goto(f"/patients/{rita.pk}/outcomes/")
    record_visit(page, point="month_6", day="2026-07-06", density="163", new_landmark=False)
    expect(
        page.get_by_text("Previous visit (5 Jan 2026): frame the same way").first
    ).to_be_visible()
    upload(page, "vertex", "Vertex", photo(175, 3))
    upload(page, "frontal", "Frontal hairline", photo(175, 4))
    review = OutcomeVisit.objects.get(point="month_6")
    assert review.landmark is not None and review.landmark.name == "Vertex target"
    assert OutcomePhoto.objects.count() == 4
    shot("outcome-visit-review")

    # 3. Progress: the change from baseline and the photo comparison with the slider.
    page.goto(f"/patients/{rita.pk}/photos/")
    expect(page.locator(".photo-strip img")).to_have_count(4)
    shot("outcomes-photos-tab")
    page.goto(f"/patients/{rita.pk}/outcomes/")
    shot("outcomes-tab")
    page.get_by_role("link", name="Progress and photo comparison").click()
    expect(page.get_by_role("cell", name="+14.5 hairs/cm2 (+9.8 %)")).to_have_count(2)
    vertex = page.locator("article.compare", has=page.get_by_role("heading", name="Vertex"))
    expect(vertex.locator(".side-by-side img")).to_have_count(2)
    shot("outcome-progress")
    vertex.get_by_role("button", name="Slider").click()
    expect(vertex.locator(".slider")).to_be_visible()
    expect(vertex.locator(".side-by-side")).to_be_hidden()
    vertex.get_by_label("Drag to reveal the later photo").fill("25")
    assert (
        vertex.locator(".slider-frame").evaluate("e => e.style.getPropertyValue('--split')")
        == "25%"
    )
    # Both photos have loaded (served through the authorised view).
    assert vertex.locator(".slider-before").evaluate("img => img.complete && img.naturalWidth") > 0
    shot("outcome-comparison-slider")

    # 4. The PDF report: a real PDF with Rita's name and a chart.
    with page.expect_download() as info:
        page.get_by_role("link", name="Download the PDF report").click()
    data = open(info.value.path(), "rb").read()  # noqa: SIM115
    # Kept with the screenshots, to be looked at.
    (SCREENSHOTS / "outcome-report.pdf").write_bytes(data)
    assert data.startswith(b"%PDF-")
    reader = PdfReader(io.BytesIO(data))
    text = " ".join(" ".join(p.extract_text().split()) for p in reader.pages)
    assert "Rita Review" in text
    assert "Your hair treatment: progress report" in text
    assert "Hair density" in text
    # The chart is drawn as vector graphics (a form XObject per SVG), the photos as images.
    kinds = [
        xobject.get_object()["/Subtype"]
        for p in reader.pages
        for xobject in (p["/Resources"].get("/XObject") or {}).values()
    ]
    assert "/Form" in kinds and "/Image" in kinds


def test_the_cohort_page_compares_two_protocols(page, live_server, shot, world, calendar):
    for n, (before, after) in enumerate(((150, 168), (140, 151), (160, 158), (130, 149))):
        patient_on(world, calendar.hair, f"Hair{n}", baseline=before, month_6=after)
    for n, (before, after) in enumerate(((150, 152), (140, 139), (155, 160))):
        patient_on(world, calendar.prp, f"Prp{n}", baseline=before, month_6=after)
    sign_in(page, "alice@acme.test", PASSWORD)
    page.get_by_role("link", name="Outcomes").click()
    expect(page.get_by_role("heading", name="Outcomes by protocol")).to_be_visible()
    page.get_by_label("Protocol", exact=True).select_option(label=calendar.hair.name)
    page.get_by_label("Compare with").select_option(label=calendar.prp.name)
    page.get_by_role("button", name="Show").click()
    expect(page.get_by_text("Observational data.")).to_be_visible()
    expect(
        page.get_by_role("heading", name=f"{calendar.hair.name} compared with {calendar.prp.name}")
    ).to_be_visible()
    shot("outcome-cohort")
