"""The outcome pages: who may do what (every persona), bad input shown on its field with
nothing saved, photo URLs hidden from anyone without access, the audit of reads, the
chart tabs, the PDF, the cohort page and its CSV, and query counts that do not grow.

The clock is Wednesday 2 December 2026 in London (``calendar``); Rita (born 1985) has a hair
course from 5 January 2026 (``rita_course``).
"""

from __future__ import annotations

import csv
import datetime as dt
import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from mesoclinic.core.models import AuditEvent
from mesoclinic.outcomes.models import Landmark, Measurement, OutcomePhoto, OutcomeVisit
from mesoclinic.outcomes.services import outcome_photo_add
from mesoclinic.treatments.images import prepare_photo
from tests.outcomes.factories import jpeg, patient_on, visit
from tests.patients.helpers import assert_login_redirect, field_errors, page_text

SIGNED_OUT = ["anonymous", "dora"]
CLINICIANS = ["paul", "alice"]
READ_ONLY = ["fiona", "audrey"]
BASELINE_DAY = dt.date(2026, 1, 5)


def visit_form(**overrides):
    data = {
        "point": "baseline",
        "measured_on": "2026-01-05",
        "clinic": "",
        "course": "",
        "stage": "ludwig:II",
        "landmark": "new",
        "landmark_name": "Vertex target",
        "landmark_description": "Leading edge of the vertex thinning",
        "landmark_from_glabella_mm": "180",
        "landmark_from_midline_mm": "0",
        "landmark_tattooed": "on",
        "notes": "",
        "m_density_per_cm2": "148.5",
        "method_density_per_cm2": "trichoscopy_manual",
        "device_density_per_cm2": "FotoFinder 20x",
        "m_shaft_width_um": "61",
        "m_self_assessment": "",
    }
    data.update(overrides)
    return {k: v for k, v in data.items() if v is not None}


@pytest.fixture
def baseline(world, rita, rita_course):
    recorded = visit(
        world,
        rita,
        point="baseline",
        day=BASELINE_DAY,
        course=rita_course,
        density_per_cm2=150,
        shaft_width_um=60,
    )
    photo = outcome_photo_add(
        visit=recorded,
        view="vertex",
        photo=prepare_photo(jpeg(), max_bytes=10**7),
        acting_user=world.paul,
    )
    return recorded, photo


def review(world, rita, rita_course, day, density, point="month_6"):
    recorded = visit(world, rita, point=point, day=day, course=rita_course, density_per_cm2=density)
    outcome_photo_add(
        visit=recorded,
        view="vertex",
        photo=prepare_photo(jpeg(colour=(90, 60, 40)), max_bytes=10**7),
        acting_user=world.paul,
    )
    return recorded


# --- Who may do what --------------------------------------------------------------------------


@pytest.mark.parametrize("who", SIGNED_OUT)
def test_signed_out_people_are_sent_to_the_login_page(client_for, world, baseline, rita, who):
    recorded, _photo = baseline
    for path in (
        reverse("outcome_visit", args=[recorded.pk]),
        reverse("outcome_visit_new", args=[rita.pk]),
        reverse("outcome_progress", args=[rita.pk]),
        reverse("outcome_report", args=[rita.pk]),
        reverse("outcome_cohort"),
    ):
        assert_login_redirect(client_for(who).get(path), path)


@pytest.mark.parametrize("who", ["anonymous", "dora", "oscar", "pat"])
def test_photo_urls_are_not_found_for_anyone_without_access(client_for, baseline, who):
    _visit, photo = baseline
    for variant in ("full", "thumb"):
        response = client_for(who).get(reverse("outcome_photo_file", args=[photo.pk, variant]))
        assert response.status_code == 404


@pytest.mark.parametrize("who", CLINICIANS + READ_ONLY)
def test_staff_see_photos_never_cached_and_each_view_is_audited(client_for, world, baseline, who):
    _visit, photo = baseline
    response = client_for(who).get(reverse("outcome_photo_file", args=[photo.pk, "full"]))
    assert response.status_code == 200
    assert response["Content-Type"] == "image/jpeg"
    assert "no-store" in response["Cache-Control"]
    assert b"".join(response.streaming_content).startswith(b"\xff\xd8")
    assert AuditEvent.objects.filter(action="photo.read", actor=world.persona(who)).exists()


def test_an_unknown_photo_variant_is_not_found(client_for, baseline):
    _visit, photo = baseline
    assert (
        client_for("paul").get(reverse("outcome_photo_file", args=[photo.pk, "raw"])).status_code
        == 404
    )
    # No analysis ran, so there is no overlay either.
    assert (
        client_for("paul")
        .get(reverse("outcome_photo_file", args=[photo.pk, "overlay"]))
        .status_code
        == 404
    )


def test_another_organisation_gets_404_for_every_patient_page(client_for, baseline, rita):
    recorded, photo = baseline
    client = client_for("oscar")
    for path in (
        reverse("outcome_visit", args=[recorded.pk]),
        reverse("outcome_visit_edit", args=[recorded.pk]),
        reverse("outcome_visit_new", args=[rita.pk]),
        reverse("outcome_progress", args=[rita.pk]),
        reverse("outcome_report", args=[rita.pk]),
    ):
        assert client.get(path).status_code == 404, path
    assert (
        client.post(
            reverse("outcome_photo_remove", args=[photo.pk]), {"reason": "Wrong patient"}
        ).status_code
        == 404
    )
    assert OutcomePhoto.objects.filter(pk=photo.pk).exists()


@pytest.mark.parametrize("who", READ_ONLY)
def test_front_desk_and_auditors_read_but_do_not_write(client_for, baseline, rita, who):
    recorded, photo = baseline
    client = client_for(who)
    assert client.get(reverse("outcome_visit", args=[recorded.pk])).status_code == 200
    assert client.get(reverse("outcome_progress", args=[rita.pk])).status_code == 200
    assert client.get(reverse("patients:chart_tab", args=[rita.pk, "outcomes"])).status_code == 200
    for path in (
        reverse("outcome_visit_new", args=[rita.pk]),
        reverse("outcome_visit_edit", args=[recorded.pk]),
    ):
        assert client.get(path).status_code == 403
    assert (
        client.post(reverse("outcome_visit_new", args=[rita.pk]), visit_form()).status_code == 403
    )
    upload = SimpleUploadedFile("v.jpg", jpeg(), content_type="image/jpeg")
    assert (
        client.post(
            reverse("outcome_photo_add", args=[recorded.pk]),
            {"prefix": "frontal", "frontal-view": "frontal", "frontal-image": upload},
        ).status_code
        == 403
    )
    assert (
        client.post(
            reverse("outcome_photo_remove", args=[photo.pk]), {"reason": "Wrong patient"}
        ).status_code
        == 403
    )
    assert OutcomeVisit.objects.count() == 1


def test_the_cohort_page_is_for_admins_practitioners_and_auditors(client_for):
    for who in ("alice", "paul", "audrey"):
        assert client_for(who).get(reverse("outcome_cohort")).status_code == 200
    assert client_for("fiona").get(reverse("outcome_cohort")).status_code == 403
    assert client_for("fiona").get(reverse("outcome_cohort_csv")).status_code == 403


# --- Recording through the page -------------------------------------------------------------


@pytest.mark.parametrize("who", CLINICIANS)
def test_a_clinician_records_a_baseline_with_a_new_landmark(
    client_for, world, rita, rita_course, calendar, who
):
    response = client_for(who).post(
        reverse("outcome_visit_new", args=[rita.pk]),
        visit_form(clinic=str(world.acme_city.pk), course=str(rita_course.pk)),
    )
    assert response.status_code == 302
    recorded = OutcomeVisit.objects.get()
    assert response.url == reverse("outcome_visit", args=[recorded.pk])
    assert (recorded.stage_scale, recorded.stage, recorded.course_id) == (
        "ludwig",
        "II",
        rita_course.pk,
    )
    assert recorded.landmark.name == "Vertex target"
    assert recorded.landmark.tattooed
    values = dict(recorded.measurements.values_list("measure", "value"))
    assert values == {"density_per_cm2": 148.5, "shaft_width_um": 61}
    assert recorded.measurements.get(measure="density_per_cm2").device == "FotoFinder 20x"


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("m_density_per_cm2", "1000.5", "Density must be at most 1000.0 hairs/cm2"),
        ("m_density_per_cm2", "-3", "Density must be at least 0.0 hairs/cm2"),
        ("m_shaft_width_um", "4", "Shaft width must be at least 5.0 um"),
        ("m_shaft_width_um", "250", "Shaft width must be at most 200.0 um"),
        ("m_target_area_count", "12.5", "whole number"),
        ("measured_on", "2026-12-03", "future"),
        ("measured_on", "1985-03-13", "before the patient's date of birth"),
    ],
)
def test_bad_input_is_shown_on_its_field_and_nothing_is_saved(
    client_for, world, rita, calendar, field, value, message
):
    before = (OutcomeVisit.objects.count(), Landmark.objects.count(), AuditEvent.objects.count())
    response = client_for("paul").post(
        reverse("outcome_visit_new", args=[rita.pk]),
        visit_form(clinic=str(world.acme_city.pk), **{field: value}),
    )
    assert response.status_code == 200
    assert message in field_errors(response, field) or message in page_text(response)
    # The new landmark of the refused form is not kept either (one transaction).
    assert (OutcomeVisit.objects.count(), Landmark.objects.count()) == before[:2]


def test_a_correction_opened_before_anothers_save_is_refused(client_for, world, baseline):
    recorded, _photo = baseline
    path = reverse("outcome_visit_edit", args=[recorded.pk])
    form = visit_form(
        clinic=str(world.acme_city.pk),
        course=str(recorded.course_id),
        landmark="",
        m_density_per_cm2="151",
        version="1",
        stage="",
    )
    assert client_for("paul").post(path, form).status_code == 302
    response = client_for("alice").post(path, {**form, "m_density_per_cm2": "149"})
    assert response.status_code == 200
    assert "Someone else changed this visit" in page_text(response)
    assert Measurement.objects.get(visit=recorded, measure="density_per_cm2").value == 151


def test_a_photo_that_is_not_an_image_is_refused_with_a_message(client_for, baseline):
    recorded, _photo = baseline
    upload = SimpleUploadedFile("notes.jpg", b"%PDF-1.7 hello", content_type="image/jpeg")
    response = client_for("paul").post(
        reverse("outcome_photo_add", args=[recorded.pk]),
        {"prefix": "frontal", "frontal-view": "frontal", "frontal-image": upload},
        follow=True,
    )
    assert "This file is not a photo (JPEG or PNG)." in page_text(response)
    assert not OutcomePhoto.objects.filter(view="frontal").exists()


def test_a_photo_over_the_size_limit_is_refused(client_for, baseline, settings):
    settings.PHOTO_MAX_MB = 1
    recorded, _photo = baseline
    upload = SimpleUploadedFile(
        "big.jpg", b"\xff\xd8" + b"0" * 1_100_000, content_type="image/jpeg"
    )
    response = client_for("paul").post(
        reverse("outcome_photo_add", args=[recorded.pk]),
        {"prefix": "frontal", "frontal-view": "frontal", "frontal-image": upload},
        follow=True,
    )
    assert "larger than 1 MB" in page_text(response)
    assert not OutcomePhoto.objects.filter(view="frontal").exists()


def test_a_photo_is_added_to_its_view_and_the_visit_page_shows_the_guidance(client_for, baseline):
    recorded, _photo = baseline
    upload = SimpleUploadedFile("front.jpg", jpeg(), content_type="image/jpeg")
    response = client_for("paul").post(
        reverse("outcome_photo_add", args=[recorded.pk]),
        {"prefix": "frontal", "frontal-view": "frontal", "frontal-image": upload},
        follow=True,
    )
    assert OutcomePhoto.objects.filter(visit=recorded, view="frontal").count() == 1
    text = page_text(response)
    assert "Frontal hairline photo added." in text
    assert "eyebrows at the bottom edge of the frame" in text
    assert "Automatic trichoscopy analysis is not installed here" not in text  # no close-up yet


# --- Reading -----------------------------------------------------------------------------------


def test_the_progress_page_shows_changes_from_baseline_and_a_chart_and_is_audited(
    client_for, world, baseline, rita, rita_course
):
    review(world, rita, rita_course, dt.date(2026, 7, 6), 165)
    response = client_for("paul").get(reverse("outcome_progress", args=[rita.pk]))
    text = page_text(response)
    assert "+15.0 hairs/cm2 (+10.0 %)" in text
    assert response.content.count(b"<svg") >= 2  # density and shaft width
    assert "Slider" in text and "Side by side" in text
    event = AuditEvent.objects.filter(action="outcomes.read", patient=rita).latest("pk")
    assert event.changes["what"]["new"] == "progress"


def test_the_progress_page_costs_the_same_queries_with_more_visits(
    client_for, world, baseline, rita, rita_course
):
    client = client_for("paul")
    path = reverse("outcome_progress", args=[rita.pk])

    def queries() -> int:
        with CaptureQueriesContext(connection) as ctx:
            assert client.get(path).status_code == 200
        return len(ctx.captured_queries)

    review(world, rita, rita_course, dt.date(2026, 4, 6), 155, point="month_3")
    one = queries()
    for month, density in ((7, 160), (9, 162), (11, 170)):
        review(world, rita, rita_course, dt.date(2026, month, 6), density, point="other")
    assert queries() == one


def test_the_chart_tabs_cost_the_same_queries_with_more_visits(
    client_for, world, baseline, rita, rita_course
):
    client = client_for("paul")

    def queries(tab: str) -> int:
        with CaptureQueriesContext(connection) as ctx:
            response = client.get(reverse("patients:chart_tab", args=[rita.pk, tab]))
            assert response.status_code == 200
        return len(ctx.captured_queries)

    first = {tab: queries(tab) for tab in ("outcomes", "photos")}
    for month in (4, 7, 9):
        review(world, rita, rita_course, dt.date(2026, month, 6), 150 + month, point="other")
    assert {tab: queries(tab) for tab in ("outcomes", "photos")} == first


def test_the_pdf_report_is_a_pdf_and_its_read_is_audited(
    client_for, world, baseline, rita, rita_course
):
    review(world, rita, rita_course, dt.date(2026, 7, 6), 165)
    response = client_for("paul").get(reverse("outcome_report", args=[rita.pk]))
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert response.content.startswith(b"%PDF-")
    from pypdf import PdfReader

    text = " ".join(page.extract_text() for page in PdfReader(io.BytesIO(response.content)).pages)
    assert "Rita Review" in text
    assert "Hair density" in text
    assert "does not show that a treatment worked" in " ".join(text.split())
    event = AuditEvent.objects.filter(action="outcomes.read", patient=rita).latest("pk")
    assert event.changes["what"]["new"] == "report"


# --- Cohorts -----------------------------------------------------------------------------------


@pytest.fixture
def two_protocols(world, calendar):
    hair, prp = calendar.hair, calendar.prp
    for n, (before, after) in enumerate(((150, 165), (140, 147), (160, 160))):
        patient_on(world, hair, f"Hair{n}", baseline=before, month_6=after)
    for n, (before, after) in enumerate(((150, 150), (140, 138))):
        patient_on(world, prp, f"Prp{n}", baseline=before, month_6=after)
    return hair, prp


def test_the_cohort_page_compares_two_protocols_with_a_warning(client_for, world, two_protocols):
    hair, prp = two_protocols
    response = client_for("paul").get(
        reverse("outcome_cohort"),
        {
            "protocol": hair.protocol_id,
            "compare_with": prp.protocol_id,
            "measure": "density_per_cm2",
            "threshold_percent": "10",
            "point": "month_6",
        },
    )
    assert response.status_code == 200
    text = " ".join(page_text(response).split())
    assert "Observational data." in text
    # Hair: changes +15, +7, 0 -> mean 7.33; PRP: 0, -2 -> mean -1.0.
    assert "+7.3 hairs/cm2" in text
    assert "-1.0 hairs/cm2" in text
    assert "1 / 3" in text  # one responder (+10 %) of three
    assert AuditEvent.objects.filter(action="outcomes.cohort_read").count() == 1


def test_a_cohort_of_one_patient_shows_counts_without_an_interval(client_for, world, calendar):
    patient_on(world, calendar.hair, "Solo", baseline=150, month_6=160)
    response = client_for("paul").get(
        reverse("outcome_cohort"),
        {
            "protocol": calendar.hair.protocol_id,
            "measure": "density_per_cm2",
            "threshold_percent": "10",
            "point": "month_6",
        },
    )
    text = " ".join(page_text(response).split())
    assert "fewer than 2 patients" in text
    assert "+10.0 hairs/cm2" in text


def test_a_cohort_filter_with_an_inverted_period_is_refused(client_for, calendar):
    response = client_for("paul").get(
        reverse("outcome_cohort"),
        {
            "started_from": "2026-06-01",
            "started_to": "2026-01-01",
            "measure": "density_per_cm2",
            "threshold_percent": "10",
        },
    )
    assert response.status_code == 200
    assert "The end of the period is before its start." in page_text(response)


def test_the_cohort_page_costs_the_same_queries_with_more_patients(client_for, world, calendar):
    client = client_for("paul")
    params = {
        "protocol": calendar.hair.protocol_id,
        "compare_with": calendar.prp.protocol_id,
        "measure": "density_per_cm2",
        "threshold_percent": "10",
        "point": "month_6",
    }

    def queries() -> int:
        with CaptureQueriesContext(connection) as ctx:
            assert client.get(reverse("outcome_cohort"), params).status_code == 200
        return len(ctx.captured_queries)

    patient_on(world, calendar.hair, "A", baseline=150, month_6=160)
    one = queries()
    for n in range(6):
        patient_on(world, calendar.hair, f"B{n}", baseline=140 + n, month_6=150 + n)
        patient_on(world, calendar.prp, f"C{n}", baseline=140 + n, month_6=141 + n)
    assert queries() == one


def test_the_csv_is_de_identified(client_for, world, two_protocols):
    hair, _prp = two_protocols
    patient_on(world, hair, "Hair3", baseline=130, month_6=131)
    patient_on(world, hair, "Hair4", baseline=120)
    response = client_for("alice").get(
        reverse("outcome_cohort_csv"),
        {"protocol": hair.protocol_id, "measure": "density_per_cm2", "threshold_percent": "10"},
    )
    assert response.status_code == 200
    body = b"".join(response.streaming_content).decode()
    rows = list(csv.DictReader(io.StringIO(body)))
    assert len(rows) == 9  # five courses: five baselines, four at 6 months
    assert {r["visit"] for r in rows} == {"baseline", "month_6"}
    assert {r["days_since_baseline"] for r in rows} == {"0", "182"}
    for name in ("Hair0", "Cohort", "ACM-", "2026-"):
        assert name not in body
    assert all(r["subject"].startswith("S") for r in rows)
    assert {r["value"] for r in rows} >= {"150.0", "165.0"}  # numbers, not text
    assert rows[0]["age_band_at_baseline"] == "40-44"  # born 14 March 1985, baseline Jan 2026
    assert AuditEvent.objects.filter(
        action="outcomes.cohort_read", changes__export__new="csv"
    ).exists()


def test_a_csv_of_fewer_than_five_courses_is_refused_with_a_reason(client_for, two_protocols):
    hair, _prp = two_protocols
    response = client_for("alice").get(
        reverse("outcome_cohort_csv"),
        {"protocol": hair.protocol_id, "measure": "density_per_cm2", "threshold_percent": "10"},
        follow=True,
    )
    assert "could single out a patient" in page_text(response)
    assert not AuditEvent.objects.filter(
        action="outcomes.cohort_read", changes__export__new="csv"
    ).exists()


# --- The trichoscopy hook on the pages ------------------------------------------------------


def test_an_analysed_close_up_prefills_the_form_and_the_practitioner_confirms_a_correction(
    client_for, world, rita, rita_course, fake_library
):
    recorded = visit(world, rita, point="baseline", day=BASELINE_DAY, course=rita_course)
    close_up = outcome_photo_add(
        visit=recorded,
        view="trichoscopy",
        photo=prepare_photo(jpeg(), max_bytes=10**7),
        um_per_px=2.5,
        acting_user=world.paul,
    )
    client = client_for("paul")
    page = client.get(reverse("outcome_visit", args=[recorded.pk]))
    assert "Analyse and prefill the numbers" in page_text(page)
    response = client.post(reverse("outcome_photo_analyse", args=[close_up.pk]))
    edit = reverse("outcome_visit_edit", args=[recorded.pk])
    assert response.url == f"{edit}?analysis={close_up.pk}"
    form = client.get(response.url)
    text = page_text(form)
    assert "Numbers found by the trichoscopy analysis" in text
    assert 'value="168.0"' in form.content.decode()  # density prefilled
    # Nothing is stored until the practitioner saves; a corrected number is what is stored.
    assert not Measurement.objects.filter(visit=recorded).exists()
    saved = client.post(
        edit,
        visit_form(
            clinic=str(world.acme_city.pk),
            course=str(rita_course.pk),
            landmark="",
            stage="",
            version="1",
            analysis_photo=str(close_up.pk),
            m_density_per_cm2="165",
            method_density_per_cm2="trichoscopy_auto",
            m_shaft_width_um="",
            device_density_per_cm2="",
        ),
    )
    assert saved.status_code == 302
    row = Measurement.objects.get(visit=recorded, measure="density_per_cm2")
    assert (row.value, row.method, row.photo_id) == (165, "trichoscopy_auto", close_up.pk)
    # A later correction of another number keeps the analysed number's link to its photo.
    again = client.post(
        edit,
        visit_form(
            clinic=str(world.acme_city.pk),
            course=str(rita_course.pk),
            landmark="",
            stage="",
            version="2",
            m_density_per_cm2="165",
            method_density_per_cm2="trichoscopy_auto",
            m_shaft_width_um="58",
            device_density_per_cm2="",
        ),
    )
    assert again.status_code == 302
    row = Measurement.objects.get(visit=recorded, measure="density_per_cm2")
    assert row.photo_id == close_up.pk


def test_without_the_library_the_close_up_says_to_count_by_hand(
    client_for, world, rita, monkeypatch
):
    from mesoclinic.outcomes import trichoscopy_hook

    monkeypatch.setattr(trichoscopy_hook, "_library", lambda: None)
    recorded = visit(world, rita, point="baseline", day=BASELINE_DAY)
    outcome_photo_add(
        visit=recorded,
        view="trichoscopy",
        photo=prepare_photo(jpeg(), max_bytes=10**7),
        um_per_px=2.5,
        acting_user=world.paul,
    )
    text = page_text(client_for("paul").get(reverse("outcome_visit", args=[recorded.pk])))
    assert "Automatic trichoscopy analysis is not installed here" in text
    assert "Analyse and prefill the numbers" not in text


def test_the_new_visit_form_suggests_the_review_the_course_is_at(
    client_for, world, baseline, rita_course
):
    from mesoclinic.scheduling.models import CourseSession, SessionStatus

    for position in (1, 2, 3):
        day = BASELINE_DAY + dt.timedelta(days=14 * (position - 1))
        CourseSession.objects.create(
            organisation=world.acme,
            course=rita_course,
            position=position,
            phase="induction",
            number_in_phase=position,
            earliest_on=day,
            target_on=day,
            latest_on=day,
            status=SessionStatus.DONE,
            done_on=day,
        )
    response = client_for("paul").get(reverse("outcome_visit_new", args=[rita_course.patient_id]))
    assert response.context["form"].initial["point"] == "after_session_3"
    assert response.context["form"].initial["course"] == rita_course.pk


def test_opening_the_visit_forms_is_audited_as_a_read_of_the_chart(
    client_for, world, baseline, rita
):
    recorded, _photo = baseline
    client = client_for("paul")
    client.get(reverse("outcome_visit_new", args=[rita.pk]))
    client.get(reverse("outcome_visit_edit", args=[recorded.pk]))
    reads = AuditEvent.objects.filter(action="outcomes.read", patient=rita, actor=world.paul)
    assert {e.changes["what"]["new"] for e in reads} >= {"visit_new", "visit_edit"}


def test_the_visit_forms_cost_the_same_queries_with_more_courses(
    client_for, world, calendar, rita, baseline
):
    from tests.outcomes.factories import course_row

    client = client_for("paul")
    recorded, _photo = baseline

    def queries(path: str) -> int:
        with CaptureQueriesContext(connection) as ctx:
            assert client.get(path).status_code == 200
        return len(ctx.captured_queries)

    paths = [
        reverse("outcome_visit_new", args=[rita.pk]),
        reverse("outcome_visit_edit", args=[recorded.pk]),
    ]
    first = [queries(p) for p in paths]
    for start in (dt.date(2026, 3, 2), dt.date(2026, 5, 4)):
        course_row(world, rita, calendar.prp, start_on=start)
    assert [queries(p) for p in paths] == first


def test_the_report_holds_only_the_photo_views_chosen(
    client_for, world, baseline, rita, rita_course
):
    later = review(world, rita, rita_course, dt.date(2026, 7, 6), 165)
    first, _photo = baseline
    for recorded in (first, later):
        outcome_photo_add(
            visit=recorded,
            view="frontal",
            photo=prepare_photo(jpeg(), max_bytes=10**7),
            acting_user=world.paul,
        )
    from pypdf import PdfReader

    def text(**params) -> str:
        response = client_for("paul").get(reverse("outcome_report", args=[rita.pk]), params)
        reader = PdfReader(io.BytesIO(response.content))
        return " ".join(page.extract_text() for page in reader.pages)

    both = {"before": first.pk, "after": later.pk}
    assert "Frontal hairline" in text(**both) and "Vertex" in text(**both)
    vertex_only = text(**both, view="vertex")
    assert "Vertex" in vertex_only and "Frontal hairline" not in vertex_only
