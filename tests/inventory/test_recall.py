"""The recall list: every patient who received a lot in the current signed revision of a
session (drafts and corrected revisions left out), with what the clinic needs to contact
them; on the lot page, as CSV and through the API, each read audited."""

from __future__ import annotations

import csv
import datetime as dt
import io
from decimal import Decimal

import pytest
from django.urls import reverse

from mesoclinic.core.models import AuditEvent
from mesoclinic.inventory.selectors import recall_rows, recalled_lots_received
from mesoclinic.inventory.services import lot_recall
from mesoclinic.inventory.views import RECALL_CSV_HEADER
from tests.conftest import make_patient
from tests.inventory.factories import amend, make_product, make_session, receive, today


@pytest.fixture
def recall_world(world):
    """Lot A2417 given to Ana (signed, two lines) and Dan (in an amendment); not to Bea
    (a draft), Cy (amended away) or Eve (another lot)."""
    product = make_product(world)
    lot = receive(world, product, "A2417", "50")
    other = receive(world, product, "B9000", "50")
    day = today(world)

    def patient(given: str, family: str, **details: object):
        return make_patient(
            world.acme, world.fiona, given_name=given, family_name=family, **details
        )

    ana = world.acme_patient
    make_session(
        world,
        ana,
        lines=[(lot, "0.5", "vertex"), (lot, "0.75", "frontal"), (other, "1", "vertex")],
        performed_on=day - dt.timedelta(days=20),
        practitioner=world.alice,
    )
    bea = patient("Bea", "Draft", email="bea@example.com")
    make_session(world, bea, lines=[(lot, "1", "vertex")], signed=False)
    cy = patient("Cy", "Corrected", email="cy@example.com")
    wrong = make_session(
        world, cy, lines=[(lot, "1", "vertex")], performed_on=day - dt.timedelta(days=10)
    )
    amend(world, wrong, lines=[(other, "1", "vertex")])
    dan = patient(
        "Dan",
        "Amended",
        email="dan@example.com",
        phone="+44 7700 900777",
        date_of_birth=dt.date(1979, 5, 1),
    )
    first = make_session(
        world,
        dan,
        lines=[(other, "2", "occipital")],
        performed_on=day - dt.timedelta(days=3),
        clinic=world.acme_river,
    )
    amend(world, first, lines=[(lot, "2", "occipital")], reason="Lot misread")
    eve = patient("Eve", "Elsewhere", email="eve@example.com")
    make_session(world, eve, lines=[(other, "1", "vertex")])
    return {"lot": lot, "other": other, "ana": ana, "cy": cy, "dan": dan, "day": day}


def test_the_list_has_exactly_the_current_signed_sessions_that_used_the_lot(world, recall_world):
    rows = recall_rows(lot=recall_world["lot"])
    assert [row.patient_name for row in rows] == ["Dan Amended", "Ana Silva"]  # newest first
    dan, ana = rows
    assert ana.mrn == world.acme_patient.mrn
    assert ana.email == "jane.doe@example.com"
    assert ana.phone == "+44 7700 900123"
    assert ana.date_of_birth == dt.date(1985, 3, 14)
    assert ana.performed_on == recall_world["day"] - dt.timedelta(days=20)
    assert ana.clinic == "Acme City"
    assert ana.practitioner == "Alice Admin"
    assert ana.volume == Decimal("1.25")  # only this lot's lines
    assert ana.zones == ("vertex", "frontal")
    assert dan.clinic == "Acme Riverside"
    assert dan.practitioner == "Paul Practitioner"
    assert (dan.volume, dan.zones) == (Decimal("2"), ("occipital",))
    assert dan.date_of_birth == dt.date(1979, 5, 1)


def test_a_corrected_lot_is_listed_for_the_lot_the_amendment_names(recall_world):
    names = [row.patient_name for row in recall_rows(lot=recall_world["other"])]
    assert "Cy Corrected" in names
    assert "Dan Amended" not in names  # amended away from this lot
    assert "Bea Draft" not in names


def test_a_patients_chart_alert_lists_recalled_lots_they_received(world, recall_world):
    lot = recall_world["lot"]
    assert recalled_lots_received(patient_id=recall_world["ana"].pk) == []
    lot_recall(lot=lot, reason="Notice", acting_user=world.alice)
    [(found, day)] = recalled_lots_received(patient_id=recall_world["ana"].pk)
    assert found.pk == lot.pk
    assert day == recall_world["day"] - dt.timedelta(days=20)
    assert recalled_lots_received(patient_id=recall_world["cy"].pk) == []
    assert len(recalled_lots_received(patient_id=recall_world["dan"].pk)) == 1


@pytest.mark.parametrize("persona", ["alice", "paul", "fiona", "audrey"])
def test_the_lot_page_lists_them_with_contact_details_and_audits_the_read(
    client_for, world, recall_world, persona
):
    lot = recall_world["lot"]
    response = client_for(persona).get(reverse("inventory_lot", args=[lot.pk]))
    assert response.status_code == 200
    content = response.content.decode()
    assert content.count(reverse("patients:chart", args=[world.acme_patient.pk])) == 1
    assert reverse("patients:chart", args=[recall_world["dan"].pk]) in content
    for shown in ["Ana Silva", "jane.doe@example.com", "+44 7700 900123", "Dan Amended"]:
        assert shown in content
    for hidden in ["Bea Draft", "Cy Corrected", "Eve Elsewhere"]:
        assert hidden not in content
    event = AuditEvent.objects.get(action="recall.read")
    assert event.actor == world.persona(persona)
    assert event.object_id == str(lot.pk)
    assert event.changes["shown_as"] == {"new": "page"}
    assert event.changes["rows"] == {"new": 2}
    assert event.changes["patients"] == {
        "new": f"{recall_world['dan'].mrn}, {world.acme_patient.mrn}"
    }


def test_a_lot_nobody_received_shows_no_list_and_records_no_read(client_for, world):
    lot = receive(world, make_product(world))
    response = client_for("alice").get(reverse("inventory_lot", args=[lot.pk]))
    assert "No signed session used this lot." in response.content.decode()
    assert not AuditEvent.objects.filter(action="recall.read").exists()


@pytest.mark.parametrize("persona", ["alice", "fiona", "audrey"])
def test_the_csv_has_a_header_and_the_same_rows_and_is_audited(
    client_for, world, recall_world, persona
):
    lot = recall_world["lot"]
    response = client_for(persona).get(reverse("inventory_lot_recall_csv", args=[lot.pk]))
    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"] == 'attachment; filename="recall-lot-A2417.csv"'
    table = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert table[0] == RECALL_CSV_HEADER
    rows = recall_rows(lot=lot)
    assert [line[0] for line in table[1:]] == [row.mrn for row in rows]
    ana = table[2]
    assert ana[1:4] == ["Ana Silva", "1985-03-14", "jane.doe@example.com"]
    # A cell that starts like a spreadsheet formula is kept as text.
    assert ana[4] == "'+44 7700 900123"
    assert ana[5:10] == [
        (recall_world["day"] - dt.timedelta(days=20)).isoformat(),
        "Acme City",
        "Alice Admin",
        "1.25",
        "Vertex (crown); Frontal",
    ]
    event = AuditEvent.objects.get(action="recall.read")
    assert event.actor == world.persona(persona)
    assert event.changes["shown_as"] == {"new": "csv"}
    assert event.changes["rows"] == {"new": 2}


def test_another_organisation_gets_404_for_the_list_and_the_csv(client_for, recall_world):
    lot = recall_world["lot"]
    for name in ["inventory_lot", "inventory_lot_recall_csv"]:
        assert client_for("oscar").get(reverse(name, args=[lot.pk])).status_code == 404
    assert not AuditEvent.objects.filter(action="recall.read").exists()


def test_dora_and_pat_and_anonymous_cannot_read_the_list(client_for, recall_world):
    url = reverse("inventory_lot_recall_csv", args=[recall_world["lot"].pk])
    assert client_for("anonymous").get(url).status_code == 302
    assert client_for("dora").get(url).status_code == 302
    assert client_for("pat").get(url).status_code == 403
    assert not AuditEvent.objects.filter(action="recall.read").exists()
