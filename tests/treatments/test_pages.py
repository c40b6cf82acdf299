"""The session chart pages: start a chart from the appointment, chart and sign it on the
page, amend it, add and remove photos, read the aftercare sheet (HTML and PDF).

Who may do what (every persona), the audit event each read writes, bad input explained on
the field at fault with nothing written, and query counts that do not grow with the
number of sessions or charted lines.

The clock is Wednesday 2 December 2026, 09:30 in London, half an hour into the first
session of Rita's hair course (``todays_appointment``, with Paul at Acme City). Acme City
holds Hair cocktail lots HC-2401 (20 mL) and HC-2402 (5 mL).
"""

from __future__ import annotations

import datetime as dt
import io
from collections.abc import Iterator
from contextlib import contextmanager
from decimal import Decimal
from typing import Any

import pytest
from django.contrib.messages import get_messages
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from PIL import Image

from mesoclinic.core.models import AuditEvent
from mesoclinic.scheduling.models import Appointment, AppointmentStatus
from mesoclinic.treatments.images import prepare_photo
from mesoclinic.treatments.models import SessionPhoto, SessionStatus, TreatmentSession
from mesoclinic.treatments.services import (
    photo_add,
    session_open,
    session_sign,
    session_update,
)
from tests.patients.helpers import (
    assert_login_redirect,
    field_errors,
    last_event_id,
    new_events,
    page_text,
)
from tests.treatments.conftest import CHART_ZONES, course_appointment, make_content
from tests.treatments.test_images import jpeg_with_exif
from tests.treatments.test_services import _state as chart_state
from tests.treatments.test_services import lines_of, stock

D = Decimal
LIMIT = 15_000_000
SIGNED_OUT = ["anonymous", "dora"]
READ_ONLY = ["audrey", "fiona"]  # the auditor, and the front desk (no clinical writes)
CLINICIANS = ["paul", "alice"]
ALL_NINE = (
    ("frontal_hairline", D("0.2")),
    ("frontal", D("0.2")),
    ("mid_scalp", D("0.2")),
    ("vertex", D("0.2")),
    ("temporal_left", D("0.2")),
    ("temporal_right", D("0.2")),
    ("parietal_left", D("0.2")),
    ("parietal_right", D("0.2")),
    ("occipital", D("0.2")),
)


# --- Helpers ----------------------------------------------------------------------------------


def _state(*, reads: bool) -> dict[str, Any]:
    state = chart_state()
    # Signing a test client in is audited; that is not the page writing.
    events = AuditEvent.objects.exclude(action__startswith="auth.")
    state["events"] = (events.exclude(action__endswith=".read") if reads else events).count()
    state["photos"] = list(SessionPhoto.objects.order_by("pk").values())
    return state


@contextmanager
def nothing_written(*, reads: bool = False) -> Iterator[None]:
    """Assert the block changes no chart, line, stock, movement, appointment, course
    session, aftercare sheet, message, photo or audit event (``reads``: except the audit
    events of reads)."""
    before = _state(reads=reads)
    yield
    after = _state(reads=reads)
    for key, value in before.items():
        assert after[key] == value, f"{key} changed"


def chart_data(
    lot: Any,
    *,
    zones: tuple[tuple[str, Decimal], ...] = CHART_ZONES,
    action: str = "save",
    **overrides: Any,
) -> dict[str, Any]:
    """A chart form submission: ``zones`` (code, mL) by nappage 2 mm deep with a 4 mm 30 G
    needle from ``lot``; ``None`` leaves a field out."""
    data: dict[str, Any] = {
        "zones": [code for code, _volume in zones],
        "skin_preparation": "chlorhexidine",
        "anaesthesia": "none",
        "anaesthesia_product": "",
        "anaesthesia_note": "",
        "pain_score": "3",
        "reactions_note": "",
        "notes": "Routine",
        "action": action,
    }
    for code, volume in zones:
        data |= {
            f"{code}-technique": "nappage",
            f"{code}-depth_mm": "2",
            f"{code}-needle_gauge": "30",
            f"{code}-needle_length_mm": "4",
            f"{code}-points": "",
            f"{code}-volume_ml": str(volume),
            f"{code}-lot": str(lot.pk),
        }
    data.update(overrides)
    return {key: value for key, value in data.items() if value is not None}


def jpeg_upload(name: str = "crown.jpg") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, jpeg_with_exif(size=(600, 400)), content_type="image/jpeg")


def photo_data(image: SimpleUploadedFile | None = None, **overrides: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "moment": "before",
        "image": image or jpeg_upload(),
        "caption": "Crown",
    }
    data.update(overrides)
    return data


def messages_of(response: Any) -> list[str]:
    return [str(m) for m in get_messages(response.wsgi_request)]


def body(response: Any) -> bytes:
    if response.streaming:
        return b"".join(response.streaming_content)
    return bytes(response.content)


def session_url(name: str, session: TreatmentSession) -> str:
    return reverse(name, args=[session.pk])


def photo_url(photo: SessionPhoto, variant: str = "full") -> str:
    return reverse("session_photo_file", args=[photo.pk, variant])


def actions_of(since: int) -> list[str]:
    return [e.action for e in new_events(since) if not e.action.startswith("auth.")]


def _pdf_available() -> str | None:
    """None when WeasyPrint can write a PDF here, otherwise why not."""
    try:
        import weasyprint

        weasyprint.HTML(string="<p>x</p>").write_pdf()
    except (ImportError, OSError) as error:
        return f"WeasyPrint cannot write PDFs here (Pango missing? run `make chromium`): {error}"
    return None


def queries_for(client: Client, url: str) -> int:
    with CaptureQueriesContext(connection) as captured:
        response = client.get(url)
    assert response.status_code == 200, url
    return len(captured)


# --- Fixtures ---------------------------------------------------------------------------------


@pytest.fixture
def draft(world, stocked, todays_appointment) -> TreatmentSession:
    """Rita's first visit, charted by Paul (the routine three zones from HC-2401), unsigned."""
    session = session_open(appointment=todays_appointment, acting_user=world.paul)
    return session_update(session=session, content=make_content(stocked), acting_user=world.paul)


@pytest.fixture
def photo(world, draft) -> SessionPhoto:
    """A "before" photo on the draft."""
    return photo_add(
        session=draft,
        moment="before",
        photo=prepare_photo(jpeg_with_exif(), max_bytes=LIMIT),
        caption="Crown",
        acting_user=world.paul,
    )


@pytest.fixture
def signed(world, draft, photo) -> TreatmentSession:
    """The draft with its photo, signed by Paul (stock taken, aftercare sheet written)."""
    return session_sign(session=draft, acting_user=world.paul)


def every_url(
    appointment: Appointment, session: TreatmentSession, photo: SessionPhoto, stocked: Any
) -> list[tuple[str, str, dict[str, Any] | None]]:
    """(method, url, data) for every page and action."""
    return [
        ("get", session_url("session_detail", session), None),
        ("get", session_url("session_aftercare", session), None),
        ("get", session_url("session_aftercare_pdf", session), None),
        ("get", photo_url(photo, "full"), None),
        ("get", photo_url(photo, "thumb"), None),
        ("get", session_url("session_amend", session), None),
        ("post", reverse("session_start", args=[appointment.pk]), {}),
        ("post", session_url("session_detail", session), chart_data(stocked.lot_a)),
        (
            "post",
            session_url("session_amend", session),
            chart_data(stocked.lot_a, reason="Volume misread"),
        ),
        ("post", session_url("session_photo_add", session), photo_data()),
        ("post", reverse("session_photo_remove", args=[photo.pk]), {}),
    ]


def write_urls(
    appointment: Appointment, session: TreatmentSession, photo: SessionPhoto, stocked: Any
) -> list[tuple[str, str, dict[str, Any] | None]]:
    """What only a practitioner or an admin may do."""
    return [
        ("post", reverse("session_start", args=[appointment.pk]), {}),
        ("post", session_url("session_detail", session), chart_data(stocked.lot_a)),
        ("get", session_url("session_amend", session), None),
        (
            "post",
            session_url("session_amend", session),
            chart_data(stocked.lot_a, reason="Volume misread"),
        ),
        ("post", session_url("session_photo_add", session), photo_data()),
        ("post", reverse("session_photo_remove", args=[photo.pk]), {}),
    ]


def call(client: Client, method: str, url: str, data: dict[str, Any] | None) -> Any:
    if method == "get":
        return client.get(url)
    return client.post(url, data or {})


# --- Who may do what --------------------------------------------------------------------------


@pytest.mark.parametrize("persona", SIGNED_OUT)
def test_signed_out_people_are_sent_to_sign_in(
    client_for, todays_appointment, signed, photo, stocked, persona
):
    client = client_for(persona)
    with nothing_written():
        for method, url, data in every_url(todays_appointment, signed, photo, stocked):
            assert_login_redirect(call(client, method, url, data), url)


def test_a_patients_portal_account_gets_403(client_for, todays_appointment, signed, photo, stocked):
    client = client_for("pat")
    with nothing_written():
        for method, url, data in every_url(todays_appointment, signed, photo, stocked):
            assert call(client, method, url, data).status_code == 403, (method, url)


def test_another_organisation_gets_404_for_every_acme_id(
    client_for, todays_appointment, signed, photo, stocked
):
    client = client_for("oscar")
    with nothing_written():
        for method, url, data in every_url(todays_appointment, signed, photo, stocked):
            assert call(client, method, url, data).status_code == 404, (method, url)


@pytest.mark.parametrize("persona", READ_ONLY)
def test_the_auditor_and_the_front_desk_read_the_chart_and_its_photos(
    client_for, signed, photo, persona
):
    client = client_for(persona)
    page = client.get(session_url("session_detail", signed))
    assert page.status_code == 200
    text = page_text(page)
    assert "Rita Ready" in text and "Signed" in text
    # Nothing on the page offers a change they could not make.
    assert session_url("session_amend", signed) not in page.content.decode()
    assert reverse("session_photo_remove", args=[photo.pk]) not in page.content.decode()
    aftercare = client.get(session_url("session_aftercare", signed))
    assert aftercare.status_code == 200
    for variant in ("full", "thumb"):
        response = client.get(photo_url(photo, variant))
        assert response.status_code == 200, variant
        assert response["Content-Type"] == "image/jpeg"
        assert body(response)[:2] == b"\xff\xd8"


@pytest.mark.parametrize("persona", READ_ONLY)
def test_the_auditor_and_the_front_desk_read_a_draft_without_its_form(
    client_for, draft, photo, persona
):
    page = client_for(persona).get(session_url("session_detail", draft))
    assert page.status_code == 200
    content = page.content.decode()
    assert "Draft" in page_text(page)
    assert "Sign and send aftercare" not in content
    assert session_url("session_photo_add", draft) not in content


@pytest.mark.parametrize("persona", READ_ONLY)
def test_the_auditor_and_the_front_desk_get_403_on_every_clinical_write(
    client_for, world, todays_appointment, draft, photo, stocked, persona
):
    client = client_for(persona)
    with nothing_written():
        for method, url, data in write_urls(todays_appointment, draft, photo, stocked):
            assert call(client, method, url, data).status_code == 403, (method, url)
    # And once signed (the amendment pages).
    signed_session = session_sign(session=draft, acting_user=world.paul)
    with nothing_written():
        for method, url, data in write_urls(todays_appointment, signed_session, photo, stocked):
            assert call(client, method, url, data).status_code == 403, (method, url)


@pytest.mark.parametrize("persona", CLINICIANS)
def test_practitioners_and_admins_chart_sign_photograph_and_amend(
    client_for, world, stocked, todays_appointment, persona
):
    client = client_for(persona)
    user = world.persona(persona)

    started = client.post(reverse("session_start", args=[todays_appointment.pk]))
    session = TreatmentSession.objects.get(appointment=todays_appointment)
    assert started.status_code == 302
    assert started.url == session_url("session_detail", session)
    assert session.status == SessionStatus.DRAFT and session.created_by == user

    page = client.get(session_url("session_detail", session))
    assert page.status_code == 200
    assert "Sign and send aftercare" in page.content.decode()

    saved = client.post(session_url("session_detail", session), chart_data(stocked.lot_a))
    assert saved.status_code == 302, field_errors(saved, "__all__") or page_text(saved)[:2000]
    assert [line["zone"] for line in lines_of(session)] == [code for code, _v in CHART_ZONES]

    added = client.post(session_url("session_photo_add", session), photo_data())
    assert added.status_code == 302
    photo = SessionPhoto.objects.get(session=session)
    removed = client.post(reverse("session_photo_remove", args=[photo.pk]))
    assert removed.status_code == 302
    assert removed.url == session_url("session_detail", session)
    assert not SessionPhoto.objects.exists()
    client.post(session_url("session_photo_add", session), photo_data(moment="after"))
    photo = SessionPhoto.objects.get(session=session)

    signing = client.post(
        session_url("session_detail", session), chart_data(stocked.lot_a, action="sign")
    )
    assert signing.status_code == 302
    session.refresh_from_db()
    assert session.status == SessionStatus.SIGNED and session.signed_by == user

    assert client.get(session_url("session_aftercare", session)).status_code == 200
    assert client.get(photo_url(photo, "full")).status_code == 200
    assert client.get(photo_url(photo, "thumb")).status_code == 200
    assert client.get(session_url("session_amend", session)).status_code == 200
    amended = client.post(
        session_url("session_amend", session),
        chart_data(stocked.lot_a, reason="Vertex volume misread"),
    )
    revision = TreatmentSession.objects.get(supersedes=session)
    assert amended.status_code == 302
    assert amended.url == session_url("session_detail", revision)


def test_unknown_ids_are_404_and_methods_are_checked(client_for, signed, photo):
    client = client_for("paul")
    assert client.get(reverse("session_detail", args=[999_999])).status_code == 404
    assert client.get(reverse("session_aftercare", args=[999_999])).status_code == 404
    assert client.get(reverse("session_photo_file", args=[999_999, "full"])).status_code == 404
    assert client.get(reverse("session_photo_file", args=[photo.pk, "huge"])).status_code == 404
    with nothing_written():
        assert client.get(reverse("session_start", args=[signed.appointment_id])).status_code == 405
        assert client.get(session_url("session_photo_add", signed)).status_code == 405
        assert client.get(reverse("session_photo_remove", args=[photo.pk])).status_code == 405
        assert client.put(session_url("session_detail", signed)).status_code == 405


# --- Reads are audited ------------------------------------------------------------------------


def test_opening_the_session_page_records_one_read(client_for, world, draft):
    since = last_event_id()
    assert client_for("audrey").get(session_url("session_detail", draft)).status_code == 200
    assert actions_of(since) == ["session.read"]
    event = new_events(since, action="session.read")[0]
    assert (event.actor, event.patient, event.object_id) == (
        world.audrey,
        draft.patient,
        str(draft.pk),
    )


@pytest.mark.parametrize("variant", ["full", "thumb"])
def test_opening_a_photo_is_recorded(client_for, world, photo, variant):
    """The full photo writes ``photo.read``; so does a thumbnail, whose URL can be opened
    on its own too."""
    since = last_event_id()
    response = client_for("fiona").get(photo_url(photo, variant))
    assert response.status_code == 200
    assert response["Cache-Control"] == "private, no-store"
    assert actions_of(since) == ["photo.read"]
    event = new_events(since, action="photo.read")[0]
    assert (event.actor, event.patient, event.object_id) == (
        world.fiona,
        photo.patient,
        str(photo.pk),
    )
    assert event.changes["variant"] == {"new": variant}


def test_the_aftercare_page_records_a_read(client_for, world, signed):
    since = last_event_id()
    response = client_for("audrey").get(session_url("session_aftercare", signed))
    assert response.status_code == 200
    assert "Rita" in page_text(response)
    assert actions_of(since) == ["aftercare.read"]
    event = new_events(since, action="aftercare.read")[0]
    assert (event.actor, event.patient) == (world.audrey, signed.patient)


def test_the_aftercare_pdf_records_a_read(client_for, world, signed):
    missing = _pdf_available()
    if missing:
        print(f"SKIPPED: {missing}")
        pytest.skip(missing)
    since = last_event_id()
    response = client_for("paul").get(session_url("session_aftercare_pdf", signed))
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert body(response).startswith(b"%PDF")
    assert signed.patient.mrn in response["Content-Disposition"]
    assert actions_of(since) == ["aftercare.read"]


def test_a_draft_has_no_aftercare_sheet_yet(client_for, draft):
    client = client_for("paul")
    with nothing_written():
        assert client.get(session_url("session_aftercare", draft)).status_code == 404
        assert client.get(session_url("session_aftercare_pdf", draft)).status_code == 404


# --- Charting on the page ---------------------------------------------------------------------


@pytest.fixture
def blank(world, stocked, todays_appointment) -> TreatmentSession:
    """Rita's first visit opened by Paul: a draft with nothing charted yet."""
    return session_open(appointment=todays_appointment, acting_user=world.paul)


def test_saving_a_draft_writes_the_three_zones(client_for, world, stocked, blank):
    assert lines_of(blank) == []
    response = client_for("paul").post(
        session_url("session_detail", blank), chart_data(stocked.lot_a)
    )
    assert response.status_code == 302
    assert response.url == session_url("session_detail", blank)
    assert "Draft saved." in messages_of(response)
    lines = lines_of(blank)
    assert [(line["zone"], line["volume_ml"]) for line in lines] == list(CHART_ZONES)
    assert {line["lot_id"] for line in lines} == {stocked.lot_a.pk}
    assert {line["product_id"] for line in lines} == {stocked.product.pk}
    assert {(line["technique"], line["depth_mm"], line["needle_gauge"]) for line in lines} == {
        ("nappage", D("2.0"), 30)
    }
    blank.refresh_from_db()
    assert blank.status == SessionStatus.DRAFT
    assert (blank.pain_score, blank.notes) == (3, "Routine")
    # Saving takes nothing from stock: only the signature does.
    assert stock(stocked.lot_a) == D("20")
    assert AuditEvent.objects.filter(action="session.update", object_id=str(blank.pk)).count() == 1


def test_a_14_mm_depth_is_shown_on_that_zones_depth_and_nothing_is_written(
    client_for, stocked, draft
):
    data = chart_data(
        stocked.lot_a,
        zones=(("vertex", D("1.5")), *CHART_ZONES[1:]),
        **{"mid_scalp-depth_mm": "14"},
    )
    with nothing_written():
        response = client_for("paul").post(session_url("session_detail", draft), data)
    assert response.status_code == 422
    error = field_errors(response, "mid_scalp-depth_mm")
    assert "14" in error, error
    for code, _volume in CHART_ZONES:
        if code != "mid_scalp":
            assert field_errors(response, f"{code}-depth_mm") == ""
    assert "Some values need correcting" in page_text(response)
    # The form comes back with what was typed.
    assert 'name="mid_scalp-depth_mm" value="14"' in response.content.decode()


def test_signing_on_the_page_signs_and_completes_the_appointment(
    client_for, stocked, draft, todays_appointment
):
    client = client_for("paul")
    response = client.post(
        session_url("session_detail", draft), chart_data(stocked.lot_a, action="sign")
    )
    assert response.status_code == 302
    assert response.url == session_url("session_detail", draft)
    assert any("Signed." in m and "rita@example.com" in m for m in messages_of(response))
    draft.refresh_from_db()
    assert draft.status == SessionStatus.SIGNED
    assert Appointment.objects.get(pk=todays_appointment.pk).status == AppointmentStatus.COMPLETED
    assert stock(stocked.lot_a) == D("17.50")

    page = client.get(session_url("session_detail", draft))
    assert "Sign and send aftercare" not in page.content.decode()
    assert session_url("session_aftercare", draft) in page.content.decode()

    # A second submission (a stale tab, a double click) changes nothing.
    for action in ("save", "sign"):
        with nothing_written():
            again = client.post(
                session_url("session_detail", draft),
                chart_data(stocked.lot_b, zones=(("vertex", D("3")),), action=action),
            )
        assert again.status_code == 302
        assert again.url == session_url("session_detail", draft)
        assert "This session is signed; correct it with an amendment." in messages_of(again)


def test_a_refused_signature_is_shown_and_nothing_is_signed(
    client_for, stocked, draft, todays_appointment
):
    """8 mL of HC-2402 are charted, and it holds only 5 mL: the stock refusal is shown on the
    page and nothing is saved, not even the new lines."""
    before = lines_of(draft)
    with nothing_written():
        response = client_for("paul").post(
            session_url("session_detail", draft),
            chart_data(
                stocked.lot_b, zones=(("vertex", D("4")), ("mid_scalp", D("4"))), action="sign"
            ),
        )
    assert response.status_code == 422
    assert "Only 5" in page_text(response)
    assert lines_of(draft) == before
    assert Appointment.objects.get(pk=todays_appointment.pk).status != AppointmentStatus.COMPLETED


# --- Amending on the page ---------------------------------------------------------------------


def test_an_amendment_without_a_reason_is_refused_with_nothing_changed(client_for, stocked, signed):
    data = chart_data(stocked.lot_a, zones=(("vertex", D("1.5")), *CHART_ZONES[1:]), reason="")
    with nothing_written():
        response = client_for("paul").post(session_url("session_amend", signed), data)
    assert response.status_code == 422
    assert field_errors(response, "reason") != ""
    assert TreatmentSession.objects.count() == 1


def test_an_amendment_with_a_reason_is_a_new_revision_and_the_original_shows_the_history(
    client_for, world, stocked, signed
):
    client = client_for("alice")
    since = last_event_id()
    amend_page = client.get(session_url("session_amend", signed))
    assert amend_page.status_code == 200
    assert actions_of(since) == ["session.read"]
    response = client.post(
        session_url("session_amend", signed),
        chart_data(
            stocked.lot_a,
            zones=(("vertex", D("1.5")), *CHART_ZONES[1:]),
            reason="Vertex volume misread",
        ),
    )
    revision = TreatmentSession.objects.get(supersedes=signed)
    assert response.status_code == 302
    assert response.url == session_url("session_detail", revision)
    assert (revision.revision, revision.status, revision.signed_by) == (
        2,
        SessionStatus.SIGNED,
        world.alice,
    )
    assert revision.amendment_reason == "Vertex volume misread"
    assert lines_of(revision)[0]["volume_ml"] == D("1.50")
    assert stock(stocked.lot_a) == D("17.00")
    signed.refresh_from_db()
    assert signed.superseded_at is not None
    assert lines_of(signed)[0]["volume_ml"] == D("1.00")

    original = " ".join(page_text(client.get(session_url("session_detail", signed))).split())
    assert "superseded by an amendment" in original
    assert "History" in original
    assert "Original" in original and "Amendment 2" in original
    assert "Vertex volume misread" in original
    current = client.get(session_url("session_detail", revision)).content.decode()
    assert "Signed, amendment 2" in current
    assert session_url("session_detail", signed) in current
    # Only the current revision can be amended.
    stale = client.get(session_url("session_amend", signed))
    assert stale.status_code == 302
    assert stale.url == session_url("session_detail", signed)


def test_a_draft_cannot_be_amended(client_for, draft):
    with nothing_written(reads=True):
        response = client_for("paul").get(session_url("session_amend", draft))
    assert response.status_code == 302
    assert response.url == session_url("session_detail", draft)


# --- Photos -----------------------------------------------------------------------------------


def test_a_photo_is_stored_without_its_exif_and_its_thumbnail_is_served(client_for, world, draft):
    client = client_for("paul")
    response = client.post(session_url("session_photo_add", draft), photo_data())
    assert response.status_code == 302
    assert response.url == session_url("session_detail", draft)
    assert "Photo added (location and camera data removed)." in messages_of(response)
    photo = SessionPhoto.objects.get()
    assert (photo.session, photo.patient, photo.moment, photo.caption) == (
        draft,
        draft.patient,
        "before",
        "Crown",
    )
    # Turned upright (the EXIF said "rotate"), then the EXIF was dropped.
    assert (photo.width_px, photo.height_px) == (400, 600)

    thumb = client.get(photo_url(photo, "thumb"))
    assert thumb.status_code == 200
    assert thumb["Content-Type"] == "image/jpeg"
    with Image.open(io.BytesIO(body(thumb))) as image:
        assert image.format == "JPEG"
        assert max(image.size) <= 320

    full = body(client.get(photo_url(photo, "full")))
    assert b"SpyCam" not in full
    assert b"Exif\x00\x00" not in full
    with Image.open(io.BytesIO(full)) as image:
        assert image.format == "JPEG"
        assert len(image.getexif()) == 0
        assert "exif" not in image.info
        assert image.size == (400, 600)

    page = client.get(session_url("session_detail", draft)).content.decode()
    assert photo_url(photo, "thumb") in page
    assert AuditEvent.objects.filter(action="photo.add", object_id=str(photo.pk)).count() == 1


def test_a_text_file_is_not_a_photo(client_for, draft):
    upload = SimpleUploadedFile("notes.jpg", b"Not a photo at all\n", content_type="image/jpeg")
    with nothing_written():
        response = client_for("paul").post(
            session_url("session_photo_add", draft), photo_data(image=upload)
        )
    assert response.status_code == 302
    assert "This file is not a photo (JPEG or PNG)." in messages_of(response)
    assert not SessionPhoto.objects.exists()


def test_photos_cannot_be_added_to_a_signed_session(client_for, signed):
    client = client_for("paul")
    page = client.get(session_url("session_detail", signed)).content.decode()
    assert session_url("session_photo_add", signed) not in page
    with nothing_written():
        response = client.post(session_url("session_photo_add", signed), photo_data())
    assert response.status_code == 302
    assert "This session is signed; photos can no longer be added." in messages_of(response)


def test_photos_of_a_signed_session_cannot_be_removed(client_for, signed, photo):
    with nothing_written():
        response = client_for("paul").post(reverse("session_photo_remove", args=[photo.pk]))
    assert response.status_code == 302
    assert "This session is signed; its photos cannot be removed." in messages_of(response)


# --- Query counts -----------------------------------------------------------------------------


def test_the_draft_page_runs_as_many_queries_for_nine_lines_as_for_three(
    client_for, world, stocked, draft
):
    client = client_for("paul")
    three = queries_for(client, session_url("session_detail", draft))
    session_update(
        session=draft,
        content=make_content(stocked, zones=ALL_NINE),
        acting_user=world.paul,
    )
    assert len(lines_of(draft)) == 9
    nine = queries_for(client, session_url("session_detail", draft))
    assert nine == three


def _sign_visit(world, stocked, course, position, fixed_clock, zones) -> TreatmentSession:
    appointment = course_appointment(course, position)
    fixed_clock.set(appointment.starts_at + dt.timedelta(minutes=30))
    session = session_open(appointment=appointment, acting_user=world.paul)
    session = session_update(
        session=session, content=make_content(stocked, zones=zones), acting_user=world.paul
    )
    return session_sign(session=session, acting_user=world.paul, send_aftercare=False)


def test_the_signed_page_and_the_sessions_tab_do_not_grow_with_sessions_or_lines(
    client_for, world, stocked, todays_appointment, fixed_clock
):
    client = client_for("paul")
    course = todays_appointment.course_session.course
    patient = todays_appointment.patient
    tab = reverse("patients:chart_tab", args=[patient.pk, "sessions"])

    first = _sign_visit(world, stocked, course, 1, fixed_clock, CHART_ZONES)
    signed_three = queries_for(client, session_url("session_detail", first))
    tab_one = queries_for(client, tab)

    later = [_sign_visit(world, stocked, course, n, fixed_clock, ALL_NINE) for n in range(2, 7)]
    assert TreatmentSession.objects.filter(patient=patient, status="signed").count() == 6
    signed_nine = queries_for(client, session_url("session_detail", later[-1]))
    tab_six = queries_for(client, tab)

    assert signed_nine == signed_three
    assert tab_six == tab_one
    text = page_text(client.get(tab))
    assert text.count("Open") >= 6
