"""Who may open which patient page: every role, another organisation, a patient, nobody."""

from __future__ import annotations

import pytest
from django.urls import reverse
from django.utils import timezone

from mesoclinic.accounts.models import Membership
from mesoclinic.accounts.services import membership_deactivate
from mesoclinic.core.models import AuditEvent
from mesoclinic.patients.models import Patient
from mesoclinic.patients.views import CHART_TABS
from tests.conftest import STAFF, WRITERS
from tests.patients.helpers import (
    assert_login_redirect,
    form_data,
    last_event_id,
    new_events,
    nothing_written,
)

SIGNED_OUT = ["dora", "anonymous"]
TAB_SLUGS = [slug for slug, _label in CHART_TABS]


def acme_urls(world):
    pk = world.acme_patient.pk
    return [
        reverse("patients:chart", args=[pk]),
        reverse("patients:edit", args=[pk]),
        *(reverse("patients:chart_tab", args=[pk, slug]) for slug in TAB_SLUGS),
    ]


# --- the list ---------------------------------------------------------------------------


@pytest.mark.parametrize("persona", STAFF)
def test_staff_see_their_organisations_patients_on_the_list(client_for, world, persona):
    response = client_for(persona).get(reverse("patients:list"))
    assert response.status_code == 200
    assert "patients/list.html" in [t.name for t in response.templates]
    content = response.content.decode()
    assert "Silva, Ana" in content
    assert "Portal, Pat" in content
    assert "Outsider" not in content


@pytest.mark.parametrize("persona", STAFF)
@pytest.mark.parametrize(("query", "expected"), [("silva", "Silva, Ana"), ("ACM-000002", "Portal")])
def test_staff_search_their_organisations_patients(client_for, persona, query, expected):
    response = client_for(persona).get(reverse("patients:list"), {"q": query})
    assert response.status_code == 200
    assert len(response.context["page"].object_list) == 1
    assert expected in response.content.decode()


@pytest.mark.parametrize("persona", STAFF)
def test_register_button_is_offered_only_to_roles_that_can_write(client_for, persona):
    response = client_for(persona).get(reverse("patients:list"))
    assert (reverse("patients:new") in response.content.decode()) == (persona in WRITERS)


def test_other_organisations_list_never_shows_acme_patients(client_for, world):
    response = client_for("oscar").get(reverse("patients:list"))
    assert response.status_code == 200
    content = response.content.decode()
    assert "Outsider, Otto" in content
    assert "Silva" not in content
    assert "Portal" not in content
    assert world.acme_patient.mrn not in content


@pytest.mark.parametrize("query", ["Ana", "Silva", "ACM-000001", "jane.doe@example.com", "7700"])
def test_other_organisations_search_never_finds_acme_patients(client_for, world, query):
    response = client_for("oscar").get(reverse("patients:list"), {"q": query})
    assert response.status_code == 200
    found = list(response.context["page"].object_list)
    assert all(p.organisation_id == world.other.pk for p in found)
    assert "Silva, Ana" not in response.content.decode()
    assert reverse("patients:chart", args=[world.acme_patient.pk]) not in response.content.decode()


@pytest.mark.parametrize("persona", SIGNED_OUT)
@pytest.mark.parametrize("query", [None, "Silva"])
def test_signed_out_people_are_sent_to_login_from_the_list(client_for, persona, query):
    params = {"q": query} if query else {}
    response = client_for(persona).get(reverse("patients:list"), params)
    assert_login_redirect(response, reverse("patients:list"))


def test_a_patients_portal_account_gets_403_on_the_staff_list(client_for):
    response = client_for("pat").get(reverse("patients:list"), {"q": "Silva"})
    assert response.status_code == 403
    assert b"Silva" not in response.content


@pytest.mark.parametrize("method", ["post", "put", "delete"])
def test_the_list_only_answers_get(client_for, method):
    response = getattr(client_for("alice"), method)(reverse("patients:list"))
    assert response.status_code == 405


# --- registering ------------------------------------------------------------------------


@pytest.mark.parametrize("persona", [*WRITERS, "oscar"])
def test_writers_get_the_registration_form(client_for, persona):
    response = client_for(persona).get(reverse("patients:new"))
    assert response.status_code == 200
    assert b'name="given_name"' in response.content
    assert b'name="family_name"' in response.content


def test_registration_form_offers_only_the_organisations_clinics(client_for, world):
    content = client_for("fiona").get(reverse("patients:new")).content.decode()
    assert "Acme City" in content
    assert "Acme Riverside" in content
    assert "Other Main" not in content


@pytest.mark.parametrize("persona", WRITERS)
def test_writers_register_a_patient_in_their_organisation(client_for, world, persona):
    response = client_for(persona).post(
        reverse("patients:new"), form_data(preferred_clinic=world.acme_river.pk)
    )
    assert response.status_code == 302
    patient = Patient.objects.get(given_name="Jane", family_name="Doe")
    assert response.url == reverse("patients:chart", args=[patient.pk])
    assert patient.organisation == world.acme
    assert patient.created_by == world.persona(persona)
    assert patient.preferred_clinic == world.acme_river


def test_another_organisations_admin_registers_into_his_own_organisation(client_for, world):
    response = client_for("oscar").post(reverse("patients:new"), form_data())
    assert response.status_code == 302
    patient = Patient.objects.get(given_name="Jane", family_name="Doe")
    assert patient.organisation == world.other
    assert patient.mrn.startswith("OTH-")


@pytest.mark.parametrize("method", ["get", "post"])
def test_auditor_cannot_register_a_patient(client_for, method):
    client = client_for("audrey")
    with nothing_written():
        response = getattr(client, method)(reverse("patients:new"), form_data())
    assert response.status_code == 403


@pytest.mark.parametrize("method", ["get", "post"])
def test_a_patient_cannot_register_patients(client_for, method):
    client = client_for("pat")
    with nothing_written():
        response = getattr(client, method)(reverse("patients:new"), form_data())
    assert response.status_code == 403


@pytest.mark.parametrize("persona", SIGNED_OUT)
@pytest.mark.parametrize("method", ["get", "post"])
def test_signed_out_people_are_sent_to_login_from_registration(client_for, persona, method):
    client = client_for(persona)
    with nothing_written():
        response = getattr(client, method)(reverse("patients:new"), form_data())
    assert_login_redirect(response, reverse("patients:new"))


# --- the chart and its tabs ------------------------------------------------------------


@pytest.mark.parametrize("persona", STAFF)
@pytest.mark.parametrize("tab", [None, *TAB_SLUGS])
def test_staff_read_the_chart_and_every_tab(client_for, world, persona, tab):
    pk = world.acme_patient.pk
    url = (
        reverse("patients:chart", args=[pk])
        if tab is None
        else reverse("patients:chart_tab", args=[pk, tab])
    )
    response = client_for(persona).get(url)
    assert response.status_code == 200
    content = response.content.decode()
    assert "Ana Silva" in content
    assert world.acme_patient.mrn in content
    current = dict(CHART_TABS)[tab or "overview"]
    assert f'aria-current="page">{current}</a>' in content


@pytest.mark.parametrize("persona", STAFF)
def test_chart_offers_editing_only_to_roles_that_can_write(client_for, world, persona):
    response = client_for(persona).get(reverse("patients:chart", args=[world.acme_patient.pk]))
    edit = reverse("patients:edit", args=[world.acme_patient.pk])
    assert (edit in response.content.decode()) == (persona in WRITERS)


def test_chart_header_shows_name_age_record_number_and_alerts(client_for, world):
    response = client_for("paul").get(reverse("patients:chart", args=[world.acme_patient.pk]))
    age = world.acme_patient.age_on(timezone.localdate())
    assert response.context["age"] == age
    content = response.content.decode()
    assert '<h1 id="patient-name">Ana Silva</h1>' in content
    assert f"<dt>Age</dt><dd>{age}</dd>" in content
    assert "<dt>Record no.</dt><dd>ACM-000001</dd>" in content
    assert "Alerts" in content


def test_an_unknown_tab_is_404_and_records_no_chart_read(client_for, world):
    client = client_for("paul")
    url = reverse("patients:chart_tab", args=[world.acme_patient.pk, "no-such-tab"])
    since = AuditEvent.objects.order_by("-pk").values_list("pk", flat=True).first()
    assert client.get(url).status_code == 404
    assert not AuditEvent.objects.filter(pk__gt=since, action="patient.read").exists()


def test_chart_of_a_missing_patient_is_404(client_for):
    assert client_for("alice").get(reverse("patients:chart", args=[999_999])).status_code == 404


def test_chart_with_an_id_too_large_for_the_database_is_404_not_500(client_for):
    response = client_for("alice").get("/patients/99999999999999999999999999/")
    assert response.status_code == 404


def test_other_organisation_gets_404_for_every_acme_patient_page(client_for, world):
    client = client_for("oscar")
    for url in acme_urls(world):
        with nothing_written():
            assert client.get(url).status_code == 404, url
            assert client.post(url, form_data(given_name="Hacked")).status_code in (404, 405), url
    edit = reverse("patients:edit", args=[world.acme_patient.pk])
    with nothing_written():
        assert client.post(edit, form_data(given_name="Hacked")).status_code == 404


def test_other_organisation_reads_its_own_patients_chart(client_for, world):
    url = reverse("patients:chart", args=[world.other_patient.pk])
    assert client_for("oscar").get(url).status_code == 200
    assert client_for("alice").get(url).status_code == 404


def test_a_patient_gets_403_on_every_staff_page_even_their_own_chart(client_for, world):
    client = client_for("pat")
    own = world.pat_patient.pk
    urls = [
        *acme_urls(world),
        reverse("patients:chart", args=[own]),
        reverse("patients:edit", args=[own]),
    ]
    for url in urls:
        with nothing_written():
            assert client.get(url).status_code == 403, url
    with nothing_written():
        edit = reverse("patients:edit", args=[own])
        assert client.post(edit, form_data(given_name="Hacked")).status_code == 403


@pytest.mark.parametrize("persona", SIGNED_OUT)
def test_signed_out_people_are_sent_to_login_from_every_chart_page(client_for, world, persona):
    client = client_for(persona)
    for url in acme_urls(world):
        with nothing_written():
            assert_login_redirect(client.get(url), url)


# --- editing ----------------------------------------------------------------------------


@pytest.mark.parametrize("persona", WRITERS)
def test_writers_get_the_edit_form_filled_in(client_for, world, persona):
    response = client_for(persona).get(reverse("patients:edit", args=[world.acme_patient.pk]))
    assert response.status_code == 200
    content = response.content.decode()
    assert 'value="Ana"' in content
    assert 'value="Silva"' in content
    assert 'value="1985-03-14"' in content
    assert f'<option value="{world.acme_city.pk}" selected>' in content


@pytest.mark.parametrize("persona", WRITERS)
def test_writers_change_a_patients_details(client_for, world, persona):
    url = reverse("patients:edit", args=[world.acme_patient.pk])
    response = client_for(persona).post(
        url, form_data(given_name="Ana", family_name="Silva-Costa", preferred_clinic="")
    )
    assert response.status_code == 302
    assert response.url == reverse("patients:chart", args=[world.acme_patient.pk])
    world.acme_patient.refresh_from_db()
    assert world.acme_patient.family_name == "Silva-Costa"
    assert world.acme_patient.preferred_clinic is None
    assert world.acme_patient.mrn == "ACM-000001"


@pytest.mark.parametrize("method", ["get", "post"])
def test_auditor_cannot_edit_a_patient(client_for, world, method):
    url = reverse("patients:edit", args=[world.acme_patient.pk])
    client = client_for("audrey")
    with nothing_written():
        response = getattr(client, method)(url, form_data(given_name="Changed"))
    assert response.status_code == 403


def test_auditor_reads_are_audited_like_anyone_elses(client_for, world):
    client = client_for("audrey")
    since = last_event_id()
    client.get(reverse("patients:chart", args=[world.acme_patient.pk]))
    events = new_events(since)
    assert [(e.action, e.actor) for e in events] == [("patient.read", world.audrey)]


def test_a_deactivated_colleague_is_signed_out_on_their_next_request(client_for, world):
    client = client_for("paul")
    assert client.get(reverse("patients:list")).status_code == 200
    membership_deactivate(
        membership=Membership.objects.get(user=world.paul, organisation=world.acme),
        acting_user=world.alice,
    )
    url = reverse("patients:chart", args=[world.acme_patient.pk])
    reads_before = AuditEvent.objects.filter(action="patient.read").count()
    response = client.get(url)
    assert_login_redirect(response, url)
    assert "Ana Silva" not in response.content.decode()
    assert_login_redirect(client.get(url), url)
    assert AuditEvent.objects.filter(action="patient.read").count() == reads_before


def test_a_colleague_whose_membership_ends_mid_session_is_logged_out(client_for, world):
    client = client_for("fiona")
    assert client.get(reverse("patients:list")).status_code == 200
    # Access withdrawn behind the service's back (e.g. in the admin site): still refused.
    Membership.objects.filter(user=world.fiona).update(is_active=False)
    response = client.get(reverse("patients:list"))
    assert response.status_code == 302
    assert response.url == reverse("login")
    assert "_auth_user_id" not in client.session
