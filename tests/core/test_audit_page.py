"""The audit page at /audit/: who may see it, its filters, CSV export, and its query count."""

from __future__ import annotations

import csv
import datetime as dt
import io
import zoneinfo

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from mesoclinic.core.audit import ACTIONS, ActionInfo
from mesoclinic.core.models import AuditEvent

LONDON = zoneinfo.ZoneInfo("Europe/London")

# Actions these tests filter by. The filter offers only actions of the registry (a name it
# does not know is a form error), so each test registers them for its own duration.
FILTERED_TEST_ACTIONS = [
    "test.dated",
    "test.summer",
    "test.paged",
    "test.html",
    "test.csv",
    "test.tz",
]


@pytest.fixture(autouse=True)
def registered_test_actions(monkeypatch):
    for name in FILTERED_TEST_ACTIONS:
        monkeypatch.setitem(ACTIONS, name, ActionInfo(f"Test: {name.removeprefix('test.')}"))


def make_event(organisation, action="test.event", when=None, **fields) -> AuditEvent:
    return AuditEvent.objects.create(
        organisation=organisation,
        action=action,
        occurred_at=when or timezone.now(),
        **fields,
    )


def listed(response) -> list[AuditEvent]:
    assert response.status_code == 200, response.content[:500]
    return list(response.context["page"].object_list)


def export_rows(response) -> list[list[str]]:
    assert response.status_code == 200
    text = b"".join(response.streaming_content).decode("utf-8")
    return list(csv.reader(io.StringIO(text)))


# --- who may see it -----------------------------------------------------------------------------


@pytest.mark.parametrize("persona", ["alice", "audrey"])
def test_admins_and_auditors_see_the_audit_page(client_for, world, persona):
    events = listed(client_for(persona).get(reverse("audit")))
    assert events
    assert {e.organisation_id for e in events} == {world.acme.pk}


@pytest.mark.parametrize("persona", ["paul", "fiona", "pat"])
def test_other_roles_get_403_on_the_audit_page_and_export(client_for, persona):
    client = client_for(persona)
    assert client.get(reverse("audit")).status_code == 403
    assert client.get(reverse("audit_export")).status_code == 403


@pytest.mark.parametrize("url", ["audit", "audit_export"])
def test_anonymous_is_sent_to_sign_in_from_the_audit_pages(client_for, url):
    response = client_for("anonymous").get(reverse(url))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


def test_the_audit_page_is_read_only(client_for, world):
    assert client_for("alice").post(reverse("audit")).status_code == 405


def test_other_organisation_never_sees_acme_events(client_for, world):
    make_event(world.acme, action="test.acme_secret", actor_email="alice@acme.test")
    response = client_for("oscar").get(reverse("audit"))
    events = listed(response)
    assert events
    assert {e.organisation_id for e in events} == {world.other.pk}
    page = response.content.decode()
    assert "acme.test" not in page
    assert "test.acme_secret" not in page
    assert "Ana Silva" not in page


def test_other_organisation_cannot_filter_its_way_to_acme_events(client_for, world):
    client = client_for("oscar")
    by_patient = client.get(reverse("audit"), {"patient": world.acme_patient.mrn})
    assert listed(by_patient) == []
    by_actor = client.get(reverse("audit"), {"actor": world.alice.pk})
    assert by_actor.status_code == 422
    assert "actor" in by_actor.context["form"].errors


def test_events_without_an_organisation_are_not_listed(client_for, world):
    ours = make_event(world.acme, action="auth.login_failed")
    make_event(None, action="auth.login_failed")
    events = listed(client_for("alice").get(reverse("audit"), {"action": "auth.login_failed"}))
    assert [e.pk for e in events] == [ours.pk]


# --- filters ------------------------------------------------------------------------------------


def test_filter_by_patient_record_number(client_for, world):
    mrn = world.acme_patient.mrn
    for query in [mrn, mrn.lower(), f"  {mrn} "]:
        events = listed(client_for("alice").get(reverse("audit"), {"patient": query}))
        assert events
        assert {e.patient_id for e in events} == {world.acme_patient.pk}
    all_events = listed(client_for("alice").get(reverse("audit")))
    assert any(e.patient_id == world.pat_patient.pk for e in all_events)


def test_filter_by_user(client_for, world):
    make_event(world.acme, actor=world.paul, actor_email="paul@acme.test", action="test.paul")
    events = listed(client_for("audrey").get(reverse("audit"), {"actor": world.fiona.pk}))
    assert events
    assert {e.actor_id for e in events} == {world.fiona.pk}
    assert "test.paul" not in {e.action for e in events}


def test_filter_by_action(client_for, world):
    events = listed(client_for("alice").get(reverse("audit"), {"action": "membership.create"}))
    expected = AuditEvent.objects.filter(organisation=world.acme, action="membership.create")
    assert {e.pk for e in events} == set(expected.values_list("pk", flat=True))
    assert len(events) == 5


def test_filter_by_an_unknown_action_is_a_form_error(client_for, world):
    response = client_for("alice").get(reverse("audit"), {"action": "no.such.action"})
    assert response.status_code == 422
    assert "action" in response.context["form"].errors


def test_filter_by_date_range_includes_whole_days_in_the_clinic_time_zone(client_for, world):
    def at(*args: int) -> dt.datetime:
        return dt.datetime(*args, tzinfo=LONDON)

    inside = [
        make_event(world.acme, "test.dated", at(2026, 2, 1, 0, 0)),
        make_event(world.acme, "test.dated", at(2026, 2, 14, 12, 0)),
        make_event(world.acme, "test.dated", at(2026, 2, 28, 23, 59)),
    ]
    make_event(world.acme, "test.dated", at(2026, 1, 31, 23, 59))
    make_event(world.acme, "test.dated", at(2026, 3, 1, 0, 0))
    response = client_for("alice").get(
        reverse("audit"),
        {"action": "test.dated", "date_from": "2026-02-01", "date_to": "2026-02-28"},
    )
    assert {e.pk for e in listed(response)} == {e.pk for e in inside}


def test_date_filters_use_the_clinic_day_not_the_utc_day(client_for, world):
    # 23:30 UTC on 1 July is 00:30 on 2 July in London (summer time).
    late = make_event(world.acme, "test.summer", dt.datetime(2026, 7, 1, 23, 30, tzinfo=dt.UTC))
    client = client_for("alice")
    first = client.get(
        reverse("audit"),
        {"action": "test.summer", "date_from": "2026-07-01", "date_to": "2026-07-01"},
    )
    second = client.get(
        reverse("audit"),
        {"action": "test.summer", "date_from": "2026-07-02", "date_to": "2026-07-02"},
    )
    assert listed(first) == []
    assert [e.pk for e in listed(second)] == [late.pk]


def test_only_a_start_or_only_an_end_date_works(client_for, world):
    old = make_event(world.acme, "test.dated", dt.datetime(2020, 5, 5, 12, tzinfo=LONDON))
    new = make_event(world.acme, "test.dated", dt.datetime(2026, 5, 5, 12, tzinfo=LONDON))
    client = client_for("alice")
    since = listed(
        client.get(reverse("audit"), {"action": "test.dated", "date_from": "2025-01-01"})
    )
    until = listed(client.get(reverse("audit"), {"action": "test.dated", "date_to": "2025-01-01"}))
    assert [e.pk for e in since] == [new.pk]
    assert [e.pk for e in until] == [old.pk]


def test_filters_combine(client_for, world):
    events = listed(
        client_for("alice").get(
            reverse("audit"),
            {"actor": world.fiona.pk, "action": "patient.create", "patient": world.pat_patient.mrn},
        )
    )
    assert len(events) == 1
    assert events[0].patient_id == world.pat_patient.pk
    assert events[0].actor_id == world.fiona.pk


def test_an_end_date_before_the_start_date_is_a_clear_error(client_for, world):
    response = client_for("alice").get(
        reverse("audit"), {"date_from": "2026-03-10", "date_to": "2026-03-01"}
    )
    assert response.status_code == 422
    assert response.context["form"].errors["date_to"] == ["The end date is before the start date."]
    assert "The end date is before the start date." in response.content.decode()


@pytest.mark.parametrize(
    "params",
    [
        {"date_from": "2026-13-45"},
        {"date_to": "yesterday"},
        {"actor": "abc"},
        {"patient": "X" * 50},
    ],
)
def test_malformed_filters_are_form_errors_not_500s(client_for, world, params):
    response = client_for("alice").get(reverse("audit"), params)
    assert response.status_code == 422
    assert set(params) <= set(response.context["form"].errors)


def test_events_are_listed_newest_first_and_paginated(client_for, world, settings):
    start = dt.datetime(2030, 1, 1, tzinfo=dt.UTC)
    made = [
        make_event(world.acme, "test.paged", start + dt.timedelta(minutes=n)) for n in range(60)
    ]
    client = client_for("alice")
    first = listed(client.get(reverse("audit"), {"action": "test.paged"}))
    second = listed(client.get(reverse("audit"), {"action": "test.paged", "page": 2}))
    assert len(first) == settings.AUDIT_EVENTS_PER_PAGE
    assert first[0].pk == made[-1].pk
    assert [e.pk for e in first + second] == [e.pk for e in reversed(made)]
    # A page number past the end shows the last page rather than failing.
    assert listed(client.get(reverse("audit"), {"action": "test.paged", "page": 99})) == second


def test_changes_and_names_are_shown_escaped(client_for, world):
    make_event(
        world.acme,
        "test.html",
        object_repr="<img src=x onerror=alert(1)>",
        changes={"note": {"old": "<b>", "new": "<script>x</script>"}},
    )
    page = client_for("alice").get(reverse("audit"), {"action": "test.html"}).content.decode()
    assert "<img src=x" not in page
    assert "<script>x" not in page
    assert "&lt;img src=x onerror=alert(1)&gt;" in page


# --- dates out of range, invalid filters ---------------------------------------------------------

OUT_OF_RANGE = "Enter a date between 1900 and 2100."


@pytest.mark.parametrize("url", ["audit", "audit_export"])
@pytest.mark.parametrize("clinic_timezone", ["Europe/London", "Asia/Tokyo", "America/Los_Angeles"])
@pytest.mark.parametrize(
    "params",
    [
        {"date_to": "9999-12-31"},
        {"date_from": "0001-01-01"},
        {"date_from": "0001-01-01", "date_to": "9999-12-31"},
        {"date_from": "1899-12-31"},
        {"date_to": "2101-01-01"},
    ],
)
def test_dates_outside_1900_to_2100_are_a_form_error_not_a_500(
    client_for, world, url, clinic_timezone, params
):
    world.acme_city.timezone = clinic_timezone
    world.acme_city.save()
    response = client_for("alice").get(reverse(url), params)
    assert response.status_code == 422
    assert response.wsgi_request.workspace.clinic.timezone == clinic_timezone
    errors = response.context["form"].errors
    for field in params:
        assert errors[field] == [OUT_OF_RANGE]
    assert OUT_OF_RANGE in response.content.decode()
    assert list(response.context["page"].object_list) == []
    assert not AuditEvent.objects.filter(action="audit.export").exists()


@pytest.mark.parametrize("clinic_timezone", ["Asia/Tokyo", "Pacific/Kiritimati", "Etc/GMT+12"])
def test_the_first_and_last_allowed_days_work_in_any_time_zone(client_for, world, clinic_timezone):
    world.acme_city.timezone = clinic_timezone
    world.acme_city.save()
    client = client_for("alice")
    params = {"date_from": "1900-01-01", "date_to": "2100-12-31"}
    assert listed(client.get(reverse("audit"), params))
    assert export_rows(client.get(reverse("audit_export"), params))[0] == HEADER


@pytest.mark.parametrize(
    "params",
    [
        {"date_from": "2026-13-45"},
        {"date_to": "9999-12-31"},
        {"action": "no.such.action"},
        {"actor": "abc"},
        {"actor": "999999"},
        {"date_from": "2026-03-10", "date_to": "2026-03-01"},
        {"action": "membership.create", "date_from": "yesterday"},
    ],
)
def test_an_invalid_filter_shows_no_events_rather_than_all_of_them(client_for, world, params):
    response = client_for("alice").get(reverse("audit"), params)
    assert response.status_code == 422
    assert response.context["form"].errors
    assert list(response.context["page"].object_list) == []
    page = response.content.decode()
    assert "<tbody>" not in page
    assert "Correct the filters above to see events." in page


@pytest.mark.parametrize(
    "params", [{"action": "no.such.action"}, {"date_to": "9999-12-31"}, {"date_from": "x"}]
)
def test_csv_export_with_an_invalid_filter_answers_422_with_the_errors_and_exports_nothing(
    client_for, world, params
):
    response = client_for("audrey").get(reverse("audit_export"), params)
    assert response.status_code == 422
    assert response["Content-Type"].startswith("text/html")
    assert "Content-Disposition" not in response
    assert set(params) <= set(response.context["form"].errors)
    assert list(response.context["page"].object_list) == []
    assert "<tbody>" not in response.content.decode()
    assert not AuditEvent.objects.filter(action="audit.export").exists()


# --- actions by their labels ----------------------------------------------------------------------


def test_the_action_filter_offers_the_registered_actions_by_label_without_a_query(
    client_for, world
):
    client = client_for("alice")
    client.get(reverse("audit"))  # Warm up the session.
    with CaptureQueriesContext(connection) as queries:
        response = client.get(reverse("audit"))
    assert response.status_code == 200
    choices = response.context["form"].fields["action"].choices
    assert choices[0] == ("", "Any action")
    assert dict(choices[1:]) == {name: str(info.label) for name, info in ACTIONS.items()}
    # Not built from the events: no DISTINCT over the whole audit history.
    assert not [q["sql"] for q in queries.captured_queries if "DISTINCT" in q["sql"].upper()]
    page = response.content.decode()
    assert '<option value="membership.create">Staff member added</option>' in page
    assert '<option value="patient.read">Chart opened</option>' in page


def test_an_action_that_has_no_events_yet_can_be_chosen(client_for, world):
    assert not AuditEvent.objects.filter(action="api_token.revoke").exists()
    response = client_for("alice").get(reverse("audit"), {"action": "api_token.revoke"})
    assert listed(response) == []
    assert "No events match these filters." in response.content.decode()


def test_events_show_the_action_label_with_its_code_beside_it(client_for, world):
    response = client_for("alice").get(reverse("audit"), {"action": "membership.create"})
    assert listed(response)
    page = response.content.decode()
    assert '<span class="badge" title="membership.create">Staff member added</span>' in page
    assert "<code>membership.create</code>" in page


def test_an_event_with_an_action_no_longer_registered_shows_its_code(client_for, world):
    make_event(world.acme, action="legacy.thing")
    page = client_for("alice").get(reverse("audit")).content.decode()
    assert '<span class="badge" title="legacy.thing">legacy.thing</span>' in page


# --- CSV export ---------------------------------------------------------------------------------

HEADER = [
    "time",
    "user",
    "action",
    "object_type",
    "object_id",
    "object",
    "patient_mrn",
    "source_ip",
    "via",
    "changes",
]


def test_csv_export_has_a_header_and_only_the_organisations_rows(client_for, world):
    response = client_for("alice").get(reverse("audit_export"))
    assert response["Content-Type"].startswith("text/csv")
    assert response["Content-Disposition"].startswith('attachment; filename="audit-')
    rows = export_rows(response)
    assert rows[0] == HEADER
    body = rows[1:]
    org_events = AuditEvent.objects.filter(organisation=world.acme).count()
    assert len(body) == org_events  # Includes the audit.export event itself.
    flat = "\n".join(",".join(row) for row in body)
    assert "oscar@other.test" not in flat
    assert world.other_patient.mrn not in flat
    assert "Other Clinic" not in flat
    assert world.acme_patient.mrn in flat
    assert all(len(row) == len(HEADER) for row in body)


def test_csv_export_follows_the_filters(client_for, world):
    rows = export_rows(
        client_for("audrey").get(reverse("audit_export"), {"action": "membership.create"})
    )
    assert len(rows) == 1 + 5
    assert {row[2] for row in rows[1:]} == {"membership.create"}


def test_csv_export_neutralises_cells_that_a_spreadsheet_would_run(client_for, world):
    make_event(
        world.acme,
        "test.csv",
        actor_email="+441234@evil.test",
        object_type="@SUM(A1)",
        object_id="-2+3",
        object_repr='=HYPERLINK("http://evil.example","click")',
    )
    make_event(world.acme, "test.csv", object_repr="\t=1+1")
    make_event(world.acme, "test.csv", object_repr="Plain text, with a comma")
    rows = export_rows(client_for("alice").get(reverse("audit_export"), {"action": "test.csv"}))
    by_object = {row[5]: row for row in rows[1:]}
    evil = by_object['\'=HYPERLINK("http://evil.example","click")']
    assert evil[1] == "'+441234@evil.test"
    assert evil[3] == "'@SUM(A1)"
    assert evil[4] == "'-2+3"
    assert "'\t=1+1" in by_object
    assert "Plain text, with a comma" in by_object
    for row in rows[1:]:
        for cell in row:
            assert not cell.startswith(("=", "+", "-", "@", "\t", "\r"))


def test_csv_export_writes_an_audit_export_event(client_for, world):
    export_rows(client_for("audrey").get(reverse("audit_export"), {"action": "patient.create"}))
    event = AuditEvent.objects.get(action="audit.export")
    assert event.actor == world.audrey
    assert event.organisation == world.acme
    assert event.changes == {"filters": {"new": "action=patient.create"}}


def test_csv_export_with_bad_filters_is_refused_and_not_recorded(client_for, world):
    response = client_for("alice").get(
        reverse("audit_export"), {"date_from": "2026-03-10", "date_to": "2026-03-01"}
    )
    assert response.status_code == 422
    assert not response["Content-Type"].startswith("text/csv")
    assert not AuditEvent.objects.filter(action="audit.export").exists()


def test_other_organisations_export_has_none_of_acmes_rows(client_for, world):
    rows = export_rows(client_for("oscar").get(reverse("audit_export")))
    flat = "\n".join(",".join(row) for row in rows)
    assert "acme.test" not in flat
    assert world.acme_patient.mrn not in flat
    assert world.other_patient.mrn in flat


def test_csv_times_are_in_the_clinic_time_zone(client_for, world):
    make_event(world.acme, "test.tz", dt.datetime(2026, 7, 1, 23, 30, tzinfo=dt.UTC))
    rows = export_rows(client_for("alice").get(reverse("audit_export"), {"action": "test.tz"}))
    assert rows[1][0] == "2026-07-02T00:30:00+01:00"


# --- query count --------------------------------------------------------------------------------


def audit_page_queries(client) -> int:
    with CaptureQueriesContext(connection) as queries:
        response = client.get(reverse("audit"))
    assert response.status_code == 200
    return len(queries)


def add_events(world, count: int) -> None:
    AuditEvent.objects.bulk_create(
        AuditEvent(
            organisation=world.acme,
            actor=world.fiona if n % 2 else world.paul,
            actor_email="fiona@acme.test" if n % 2 else "paul@acme.test",
            action="patient.read",
            object_type="patients.patient",
            object_id=str(world.acme_patient.pk),
            object_repr=str(world.acme_patient),
            patient=world.acme_patient if n % 3 else world.pat_patient,
            occurred_at=timezone.now(),
            source_ip="127.0.0.1",
            via="web",
            changes={"n": {"new": n}},
        )
        for n in range(count)
    )


def test_audit_page_query_count_does_not_grow_with_the_number_of_events(client_for, world):
    client = client_for("alice")
    client.get(reverse("audit"))  # Warm up the session and caches.
    add_events(world, 10)
    with_ten = audit_page_queries(client)
    add_events(world, 190)
    with_two_hundred = audit_page_queries(client)
    assert with_ten == with_two_hundred
    assert with_ten <= 15
