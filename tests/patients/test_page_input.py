"""Bad input on the registration and edit pages: a clear message by the field, nothing saved."""

from __future__ import annotations

import datetime as dt
from urllib.parse import urlencode

import pytest
from django.urls import reverse
from django.utils import timezone

from mesoclinic.core.models import AuditEvent
from mesoclinic.patients.models import Patient
from tests.conftest import make_patient
from tests.patients.helpers import (
    field_errors,
    form_data,
    nothing_written,
    page_text,
    years_ago,
)

FUTURE = (timezone.localdate() + dt.timedelta(days=2)).isoformat()
LONG_AGO = years_ago(200).isoformat()

BAD_FORM_INPUT = [
    # (field, value, part of the message shown under the field)
    ("given_name", "", "Given name is required."),
    ("given_name", "    ", "Given name is required."),
    ("family_name", "\t \n", "Family name is required."),
    ("given_name", None, "Given name is required."),
    ("family_name", None, "Family name is required."),
    ("date_of_birth", None, "Date of birth is required."),
    ("sex_at_birth", None, "Sex at birth is required."),
    ("given_name", "x" * 10_000, "Given name is too long: 10000 characters, at most 100."),
    ("family_name", "y" * 101, "Family name is too long: 101 characters, at most 100."),
    ("family_name", "y" * 10_001, "at most 10000 characters"),
    ("given_name", "Ana\x00", "Null characters are not allowed."),
    ("family_name", "Sil\x07va", "Family name contains control characters."),
    ("date_of_birth", FUTURE, "Date of birth cannot be in the future."),
    ("date_of_birth", LONG_AGO, "Date of birth is more than 130 years ago; check the year."),
    ("date_of_birth", "yesterday", "Enter a valid date."),
    ("date_of_birth", "1990-02-30", "Enter a valid date."),
    ("sex_at_birth", "robot", "Select a valid choice."),
    ("email", "not-an-email", "Enter a valid email address"),
    ("email", "ana@", "Enter a valid email address"),
    ("phone", "call me maybe", "Enter a phone number of 6 to 15 digits"),
    ("phone", "0770 abc 123", "Enter a phone number of 6 to 15 digits"),
    ("phone", "12345", "Enter a phone number of 6 to 15 digits"),
    ("phone", "1234567890123456", "Enter a phone number of 6 to 15 digits"),
    ("address", "x" * 501, "Address is too long: at most 500 characters."),
    ("preferred_clinic", "999999", "Select a valid choice."),
    ("preferred_clinic", "x", "Select a valid choice."),
]


def _case_id(case):
    field, value, _message = case
    shown = "missing" if value is None else repr(value)[:20]
    return f"{field}={shown}"


@pytest.mark.parametrize(
    ("field", "value", "message"), BAD_FORM_INPUT, ids=[_case_id(c) for c in BAD_FORM_INPUT]
)
def test_registration_refuses_bad_input_with_a_message_by_the_field(
    client_for, field, value, message
):
    client = client_for("fiona")
    with nothing_written():
        response = client.post(reverse("patients:new"), form_data(**{field: value}))
    assert response.status_code == 422
    assert message in field_errors(response, field)
    assert "Please correct the fields marked below." in page_text(response)
    # The other fields keep what was typed.
    if field != "family_name":
        assert 'value="Doe"' in response.content.decode()


@pytest.mark.parametrize(
    ("field", "value", "message"), BAD_FORM_INPUT, ids=[_case_id(c) for c in BAD_FORM_INPUT]
)
def test_editing_refuses_bad_input_and_leaves_the_record_unchanged(
    client_for, world, field, value, message
):
    client = client_for("paul")
    url = reverse("patients:edit", args=[world.acme_patient.pk])
    with nothing_written():
        response = client.post(url, form_data(**{field: value}))
    assert response.status_code == 422
    assert message in field_errors(response, field)


def test_a_clinic_of_another_organisation_cannot_be_chosen(client_for, world):
    client = client_for("fiona")
    with nothing_written():
        response = client.post(
            reverse("patients:new"), form_data(preferred_clinic=world.other_clinic.pk)
        )
    assert response.status_code == 422
    assert "Select a valid choice." in field_errors(response, "preferred_clinic")


def test_an_inactive_clinic_cannot_be_chosen(client_for, world):
    world.acme_river.is_active = False
    world.acme_river.save()
    client = client_for("fiona")
    with nothing_written():
        response = client.post(
            reverse("patients:new"), form_data(preferred_clinic=world.acme_river.pk)
        )
    assert "Select a valid choice." in field_errors(response, "preferred_clinic")


@pytest.mark.parametrize("field", ["given_name", "family_name", "email", "phone", "address"])
@pytest.mark.parametrize("encoding", ["percent", "raw"])
def test_registration_refuses_text_that_is_not_utf8(client_for, field, encoding):
    data = form_data(**{field: "PLACEHOLDER"})
    body = urlencode(data).encode()
    bad = b"%FF%FEAna" if encoding == "percent" else b"\xff\xfeAna"
    body = body.replace(b"PLACEHOLDER", bad)
    client = client_for("fiona")
    with nothing_written():
        response = client.post(
            reverse("patients:new"), data=body, content_type="application/x-www-form-urlencoded"
        )
    assert response.status_code == 422
    if encoding == "percent":
        # Each field says which one could not be read.
        assert "could not be read; send text as UTF-8" in field_errors(response, field)
    else:
        # Raw bytes are not form encoding at all: the whole form is refused.
        assert "The form was not sent as UTF-8 text" in page_text(response)


def test_registration_refuses_non_utf8_bytes_in_a_multipart_form(client_for):
    boundary = "BoUnDaRy"
    parts = []
    for name, value in form_data().items():
        raw = b"\xff\xfeAna" if name == "given_name" else str(value).encode()
        parts.append(
            f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n'.encode()
            + raw
            + b"\r\n"
        )
    body = b"".join(parts) + f"--{boundary}--\r\n".encode()
    client = client_for("fiona")
    with nothing_written():
        response = client.post(
            reverse("patients:new"),
            data=body,
            content_type=f"multipart/form-data; boundary={boundary}",
        )
    assert response.status_code == 422
    assert "Given name contains characters that could not be read" in field_errors(
        response, "given_name"
    )


@pytest.mark.parametrize(
    ("sent", "message"),
    [
        (b"Silv%E3", "Family name contains characters that could not be read"),
        (b"Silv\xe3", "The form was not sent as UTF-8 text"),
    ],
)
def test_editing_refuses_text_that_is_not_utf8(client_for, world, sent, message):
    body = urlencode(form_data(family_name="PLACEHOLDER")).encode()
    body = body.replace(b"PLACEHOLDER", sent)  # Latin-1 "ã", not UTF-8
    client = client_for("paul")
    with nothing_written():
        response = client.post(
            reverse("patients:edit", args=[world.acme_patient.pk]),
            data=body,
            content_type="application/x-www-form-urlencoded",
        )
    assert response.status_code == 422
    assert message in page_text(response)


def test_fields_the_form_does_not_have_cannot_set_the_record_number_or_organisation(
    client_for, world
):
    response = client_for("fiona").post(
        reverse("patients:new"),
        form_data(mrn="HACK-1", organisation=world.other.pk, created_by=world.oscar.pk, id=99),
    )
    assert response.status_code == 302
    patient = Patient.objects.get(given_name="Jane")
    assert patient.mrn == "ACM-000003"
    assert patient.organisation == world.acme
    assert patient.created_by == world.fiona
    assert patient.pk != 99


def test_names_are_saved_with_single_spaces(client_for):
    client_for("fiona").post(
        reverse("patients:new"), form_data(given_name="  Ana   Maria ", family_name=" Costa ")
    )
    patient = Patient.objects.get(family_name="Costa")
    assert patient.given_name == "Ana Maria"


SQL_NAME = "Robert'); DROP TABLE patients_patient;--"
HTML_NAME = "<script>alert(1)</script>"


def test_sql_and_html_looking_names_are_stored_verbatim_and_shown_escaped(client_for, world):
    client = client_for("fiona")
    response = client.post(
        reverse("patients:new"),
        form_data(
            given_name=SQL_NAME,
            family_name=HTML_NAME,
            address='<img src=x onerror="alert(2)">',
            email="bobby@example.com",
        ),
    )
    assert response.status_code == 302
    patient = Patient.objects.get(email="bobby@example.com")
    assert patient.given_name == SQL_NAME
    assert patient.family_name == HTML_NAME
    assert Patient.objects.count() == 4  # the table is still there

    escaped_html = "&lt;script&gt;alert(1)&lt;/script&gt;"
    escaped_sql = "Robert&#x27;); DROP TABLE patients_patient;--"
    for url in [
        reverse("patients:list"),
        reverse("patients:list") + "?q=Robert",
        reverse("patients:chart", args=[patient.pk]),
        reverse("patients:edit", args=[patient.pk]),
    ]:
        content = client.get(url).content.decode()
        assert escaped_html in content, url
        assert escaped_sql in content, url
        assert HTML_NAME not in content, url
        assert "<img src=x" not in content, url
    chart = client.get(reverse("patients:chart", args=[patient.pk])).content.decode()
    assert "&lt;img src=x onerror=&quot;alert(2)&quot;&gt;" in chart


def test_a_search_for_html_is_echoed_escaped(client_for):
    response = client_for("fiona").get(reverse("patients:list"), {"q": HTML_NAME})
    content = response.content.decode()
    assert response.status_code == 200
    assert HTML_NAME not in content
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in content


# --- likely duplicates ------------------------------------------------------------------


def test_registering_a_likely_duplicate_warns_with_a_link_and_saves_nothing(client_for, world):
    client = client_for("fiona")
    with nothing_written():
        response = client.post(
            reverse("patients:new"),
            form_data(given_name="ANA", family_name="silva", date_of_birth="1985-03-14"),
        )
    assert response.status_code == 422
    content = response.content.decode()
    assert "Possible duplicate" in content
    assert f'href="{reverse("patients:chart", args=[world.acme_patient.pk])}"' in content
    assert "Ana Silva, ACM-000001, 14 Mar 1985" in content
    assert 'name="confirm_not_duplicate"' in content
    assert response.context["duplicates"] == [world.acme_patient]


def test_ticking_confirm_not_duplicate_saves_the_new_record(client_for, world):
    client = client_for("fiona")
    data = form_data(given_name="Ana", family_name="Silva", date_of_birth="1985-03-14")
    assert client.post(reverse("patients:new"), data).status_code == 422
    response = client.post(reverse("patients:new"), {**data, "confirm_not_duplicate": "on"})
    assert response.status_code == 302
    twins = Patient.objects.filter(organisation=world.acme, family_name="Silva", given_name="Ana")
    assert twins.count() == 2
    assert len({p.mrn for p in twins}) == 2


@pytest.mark.parametrize(
    ("given", "family", "born", "warned"),
    [
        ("Ana", "Silva", "1985-03-14", True),
        ("  ana  ", " SILVA ", "1985-03-14", True),
        ("Ana", "Silva", "1985-03-15", False),
        ("Ana", "Silvas", "1985-03-14", False),
        ("Anabela", "Silva", "1985-03-14", False),
    ],
)
def test_the_duplicate_warning_needs_the_same_name_ignoring_case_and_the_same_birth_date(
    client_for, given, family, born, warned
):
    client = client_for("paul")
    before = Patient.objects.count()
    response = client.post(
        reverse("patients:new"), form_data(given_name=given, family_name=family, date_of_birth=born)
    )
    assert response.status_code == (422 if warned else 302)
    assert ("Possible duplicate" in response.content.decode()) == warned
    assert Patient.objects.count() == before + (0 if warned else 1)


def test_the_duplicate_warning_ignores_case_of_accented_letters(client_for, world):
    client = client_for("paul")
    data = form_data(given_name="Élodie", family_name="Müller", date_of_birth="1970-01-01")
    assert client.post(reverse("patients:new"), data).status_code == 302
    shouted = {**data, "given_name": "ÉLODIE", "family_name": "MÜLLER"}
    with nothing_written():
        response = client.post(reverse("patients:new"), shouted)
    assert response.status_code == 422
    assert "Possible duplicate" in response.content.decode()


def test_a_namesake_in_another_organisation_is_not_a_duplicate(client_for, world):
    response = client_for("oscar").post(
        reverse("patients:new"),
        form_data(given_name="Ana", family_name="Silva", date_of_birth="1985-03-14"),
    )
    assert response.status_code == 302
    assert Patient.objects.filter(organisation=world.other, family_name="Silva").exists()


def test_editing_a_patient_into_a_namesake_warns_first_and_saves_once_confirmed(client_for, world):
    client = client_for("paul")
    url = reverse("patients:edit", args=[world.pat_patient.pk])
    data = form_data(given_name="Ana", family_name="Silva", date_of_birth="1985-03-14")
    with nothing_written():
        response = client.post(url, data)
    assert response.status_code == 422
    page = response.content.decode()
    assert "Possible duplicate" in page
    assert world.acme_patient.mrn in page
    assert client.post(url, {**data, "confirm_not_duplicate": "on"}).status_code == 302
    world.pat_patient.refresh_from_db()
    assert world.pat_patient.family_name == "Silva"
    event = AuditEvent.objects.filter(action="patient.update").latest("pk")
    assert event.changes["confirmed_not_duplicate"] == {"new": True}


def test_editing_other_fields_of_a_namesake_asks_nothing(client_for, world):
    """Only a change of name or birth date is checked, not every save of a known namesake."""
    client = client_for("paul")
    make_patient(
        world.acme,
        world.paul,
        given_name="Ana",
        family_name="Silva",
        email="second.ana@example.com",
    )
    response = client.post(
        reverse("patients:edit", args=[world.acme_patient.pk]),
        form_data(
            given_name="Ana",
            family_name="Silva",
            date_of_birth="1985-03-14",
            phone="+44 7700 900777",
        ),
    )
    assert response.status_code == 302


def test_saving_over_a_change_made_since_the_form_opened_is_refused(client_for, world):
    paul, fiona = client_for("paul"), client_for("fiona")
    url = reverse("patients:edit", args=[world.acme_patient.pk])
    form = paul.get(url).context["form"]
    version = form.initial["version"]
    assert (
        fiona.post(
            url,
            {
                **form_data(
                    given_name="Ana",
                    family_name="Silva",
                    date_of_birth="1985-03-14",
                    phone="+44 7700 900111",
                ),
                "version": fiona.get(url).context["form"].initial["version"],
            },
        ).status_code
        == 302
    )
    with nothing_written():
        response = paul.post(
            url,
            {
                **form_data(
                    given_name="Ana", family_name="Silva-Costa", date_of_birth="1985-03-14"
                ),
                "version": version,
            },
        )
    assert response.status_code == 409
    page = response.content.decode()
    assert "Someone else changed this patient" in page
    assert "+44 7700 900111" in page  # the form now shows the current details
    world.acme_patient.refresh_from_db()
    assert world.acme_patient.family_name == "Silva"


def test_a_garbled_form_version_is_a_clear_error(client_for, world):
    url = reverse("patients:edit", args=[world.acme_patient.pk])
    client = client_for("paul")
    with nothing_written():
        response = client.post(url, {**form_data(), "version": "yesterday"})
    assert response.status_code == 422
    assert "This form is out of date; reload the page." in response.content.decode()
