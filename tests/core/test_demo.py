"""`mesoclinic demo`: the demo organisations, their logins, and idempotence."""

from __future__ import annotations

from io import StringIO

import pytest
from django.apps import apps
from django.core.management import call_command
from django.test import Client
from django.urls import reverse

from mesoclinic.accounts.models import Clinic, Membership, Organisation, Role, User
from mesoclinic.core.demo import DEMO_SLUG, OTHER_SLUG
from mesoclinic.core.models import AuditEvent
from mesoclinic.patients.models import Patient

DEMO_LOGINS = {
    "admin@demo.test": Role.ADMIN,
    "practitioner@demo.test": Role.PRACTITIONER,
    "frontdesk@demo.test": Role.FRONTDESK,
}


def demo(*args: str) -> str:
    out = StringIO()
    call_command("demo", *args, stdout=out, stderr=StringIO())
    return out.getvalue()


def row_counts() -> dict[str, int]:
    return {
        model._meta.label: model._default_manager.count()
        for model in apps.get_models()
        if model._meta.managed and not model._meta.proxy
    }


@pytest.fixture
def seeded(db) -> str:
    return demo()


def test_demo_seeds_demo_hair_clinic_with_two_clinics(seeded):
    assert "Demo data seeded." in seeded
    organisation = Organisation.objects.get(slug=DEMO_SLUG)
    assert organisation.name == "Demo Hair Clinic"
    clinics = Clinic.objects.filter(organisation=organisation)
    assert clinics.count() == 2
    assert all(clinic.opening_hours.exists() for clinic in clinics)


def test_demo_seeds_sixty_patients_with_unique_record_numbers(seeded):
    patients = Patient.objects.filter(organisation__slug=DEMO_SLUG)
    assert patients.count() == 60
    mrns = list(patients.values_list("mrn", flat=True))
    assert len(set(mrns)) == 60
    assert all(mrn.startswith("DHC-") for mrn in mrns)
    # Realistic: a mix of sexes, both clinics, contact details filled in.
    assert patients.values("sex_at_birth").distinct().count() >= 2
    assert patients.values("preferred_clinic").distinct().count() == 2
    assert patients.exclude(phone="").count() == 60


def test_demo_staff_logins_have_their_roles_and_the_demo_password(seeded):
    for email, role in DEMO_LOGINS.items():
        user = User.objects.get(email=email)
        assert user.check_password("mesodemo")
        membership = Membership.objects.get(user=user)
        assert membership.organisation.slug == DEMO_SLUG
        assert membership.role == role
        assert membership.is_active


def test_demo_patient_login_opens_the_portal_on_their_record(seeded):
    user = User.objects.get(email="patient@demo.test")
    assert user.check_password("mesodemo")
    assert not Membership.objects.filter(user=user).exists()
    patient = Patient.objects.get(user=user)
    assert patient.organisation.slug == DEMO_SLUG

    client = Client()
    client.post(reverse("login"), {"username": "patient@demo.test", "password": "mesodemo"})
    response = client.get(reverse("portal:home"))
    assert response.status_code == 200
    assert patient.full_name in response.content.decode()


@pytest.mark.parametrize("email", sorted(DEMO_LOGINS))
def test_demo_staff_can_sign_in_on_the_login_page(seeded, email):
    client = Client()
    response = client.post(reverse("login"), {"username": email, "password": "mesodemo"})
    assert response.status_code == 302
    dashboard = client.get(reverse("dashboard"))
    assert dashboard.status_code == 200
    assert dashboard.wsgi_request.workspace.organisation.slug == DEMO_SLUG


def test_demo_seeds_a_second_organisation_with_its_own_users_and_patients(seeded):
    other = Organisation.objects.get(slug=OTHER_SLUG)
    assert Patient.objects.filter(organisation=other).count() > 0
    other_staff = Membership.objects.filter(organisation=other)
    assert other_staff.filter(role=Role.ADMIN).exists()
    assert not other_staff.filter(user__email__endswith="@demo.test").exists()
    assert other.mrn_prefix != "DHC"


def test_demo_organisations_are_isolated_from_each_other(seeded):
    client = Client()
    client.post(reverse("login"), {"username": "admin@northside.test", "password": "mesodemo"})
    demo_patient = Patient.objects.filter(organisation__slug=DEMO_SLUG).first()
    assert client.get(reverse("patients:chart", args=[demo_patient.pk])).status_code == 404
    page = client.get(reverse("patients:list")).content.decode()
    assert demo_patient.mrn not in page


def test_demo_seeding_is_audited_like_any_other_write(seeded):
    demo_org = Organisation.objects.get(slug=DEMO_SLUG)
    creates = AuditEvent.objects.filter(organisation=demo_org, action="patient.create")
    assert creates.count() == 60
    assert AuditEvent.objects.filter(organisation=demo_org, action="clinic.create").count() == 2


def test_running_demo_twice_changes_nothing(seeded):
    before = row_counts()
    audit_before = AuditEvent.objects.count()
    second = demo()
    assert "already there; nothing changed" in second
    assert row_counts() == before
    assert AuditEvent.objects.count() == audit_before
    assert Patient.objects.filter(organisation__slug=DEMO_SLUG).count() == 60


def test_demo_prints_the_logins(seeded):
    for email in [*DEMO_LOGINS, "patient@demo.test"]:
        assert email in seeded
    assert "mesodemo" in seeded


def test_demo_if_empty_leaves_a_database_with_other_organisations_alone(world):
    before = row_counts()
    output = demo("--if-empty")
    assert "demo not seeded" in output
    assert row_counts() == before
    assert not Organisation.objects.filter(slug=DEMO_SLUG).exists()


def test_demo_if_empty_seeds_an_empty_database(db):
    output = demo("--if-empty")
    assert "Demo data seeded." in output
    assert Organisation.objects.filter(slug=DEMO_SLUG).exists()


def test_the_demo_has_intakes_and_assessments_for_most_patients(db):
    from mesoclinic.core.demo import DEMO_SLUG, seed_demo
    from mesoclinic.patients.models import HairLossAssessment, PatientIntake

    seed_demo()
    intakes = PatientIntake.objects.filter(organisation__slug=DEMO_SLUG)
    assert intakes.count() == 40  # two in three of 60
    assert HairLossAssessment.objects.filter(organisation__slug=DEMO_SLUG).count() == 40
    assert intakes.filter(pregnant=True).exists()
    assert intakes.filter(anticoagulant_or_antiplatelet=True).exists()
    assert HairLossAssessment.objects.filter(scarring_alopecia_signs=True).exists()
    from mesoclinic.screening.models import Screening

    outcomes = set(
        Screening.objects.filter(organisation__slug=DEMO_SLUG).values_list("outcome", flat=True)
    )
    assert {"eligible", "not_eligible", "refer"} <= outcomes


def test_the_demo_calendar_has_courses_in_every_state_with_history(db):
    from mesoclinic.core.demo import DEMO_SLUG, seed_demo
    from mesoclinic.scheduling.models import Appointment, Course, Room, WorkingHours

    seed_demo()
    courses = Course.objects.filter(organisation__slug=DEMO_SLUG)
    assert set(courses.values_list("status", flat=True)) == {"active", "completed", "cancelled"}
    appointments = Appointment.objects.filter(organisation__slug=DEMO_SLUG)
    # Past visits were charted and signed (completed); some were missed or cancelled.
    assert {"booked", "completed", "no_show", "cancelled"} <= set(
        appointments.values_list("status", flat=True)
    )
    from mesoclinic.inventory.models import Lot, Stock
    from mesoclinic.treatments.models import AftercareSheet, TreatmentSession

    signed = TreatmentSession.objects.filter(organisation__slug=DEMO_SLUG, status="signed")
    assert signed.count() == appointments.filter(status="completed").count() > 0
    assert AftercareSheet.objects.filter(session__in=signed).count() == signed.count()
    assert Lot.objects.filter(organisation__slug=DEMO_SLUG).exists()
    assert not Stock.objects.filter(quantity__lt=0).exists()
    assert Room.objects.filter(organisation__slug=DEMO_SLUG).count() == 5
    assert WorkingHours.objects.filter(organisation__slug=DEMO_SLUG).exists()
    # Every booked session lies inside its window (the demo books through the services).
    for appointment in appointments.filter(status="booked").select_related(
        "course_session", "clinic"
    ):
        day = appointment.starts_at.astimezone(appointment.clinic.tzinfo).date()
        session = appointment.course_session
        assert session.earliest_on <= day <= session.latest_on


def test_the_demo_has_outcome_visits_with_measurements_and_photos(db):
    from mesoclinic.core.demo import DEMO_SLUG, seed_demo
    from mesoclinic.outcomes.models import Measurement, OutcomePhoto, OutcomeVisit
    from mesoclinic.scheduling.models import Course

    seed_demo()
    visits = OutcomeVisit.objects.filter(organisation__slug=DEMO_SLUG)
    started = Course.objects.filter(
        organisation__slug=DEMO_SLUG, outcome_visits__point="baseline"
    ).distinct()
    assert started.count() >= 10
    # Every course with a baseline has it before any later visit of that course.
    for visit in visits.exclude(point="baseline").select_related("course"):
        baseline = visits.get(course=visit.course, point="baseline")
        assert baseline.measured_on <= visit.measured_on
    assert visits.exclude(point="baseline").count() >= 10
    assert Measurement.objects.filter(visit__in=visits, measure="density_per_cm2").count() == (
        visits.count()
    )
    photos = OutcomePhoto.objects.filter(visit__in=visits)
    assert {"vertex", "frontal", "trichoscopy"} <= set(photos.values_list("view", flat=True))
    assert not OutcomeVisit.objects.exclude(organisation__slug=DEMO_SLUG).exists()
