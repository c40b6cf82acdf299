"""/api/v1/measurements, /api/v1/photos and /api/v1/outcomes: every persona on every
endpoint, a visit recorded and read back, bad input refused on its field with nothing
written, photo uploads and the authorised image, corrections (only the fields sent, a stale
version refused), the progress at a constant number of queries, and the cohort numbers
against a hand-computed example.

The clock is Wednesday 2 December 2026 in London (``calendar``); Rita (born 14 March 1985)
has a hair course from 5 January 2026 (``rita_course``), whose baseline (density 150,
shaft width 60) has a vertex photo (``baseline``).
"""

from __future__ import annotations

import datetime as dt
import json
import math
from collections.abc import Callable
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test.utils import CaptureQueriesContext

from mesoclinic.core.models import AuditEvent
from mesoclinic.outcomes.models import Measurement, OutcomePhoto, OutcomeVisit
from mesoclinic.outcomes.services import (
    MeasurementInput,
    VisitInput,
    landmark_create,
    outcome_photo_add,
    outcome_visit_update,
)
from mesoclinic.treatments.images import prepare_photo
from tests.api.helpers import ApiClient, field_messages, problem
from tests.outcomes.factories import jpeg, patient_on, visit

MEASUREMENTS = "/api/v1/measurements"
VISITS = f"{MEASUREMENTS}/visits"
PHOTOS = "/api/v1/photos"
COHORT = "/api/v1/outcomes/cohort"
BASELINE_DAY = dt.date(2026, 1, 5)

STAFF = ["alice", "paul", "fiona", "audrey"]
WRITERS = ["alice", "paul"]
READ_ONLY = ["fiona", "audrey"]
SIGNED_OUT = ["anonymous", "dora"]


def progress_url(patient_id: int) -> str:
    return f"/api/v1/outcomes/patients/{patient_id}/progress"


@pytest.fixture
def baseline(world, rita, rita_course) -> tuple[OutcomeVisit, OutcomePhoto]:
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


def visit_body(world, person, **overrides) -> dict[str, Any]:
    """A valid POST /measurements/visits body (a visit outside any course); ``None``
    values leave the key out."""
    payload: dict[str, Any] = {
        "patient": person.pk,
        "point": "other",
        "measured_on": "2026-06-01",
        "clinic": world.acme_city.pk,
        "measurements": [{"measure": "density_per_cm2", "value": 160}],
    }
    payload.update(overrides)
    return {k: v for k, v in payload.items() if v is not None}


def upload(client: ApiClient, visit_id: Any, content: bytes | None = None, **fields: Any) -> Any:
    data: dict[str, Any] = {"visit": visit_id, "view": "vertex", **fields}
    if content is not None or "file" not in fields:
        data["file"] = SimpleUploadedFile(
            "scalp.jpg", content if content is not None else jpeg(), content_type="image/jpeg"
        )
    data = {k: v for k, v in data.items() if v is not None}
    return client.client.post(PHOTOS, data, **client.headers)


def remove(client: ApiClient, photo_id: int, reason: str = "Another patient's scalp") -> Any:
    return client.client.delete(
        f"{PHOTOS}/{photo_id}",
        data=json.dumps({"reason": reason}),
        content_type="application/json",
        **client.headers,
    )


def writes() -> tuple[int, int, int, int]:
    """Rows an API write would add: visits, numbers, photos and the non-read audit events."""
    return (
        OutcomeVisit.objects.count(),
        Measurement.objects.count(),
        OutcomePhoto.objects.count(),
        AuditEvent.objects.exclude(action__endswith="read").count(),
    )


def body_of(response: Any) -> Any:
    return json.loads(response.content)


# --- Every persona on every endpoint ------------------------------------------------------

Call = Callable[[ApiClient, Any, Any, Any, Any], Any]

# endpoint -> (call(client, world, rita, visit, photo), status per persona)
OK_READ = {"alice": 200, "paul": 200, "fiona": 200, "audrey": 200}
NO_ONE = {"anonymous": 401, "dora": 401}
ENDPOINTS: dict[str, tuple[Call, dict[str, int]]] = {
    "list measurements": (
        lambda c, w, p, v, ph: c.get(MEASUREMENTS, {"patient": p.pk}),
        {**OK_READ, **NO_ONE, "oscar": 422},
    ),
    "read visit": (
        lambda c, w, p, v, ph: c.get(f"{VISITS}/{v.pk}"),
        {**OK_READ, **NO_ONE, "oscar": 404},
    ),
    "record visit": (
        lambda c, w, p, v, ph: c.post(VISITS, visit_body(w, p)),
        {"alice": 201, "paul": 201, "fiona": 403, "audrey": 403, **NO_ONE, "oscar": 422},
    ),
    "correct visit": (
        lambda c, w, p, v, ph: c.patch(f"{VISITS}/{v.pk}", {"notes": "Checked."}),
        {"alice": 200, "paul": 200, "fiona": 403, "audrey": 403, **NO_ONE, "oscar": 404},
    ),
    "upload photo": (
        lambda c, w, p, v, ph: upload(c, v.pk),
        {"alice": 201, "paul": 201, "fiona": 403, "audrey": 403, **NO_ONE, "oscar": 422},
    ),
    "list photos": (
        lambda c, w, p, v, ph: c.get(PHOTOS, {"visit": v.pk}),
        {**OK_READ, **NO_ONE, "oscar": 422},
    ),
    "read photo": (
        lambda c, w, p, v, ph: c.get(f"{PHOTOS}/{ph.pk}"),
        {**OK_READ, **NO_ONE, "oscar": 404},
    ),
    "photo image": (
        lambda c, w, p, v, ph: c.get(f"{PHOTOS}/{ph.pk}/image", {"variant": "thumb"}),
        {**OK_READ, **NO_ONE, "oscar": 404},
    ),
    "remove photo": (
        lambda c, w, p, v, ph: remove(c, ph.pk),
        {"alice": 204, "paul": 204, "fiona": 403, "audrey": 403, **NO_ONE, "oscar": 404},
    ),
    "progress": (
        lambda c, w, p, v, ph: c.get(progress_url(p.pk)),
        {**OK_READ, **NO_ONE, "oscar": 404},
    ),
    "cohort": (
        lambda c, w, p, v, ph: c.get(COHORT),
        # Oscar sees his own organisation's (empty) cohort.
        {"alice": 200, "paul": 200, "audrey": 200, "fiona": 403, **NO_ONE, "oscar": 200},
    ),
}
MATRIX = [
    (endpoint, who, status)
    for endpoint, (_call, statuses) in ENDPOINTS.items()
    for who, status in statuses.items()
]


@pytest.mark.parametrize(("endpoint", "who", "status"), MATRIX)
def test_each_persona_gets_the_status_of_its_role(
    api_for, world, rita, baseline, endpoint, who, status
):
    recorded, photo = baseline
    call, _statuses = ENDPOINTS[endpoint]
    client = api_for(who)
    before = writes()
    response = call(client, world, rita, recorded, photo)
    assert response.status_code == status, response.content[:500]
    if status >= 400:
        problem(response, status)
        assert writes() == before
    if status == 401:
        assert response["WWW-Authenticate"].startswith("Bearer")


def test_every_read_of_a_patients_outcomes_is_audited(api_for, world, rita, baseline):
    recorded, photo = baseline
    client = api_for("audrey")
    client.get(f"{VISITS}/{recorded.pk}")
    client.get(progress_url(rita.pk))
    client.get(MEASUREMENTS, {"patient": rita.pk})
    client.get(PHOTOS, {"patient": rita.pk})
    client.get(f"{PHOTOS}/{photo.pk}")
    client.get(f"{PHOTOS}/{photo.pk}/image")
    reads = AuditEvent.objects.filter(actor=world.audrey, patient=rita)
    assert sorted(e.changes["what"]["new"] for e in reads.filter(action="outcomes.read")) == [
        "measurements",
        "photo",
        "photos",
        "progress",
        "visit",
    ]
    assert reads.filter(action="photo.read").count() == 1
    client.get(COHORT, {"measure": "density_per_cm2"})
    cohort_read = AuditEvent.objects.get(action="outcomes.cohort_read", actor=world.audrey)
    assert cohort_read.changes["query"]["new"] == "measure=density_per_cm2"


def test_another_organisation_lists_nothing_of_acme(api_for, world, baseline):
    oscar = api_for("oscar")
    assert body_of(oscar.get(MEASUREMENTS))["count"] == 0
    counts = body_of(oscar.get(COHORT))["cohort"]["counts"]
    assert counts["patients"] == 0 and counts["courses"] == 0


# --- Recording and reading a visit ----------------------------------------------------------


def test_a_visit_is_recorded_and_read_back(api_for, world, rita, rita_course):
    mark = landmark_create(patient=rita, name="Vertex target", acting_user=world.paul)
    client = api_for("paul")
    response = client.post(
        VISITS,
        visit_body(
            world,
            rita,
            point="baseline",
            measured_on="2026-01-05",
            course=rita_course.pk,
            stage_scale="ludwig",
            stage="II",
            landmark=mark.pk,
            notes="Washed, dry hair.",
            measurements=[
                {
                    "measure": "density_per_cm2",
                    "value": 151.5,
                    "method": "trichoscopy_manual",
                    "device": "FotoFinder 20x",
                },
                {"measure": "shaft_width_um", "value": 58.2},
                {"measure": "self_assessment", "value": 0},
            ],
        ),
    )
    assert response.status_code == 201, response.content
    created = body_of(response)
    assert created["version"] == 1
    assert created["point"] == "baseline" and created["measured_on"] == "2026-01-05"
    assert created["course_id"] == rita_course.pk
    assert created["landmark"] == {"id": mark.pk, "name": "Vertex target"}
    assert created["clinic"]["name"] == "Acme City"
    assert created["recorded_by"]["name"] == "Paul Practitioner"
    # In the catalogue's order, each with its unit and method (the default when not sent).
    assert [
        (m["measure"], m["value"], m["unit"], m["method"], m["device"])
        for m in created["measurements"]
    ] == [
        ("density_per_cm2", 151.5, "hairs/cm2", "trichoscopy_manual", "FotoFinder 20x"),
        ("shaft_width_um", 58.2, "um", "trichoscopy_manual", ""),
        ("self_assessment", 0.0, "", "patient", ""),
    ]
    read = body_of(api_for("fiona").get(f"{VISITS}/{created['id']}"))
    assert read == created
    assert AuditEvent.objects.filter(action="outcome_visit.record", patient=rita).count() == 1

    rows = body_of(client.get(MEASUREMENTS, {"patient": rita.pk, "measure": "density_per_cm2"}))
    assert rows["count"] == 1
    (row,) = rows["items"]
    assert row == {
        "id": row["id"],
        "visit_id": created["id"],
        "patient_id": rita.pk,
        "course_id": rita_course.pk,
        "point": "baseline",
        "measured_on": "2026-01-05",
        "measure": "density_per_cm2",
        "value": 151.5,
        "unit": "hairs/cm2",
        "method": "trichoscopy_manual",
        "device": "FotoFinder 20x",
    }


def test_measurements_are_filtered_and_paged(api_for, world, rita, rita_course, baseline):
    visit(
        world,
        rita,
        point="month_6",
        day=dt.date(2026, 7, 6),
        course=rita_course,
        density_per_cm2=165,
    )
    client = api_for("paul")

    def listed(**params):
        return body_of(client.get(MEASUREMENTS, params))

    everything = listed(patient=rita.pk)
    assert everything["count"] == 3
    assert [(r["point"], r["measure"]) for r in everything["items"]] == [
        ("baseline", "density_per_cm2"),
        ("baseline", "shaft_width_um"),
        ("month_6", "density_per_cm2"),
    ]
    assert [r["value"] for r in listed(point="month_6")["items"]] == [165]
    assert listed(course=rita_course.pk, measure="shaft_width_um")["count"] == 1
    page = listed(patient=rita.pk, limit=1, offset=1)
    assert (page["count"], page["limit"], page["offset"]) == (3, 1, 1)
    assert [r["measure"] for r in page["items"]] == ["shaft_width_um"]

    assert field_messages(
        problem(client.get(MEASUREMENTS, {"measure": "hair_colour"}), 422), "measure"
    )
    assert field_messages(problem(client.get(MEASUREMENTS, {"point": "someday"}), 422), "point")
    assert field_messages(problem(client.get(MEASUREMENTS, {"limit": 500}), 422), "limit")
    other = world.other_patient
    error = problem(client.get(MEASUREMENTS, {"patient": other.pk}), 422)
    assert field_messages(error, "patient") == ["No patient with this id in your organisation."]
    assert field_messages(problem(client.get(MEASUREMENTS, {"course": 999_999}), 422), "course")


# --- Bad input ------------------------------------------------------------------------------


def _one(measure: str, value: Any, **extra: Any) -> dict[str, Any]:
    return {"measurements": [{"measure": measure, "value": value, **extra}]}


@pytest.mark.parametrize(
    ("overrides", "field", "message"),
    [
        (
            _one("density_per_cm2", -1),
            "measurements.0.value",
            "Density must be between 0.0 and 1000.0 hairs/cm2.",
        ),
        (
            _one("density_per_cm2", 1000.5),
            "measurements.0.value",
            "Density must be between 0.0 and 1000.0 hairs/cm2.",
        ),
        (
            _one("shaft_width_um", 4.9),
            "measurements.0.value",
            "Shaft width must be between 5.0 and 200.0 um.",
        ),
        (
            _one("shaft_width_um", 200.5),
            "measurements.0.value",
            "Shaft width must be between 5.0 and 200.0 um.",
        ),
        (_one("target_area_count", 12.5), "measurements.0.value", "whole number"),
        (_one("self_assessment", 4), "measurements.0.value", "between -3 and +3"),
        (_one("density_per_cm2", math.nan), "measurements.0.value", "finite number"),
        (_one("density_per_cm2", "150"), "measurements.0.value", ""),
        (_one("hair_colour", 1), "measurements.0.measure", "Unknown measure"),
        (
            _one("density_per_cm2", 150, method="patient"),
            "measurements.0.method",
            "measured by trichoscopy_manual",
        ),
        (
            {"measurements": [{"measure": "density_per_cm2", "value": 150}] * 2},
            "measurements",
            "Density is entered twice.",
        ),
        (
            {"measured_on": "1985-03-13"},
            "measured_on",
            "before the patient's date of birth (1985-03-14)",
        ),
        ({"measured_on": "2026-12-03"}, "measured_on", "in the future"),
        ({"measured_on": "1899-12-31"}, "measured_on", "between the years 1900 and 2100"),
        ({"measured_on": "31/12/2025"}, "measured_on", ""),
        ({"point": "someday"}, "point", "Use one of baseline"),
        ({"stage_scale": "ludwig", "stage": "VII"}, "stage", "stage of the scale"),
        ({"stage_scale": "basp"}, "stage_scale", "Use one of"),
        ({"notes": "x" * 4001}, "notes", "too long"),
        ({"colour": "red"}, "colour", "Unknown field."),
        ({"patient": None}, "patient", "This field is required."),
        ({"course": 999_999}, "course", "No course with this id"),
        ({"landmark": 999_999}, "landmark", "No landmark with this id"),
    ],
)
def test_bad_input_is_a_422_naming_the_field_and_saves_nothing(
    api_for, world, rita, fixed_clock, overrides, field, message
):
    client = api_for("paul")
    before = writes()
    error = problem(client.post(VISITS, visit_body(world, rita, **overrides)), 422)
    messages = field_messages(error, field)
    assert messages, error
    assert message in messages[0]
    assert writes() == before


def test_ids_of_another_organisation_in_the_body_are_refused_on_their_field(
    api_for, world, rita, calendar
):
    client = api_for("paul")
    before = writes()
    error = problem(client.post(VISITS, visit_body(world, world.other_patient)), 422)
    assert field_messages(error, "patient")
    error = problem(client.post(VISITS, visit_body(world, rita, clinic=world.other_clinic.pk)), 422)
    assert field_messages(error, "clinic") == ["No clinic with this id in your organisation."]
    assert writes() == before


def test_a_second_baseline_of_a_course_is_refused(api_for, world, rita, rita_course, baseline):
    client = api_for("paul")
    before = writes()
    error = problem(
        client.post(
            VISITS,
            visit_body(
                world, rita, point="baseline", measured_on="2026-01-05", course=rita_course.pk
            ),
        ),
        422,
    )
    assert "already has a baseline" in field_messages(error, "point")[0]
    assert writes() == before


def test_a_body_that_is_not_json_is_refused(api_for, world, rita):
    response = api_for("paul").post(VISITS, body=b"{not json", content_type="application/json")
    assert field_messages(problem(response, 400), "body")


# --- Corrections ----------------------------------------------------------------------------


def test_a_correction_changes_only_the_fields_sent(api_for, world, rita, rita_course, baseline):
    recorded, _photo = baseline
    client = api_for("alice")
    response = client.patch(f"{VISITS}/{recorded.pk}", {"notes": "Parting re-checked."})
    assert response.status_code == 200, response.content
    data = body_of(response)
    assert data["notes"] == "Parting re-checked." and data["version"] == 2
    assert data["point"] == "baseline" and data["course_id"] == rita_course.pk
    assert {m["measure"]: m["value"] for m in data["measurements"]} == {
        "density_per_cm2": 150,
        "shaft_width_um": 60,
    }
    # Measurements, when sent, replace the set.
    data = body_of(
        client.patch(
            f"{VISITS}/{recorded.pk}",
            {"version": 2, "measurements": [{"measure": "density_per_cm2", "value": 155}]},
        )
    )
    assert {m["measure"]: m["value"] for m in data["measurements"]} == {"density_per_cm2": 155}
    assert data["notes"] == "Parting re-checked." and data["version"] == 3
    event = AuditEvent.objects.filter(action="outcome_visit.update").latest("pk")
    assert event.changes["measurement.density_per_cm2"]["old"]["value"] == 150
    assert event.changes["measurement.shaft_width_um"]["new"] is None


def test_a_stale_version_is_a_409_and_changes_nothing(api_for, world, rita, baseline):
    recorded, _photo = baseline
    client = api_for("paul")
    assert client.patch(f"{VISITS}/{recorded.pk}", {"version": 1, "notes": "A"}).status_code == 200
    before = writes()
    error = problem(client.patch(f"{VISITS}/{recorded.pk}", {"version": 1, "notes": "B"}), 409)
    assert field_messages(error, "version")
    assert writes() == before
    recorded.refresh_from_db()
    assert (recorded.notes, recorded.version) == ("A", 2)


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"point": None}, "point"),
        ({"measurements": None}, "measurements"),
        ({"measured_on": "2027-01-01"}, "measured_on"),
        ({"measurements": [{"measure": "shaft_width_um", "value": 201}]}, "measurements.0.value"),
        ({"clinic": 999_999}, "clinic"),
        ({"version": "1"}, "version"),
    ],
)
def test_a_bad_correction_is_refused_on_its_field(api_for, world, rita, baseline, payload, field):
    recorded, _photo = baseline
    client = api_for("paul")
    before = writes()
    error = problem(client.patch(f"{VISITS}/{recorded.pk}", payload), 422)
    assert field_messages(error, field), error
    assert writes() == before


def test_a_number_read_by_the_analysis_keeps_its_photo_while_still_so_measured(
    api_for, world, rita, baseline
):
    recorded, photo = baseline
    outcome_visit_update(
        visit=recorded,
        data=VisitInput(
            point="baseline",
            measured_on=BASELINE_DAY,
            clinic=world.acme_city,
            course=recorded.course,
            measurements=(
                MeasurementInput("density_per_cm2", 168, method="trichoscopy_auto", photo=photo),
            ),
        ),
        expected_version=None,
        acting_user=world.paul,
    )
    client = api_for("paul")
    url = f"{VISITS}/{recorded.pk}"

    def photos_of(data):
        return {m["measure"]: m["photo_id"] for m in data["measurements"]}

    auto = {"measure": "density_per_cm2", "value": 170, "method": "trichoscopy_auto"}
    data = body_of(
        client.patch(url, {"measurements": [auto, {"measure": "shaft_width_um", "value": 50}]})
    )
    assert photos_of(data) == {"density_per_cm2": photo.pk, "shaft_width_um": None}
    assert photos_of(body_of(client.patch(url, {"notes": "Checked."}))) == photos_of(data)
    counted = {**auto, "method": "trichoscopy_manual"}
    data = body_of(client.patch(url, {"measurements": [counted]}))
    assert photos_of(data) == {"density_per_cm2": None}


def test_a_course_can_be_unset_by_sending_null(api_for, world, rita, rita_course):
    later = visit(world, rita, point="other", day=dt.date(2026, 3, 1), course=rita_course)
    data = body_of(api_for("paul").patch(f"{VISITS}/{later.pk}", {"course": None}))
    assert data["course_id"] is None and data["point"] == "other"


# --- Photos ---------------------------------------------------------------------------------


def test_a_photo_is_uploaded_listed_and_served_to_staff_only(api_for, world, rita, baseline):
    recorded, _first = baseline
    client = api_for("paul")
    response = upload(
        client,
        recorded.pk,
        jpeg(120, 80),
        view="trichoscopy",
        caption="Landmark close-up",
        um_per_px="2.5",
    )
    assert response.status_code == 201, response.content
    photo = body_of(response)
    assert (photo["visit_id"], photo["patient_id"], photo["view"]) == (
        recorded.pk,
        rita.pk,
        "trichoscopy",
    )
    assert (photo["width_px"], photo["height_px"], photo["um_per_px"]) == (120, 80, 2.5)
    assert photo["caption"] == "Landmark close-up" and len(photo["sha256"]) == 64
    assert photo["url"] == f"{PHOTOS}/{photo['id']}/image?variant=full"

    image = api_for("fiona").get(photo["url"])
    assert image.status_code == 200
    assert image["Content-Type"] == "image/jpeg"
    assert "no-store" in image["Cache-Control"]
    assert b"".join(image.streaming_content).startswith(b"\xff\xd8")
    assert AuditEvent.objects.filter(action="photo.read", actor=world.fiona).count() == 1
    thumb = api_for("fiona").get(photo["thumbnail_url"])
    assert thumb.status_code == 200
    problem(api_for("fiona").get(f"{PHOTOS}/{photo['id']}/image", {"variant": "raw"}), 422)
    problem(api_for("oscar").get(photo["url"]), 404)
    problem(api_for("anonymous").get(photo["url"]), 401)

    listed = body_of(client.get(PHOTOS, {"patient": rita.pk}))
    assert listed["count"] == 2
    assert {p["view"] for p in listed["items"]} == {"vertex", "trichoscopy"}
    assert body_of(client.get(f"{PHOTOS}/{photo['id']}")) == photo
    assert field_messages(problem(client.get(PHOTOS), 422), "visit")
    # A form's blank calibration is no calibration.
    blank = body_of(upload(client, recorded.pk, um_per_px="", caption=""))
    assert blank["um_per_px"] is None and blank["caption"] == ""


@pytest.mark.parametrize(
    ("fields", "field", "message"),
    [
        ({"view": "selfie"}, "view", "Use one of vertex"),
        ({"um_per_px": "0"}, "um_per_px", ""),
        ({"um_per_px": "101"}, "um_per_px", ""),
        ({"visit": "999999"}, "visit", "No visit with this id"),
        ({"file": None}, "file", "This field is required."),
    ],
)
def test_a_bad_upload_is_refused_on_its_field(api_for, baseline, fields, field, message):
    recorded, _photo = baseline
    client = api_for("paul")
    before = writes()
    error = problem(upload(client, recorded.pk, **fields), 422)
    assert field_messages(error, field), error
    assert message in field_messages(error, field)[0]
    assert writes() == before


def test_a_file_that_is_not_an_image_is_refused(api_for, baseline):
    recorded, _photo = baseline
    client = api_for("paul")
    before = writes()
    error = problem(upload(client, recorded.pk, b"%PDF-1.4 not a photo"), 422)
    assert field_messages(error, "file") == ["This file is not a photo (JPEG or PNG)."]
    assert writes() == before


def test_a_file_over_the_size_limit_is_refused(api_for, baseline, settings):
    settings.PHOTO_MAX_MB = 1
    recorded, _photo = baseline
    client = api_for("paul")
    before = writes()
    too_big = b"\xff\xd8\xff\xe0" + b"\0" * 1_100_000
    error = problem(upload(client, recorded.pk, too_big), 422)
    assert field_messages(error, "file") == ["The photo is larger than 1 MB."]
    assert writes() == before


def test_a_photo_is_removed_with_a_reason(api_for, world, rita, baseline):
    _visit, photo = baseline
    client = api_for("paul")
    before = writes()
    error = problem(remove(client, photo.pk, reason="oops"), 422)
    assert field_messages(error, "reason")
    assert writes() == before
    response = remove(client, photo.pk)
    assert response.status_code == 204 and response.content == b""
    assert not OutcomePhoto.objects.filter(pk=photo.pk).exists()
    event = AuditEvent.objects.get(action="outcome_photo.remove", patient=rita)
    assert event.changes["reason"]["new"] == "Another patient's scalp"
    problem(client.get(f"{PHOTOS}/{photo.pk}"), 404)


# --- Progress -------------------------------------------------------------------------------


def test_the_progress_gives_each_number_its_change_from_baseline(
    api_for, world, rita, rita_course, baseline
):
    review = visit(
        world,
        rita,
        point="month_6",
        day=dt.date(2026, 7, 6),
        course=rita_course,
        density_per_cm2=165,
        self_assessment=2,
    )
    data = body_of(api_for("fiona").get(progress_url(rita.pk)))
    assert data["patient"]["id"] == rita.pk
    by_code = {m["code"]: m for m in data["measures"]}
    assert list(by_code) == ["density_per_cm2", "shaft_width_um", "self_assessment"]
    density = by_code["density_per_cm2"]
    assert density["unit"] == "hairs/cm2"
    first, second = density["points"]
    assert (first["is_baseline"], first["change"], first["change_percent"]) == (True, 0, 0)
    assert second == {
        "visit": review.pk,
        "date": "2026-07-06",
        "point": "month_6",
        "value": 165,
        "method": "trichoscopy_manual",
        "device": "",
        "change": 15,
        "change_percent": 10.0,
        "is_baseline": False,
    }
    # A -3..+3 assessment already compares with baseline: no change of its own.
    assert by_code["self_assessment"]["points"][0]["change"] is None
    assert [v["id"] for v in data["visits"]] == [baseline[0].pk, review.pk]
    assert [p["view"] for p in data["visits"][0]["photos"]] == ["vertex"]
    assert data["session_dates"] == []


def test_the_progress_costs_the_same_queries_with_1_and_5_visits(
    api_for, world, rita, rita_course, baseline
):
    client = api_for("paul")
    url = progress_url(rita.pk)
    client.get(url)  # warm up: the token's last-used time is written once

    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            assert client.get(url).status_code == 200
        return len(captured.captured_queries)

    with_1 = queries()
    for month in (2, 3, 4, 5):
        later = visit(
            world,
            rita,
            point="other",
            day=dt.date(2026, month, 1),
            course=rita_course,
            density_per_cm2=150 + month,
            shaft_width_um=60,
        )
        outcome_photo_add(
            visit=later,
            view="vertex",
            photo=prepare_photo(jpeg(), max_bytes=10**7),
            acting_user=world.paul,
        )
    with_5 = queries()
    assert with_1 == with_5
    assert len(body_of(client.get(url))["visits"]) == 5


# --- Cohorts --------------------------------------------------------------------------------


@pytest.fixture
def three_on_hair(world, calendar):
    """Three courses of hair mesotherapy, density at baseline and at 6 months:
    150 -> 165 (+15, +10 %), 200 -> 210 (+10, +5 %), 100 -> 120 (+20, +20 %)."""
    return [
        patient_on(world, calendar.hair, "Ann", baseline=150, month_6=165),
        patient_on(world, calendar.hair, "Bea", baseline=200, month_6=210),
        patient_on(world, calendar.hair, "Cat", baseline=100, month_6=120),
    ]


def _at(result: dict[str, Any], point: str) -> dict[str, Any]:
    return next(p for p in result["points"] if p["point"] == point)


def test_the_cohort_numbers_match_a_hand_computed_example(api_for, calendar, three_on_hair):
    hair = calendar.hair.protocol_id
    data = body_of(api_for("audrey").get(COHORT, {"protocol": hair, "threshold_percent": 10}))
    assert data["observational"] is True
    assert "not a trial" in data["note"]
    assert data["measure"]["code"] == "density_per_cm2"
    first = data["cohort"]
    assert first["protocol_id"] == hair
    assert first["counts"] == {
        "patients": 3,
        "courses": 3,
        "started": 0,  # course rows without a session done (the factory books none)
        "patients_started": 0,
        "completed": 0,
        "dropped_out": 0,
        "active": 3,
        "not_started": 3,
        "with_baseline": 3,
    }
    month_6 = _at(first, "month_6")
    assert month_6["n"] == 3
    # Means: baseline (150 + 200 + 100) / 3 = 150, follow-up (165 + 210 + 120) / 3 = 165,
    # change (15 + 10 + 20) / 3 = 15; percent (10 + 5 + 20) / 3 = 11.67.
    assert month_6["mean_baseline"] == pytest.approx(150)
    assert month_6["mean_follow_up"] == pytest.approx(165)
    assert month_6["mean_change"] == pytest.approx(15)
    assert month_6["mean_percent_change"] == pytest.approx(35 / 3)
    # sd of the changes is 5 (deviations 0, -5, +5: (0 + 25 + 25) / 2 = 25); the 95 % paired
    # t interval is 15 +- t(0.975, 2) * 5 / sqrt(3) = 15 +- 4.3027 * 2.8868 = 2.58 to 27.42.
    low, high = month_6["interval"]
    assert low < 15 < high
    assert (low, high) == pytest.approx((2.579, 27.421), abs=1e-3)
    # Responders at +10 % or more: Ann (exactly 10 %) and Cat (20 %), not Bea (5 %).
    responders = month_6["responders"]
    assert (responders["responders"], responders["n"]) == (2, 3)
    assert responders["proportion"] == pytest.approx(2 / 3)
    r_low, r_high = responders["interval"]
    assert r_low < 2 / 3 < r_high
    # No course reached the other points: counts only, nothing to average.
    empty = _at(first, "month_12")
    assert empty["n"] == 0 and empty["mean_change"] is None and empty["interval"] is None
    assert data["compared_with"] is None and data["comparison"] is None


def test_two_protocols_are_compared_point_by_point(api_for, world, calendar, three_on_hair):
    # PRP: 100 -> 100 (0, 0 %) and 120 -> 126 (+6, +5 %): mean change 3, no responder.
    patient_on(world, calendar.prp, "Dee", baseline=100, month_6=100)
    patient_on(world, calendar.prp, "Eve", baseline=120, month_6=126)
    data = body_of(
        api_for("paul").get(
            COHORT,
            {"protocol": calendar.hair.protocol_id, "compare_with": calendar.prp.protocol_id},
        )
    )
    assert data["compared_with"]["counts"]["patients"] == 2
    assert _at(data["compared_with"], "month_6")["mean_change"] == pytest.approx(3)
    row = next(r for r in data["comparison"] if r["point"] == "month_6")
    # 15 - 3 = 12 hairs/cm2; 2/3 - 0/2 of responders.
    assert row["change_difference"]["estimate"] == pytest.approx(12)
    low, high = row["change_difference"]["interval"]
    assert low < 12 < high
    assert row["responder_difference"]["estimate"] == pytest.approx(2 / 3)
    low, high = row["responder_difference"]["interval"]
    assert low < 2 / 3 < high
    untouched = next(r for r in data["comparison"] if r["point"] == "month_12")
    assert untouched["change_difference"] is None


def test_a_cohort_of_one_patient_has_counts_and_no_intervals(api_for, world, calendar):
    patient_on(world, calendar.prp, "Fay", baseline=100, month_6=112)
    data = body_of(api_for("alice").get(COHORT, {"protocol": calendar.prp.protocol_id}))
    assert data["cohort"]["counts"]["patients"] == 1
    month_6 = _at(data["cohort"], "month_6")
    assert month_6["n"] == 1 and month_6["mean_change"] == pytest.approx(12)
    assert month_6["interval"] is None and month_6["percent_change_interval"] is None
    assert month_6["responders"]["responders"] == 1
    assert month_6["responders"]["interval"] is None


def test_the_cohort_filters_by_sex_and_stage(api_for, world, calendar):
    patient_on(
        world, calendar.hair, "Gus", baseline=100, month_6=110, sex="male", stage=("norwood", "III")
    )
    patient_on(world, calendar.hair, "Hal", baseline=100, month_6=130, sex="male")
    patient_on(world, calendar.hair, "Ida", baseline=100, month_6=150)
    client = api_for("paul")

    def changes(**params):
        return _at(body_of(client.get(COHORT, params))["cohort"], "month_6")["mean_change"]

    assert changes(sex="male") == pytest.approx(20)
    assert changes(stage="norwood:III") == pytest.approx(10)
    assert changes(started_from="2026-02-01") is None


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"measure": "satisfaction"}, "measure"),
        ({"measure": "hair_colour"}, "measure"),
        ({"threshold_percent": 0}, "threshold_percent"),
        ({"sex": "other"}, "sex"),
        ({"stage": "ludwig:IX"}, "stage"),
        ({"started_from": "2026-06-01", "started_to": "2026-01-01"}, "started_to"),
        ({"started_from": "1800-01-01"}, "started_from"),
        ({"protocol": 999_999}, "protocol"),
        ({"compare_with": "PRP"}, "compare_with"),
        ({"practitioner": 999_999}, "practitioner"),
    ],
)
def test_a_bad_cohort_filter_is_refused_on_its_field(api_for, calendar, params, field):
    error = problem(api_for("paul").get(COHORT, params), 422)
    assert field_messages(error, field), error
    assert not AuditEvent.objects.filter(action="outcomes.cohort_read").exists()


def test_a_comparison_needs_two_different_protocols(api_for, world, calendar):
    client = api_for("paul")
    hair, prp = calendar.hair.protocol_id, calendar.prp.protocol_id
    assert field_messages(problem(client.get(COHORT, {"compare_with": prp}), 422), "protocol")
    error = problem(client.get(COHORT, {"protocol": hair, "compare_with": hair}), 422)
    assert field_messages(error, "compare_with")
    # Another organisation's protocol is not Oscar's to filter by.
    error = problem(api_for("oscar").get(COHORT, {"protocol": hair}), 422)
    assert field_messages(error, "protocol")
    # A practitioner of the organisation filters; the front desk is not a practitioner.
    assert client.get(COHORT, {"practitioner": world.paul.pk}).status_code == 200
    assert field_messages(
        problem(client.get(COHORT, {"practitioner": world.fiona.pk}), 422), "practitioner"
    )
