"""The demo organisations: realistic enough to look at, deterministic, seeded through services."""

from __future__ import annotations

import datetime as dt
import math
import random
import struct
import zlib
from dataclasses import dataclass

from django.db import transaction
from django.utils import timezone

from mesoclinic.accounts.models import Clinic, Organisation, Role, User
from mesoclinic.accounts.services import clinic_create, membership_create, organisation_create
from mesoclinic.core import clock
from mesoclinic.core.progress import progress
from mesoclinic.patients.intake import YES_NO_QUESTIONS
from mesoclinic.patients.models import Patient, SexAtBirth
from mesoclinic.patients.services import (
    AssessmentDetails,
    PatientDetails,
    assessment_record,
    consent_sign,
    consent_templates_current,
    intake_record,
    patient_create,
    patient_portal_account_create,
)
from mesoclinic.protocols.models import Protocol
from mesoclinic.scheduling.demo import seed_calendar, seed_courses
from mesoclinic.screening.services import screening_run

DEMO_PASSWORD = "mesodemo"
DEMO_SLUG = "demo-hair-clinic"
OTHER_SLUG = "northside-aesthetics"

WEEKDAYS_9_TO_7 = [(day, dt.time(9), dt.time(19)) for day in range(5)] + [
    (5, dt.time(9), dt.time(14))
]
WEEKDAYS_10_TO_8 = [(day, dt.time(10), dt.time(14)) for day in range(6)] + [
    (day, dt.time(16), dt.time(20)) for day in range(5)
]


@dataclass(frozen=True)
class DemoLogin:
    email: str
    full_name: str
    role: str | None  # None: the patient portal login


DEMO_LOGINS = [
    DemoLogin("admin@demo.test", "Alex Morgan", Role.ADMIN),
    DemoLogin("practitioner@demo.test", "Dr Maya Chen", Role.PRACTITIONER),
    DemoLogin("frontdesk@demo.test", "Sam Patel", Role.FRONTDESK),
    DemoLogin("patient@demo.test", "Daniel Moreau", None),
]
EXTRA_DEMO_STAFF = [
    DemoLogin("nurse@demo.test", "Nurse Olivia Brennan", Role.PRACTITIONER),
    DemoLogin("auditor@demo.test", "Jordan Lee", Role.AUDITOR),
]
OTHER_STAFF = [
    DemoLogin("admin@northside.test", "Lucía Navarro", Role.ADMIN),
    DemoLogin("practitioner@northside.test", "Dr Javier Ortega", Role.PRACTITIONER),
    DemoLogin("frontdesk@northside.test", "Marta Ruiz", Role.FRONTDESK),
]

GIVEN_FEMALE = [
    "Sophie",
    "Amelia",
    "Priya",
    "Chloe",
    "Hannah",
    "Fatima",
    "Grace",
    "Isabel",
    "Lucy",
    "Mei",
    "Aisha",
    "Emma",
    "Zoe",
    "Nadia",
    "Ruth",
    "Elena",
    "Keira",
    "Yasmin",
]
GIVEN_MALE = [
    "James",
    "Oliver",
    "Mohammed",
    "Thomas",
    "Daniel",
    "Arjun",
    "Lukas",
    "Ben",
    "Kwame",
    "Marco",
    "Ryan",
    "Hiro",
    "Samuel",
    "Tom",
    "Adam",
    "Luca",
    "Ethan",
    "Omar",
]
FAMILY = [
    "Smith",
    "Jones",
    "Khan",
    "Williams",
    "Taylor",
    "Brown",
    "Patel",
    "Wilson",
    "Murphy",
    "Nguyen",
    "Kowalski",
    "O'Brien",
    "Rossi",
    "Okafor",
    "Evans",
    "Müller",
    "Haddad",
    "Walker",
    "Fernández",
    "Silva",
    "Campbell",
    "Ahmed",
    "Novak",
    "Green",
    "Hughes",
]
STREETS = [
    "Elm Road",
    "Mill Lane",
    "Park Avenue",
    "Station Road",
    "Church Street",
    "Victoria Road",
    "Queens Walk",
    "Harbour View",
    "Orchard Close",
    "King Street",
]
CITIES = ["London", "Leeds", "Bristol"]
SPANISH_GIVEN = ["Carmen", "Javier", "Lucía", "Pablo", "Sofía", "Diego", "Elena", "Andrés"]
SPANISH_FAMILY = ["García", "López", "Martín", "Sánchez", "Romero", "Torres", "Díaz", "Vega"]


def _staff(
    organisation: Organisation, clinic: Clinic, logins: list[DemoLogin], admin: User | None
) -> User:
    first_admin = admin
    for login in logins:
        if login.role is None:
            continue
        user = User.objects.create_user(
            email=login.email, password=DEMO_PASSWORD, full_name=login.full_name
        )
        membership_create(
            user=user,
            organisation=organisation,
            role=login.role,
            default_clinic=clinic,
            acting_user=first_admin,
        )
        first_admin = first_admin or user
    assert first_admin is not None
    return first_admin


def _patient_details(
    rng: random.Random, clinics: list[Clinic], *, spanish: bool, index: int
) -> PatientDetails:
    # Hair-loss clinics see more men (androgenetic alopecia) but many women too.
    female = rng.random() < 0.45
    if spanish:
        given = rng.choice(SPANISH_GIVEN)
        family = f"{rng.choice(SPANISH_FAMILY)} {rng.choice(SPANISH_FAMILY)}"
    else:
        given = rng.choice(GIVEN_FEMALE if female else GIVEN_MALE)
        family = rng.choice(FAMILY)
    today = dt.date(2026, 11, 1)
    born = today - dt.timedelta(days=rng.randint(21 * 365, 64 * 365))
    local = f"{given}.{family}".lower().replace(" ", "").replace("'", "")
    if spanish:
        address = f"Calle {rng.choice(SPANISH_FAMILY)} {rng.randint(1, 90)}\nMadrid"
    else:
        address = f"{rng.randint(1, 180)} {rng.choice(STREETS)}\n{rng.choice(CITIES)}"
    if spanish:
        phone = f"+34 6{rng.randint(10, 99)} {rng.randint(100, 999)} {rng.randint(100, 999)}"
    else:
        # Ofcom's range reserved for drama: never a real subscriber.
        phone = f"+44 7700 900{index % 1000:03d}"
    return PatientDetails(
        given_name=given,
        family_name=family,
        date_of_birth=born,
        sex_at_birth=SexAtBirth.FEMALE if female else SexAtBirth.MALE,
        email=f"{local}{index}@example.com" if rng.random() < 0.9 else "",
        phone=phone,
        address=address,
        preferred_clinic=rng.choice(clinics),
    )


def _signature_png(seed: int) -> bytes:
    """A small black-on-white scribble encoded as PNG (grey, 8-bit), for demo signatures."""
    width, height = 300, 90
    pixels = bytearray(b"\xff" * (width * height))
    for x in range(20, width - 20):
        y = int(45 + 25 * math.sin((x + seed * 7) / 17) * math.cos(x / 41))
        for dy in (-1, 0, 1):
            pixels[(y + dy) * width + x] = 0x20
    raw = b"".join(
        b"\x00" + bytes(pixels[row * width : (row + 1) * width]) for row in range(height)
    )

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data))
            + kind
            + data
            + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
        )

    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(raw, 9))
        + chunk(b"IEND", b"")
    )


def _seed_intake_and_assessment(
    rng: random.Random, patient: Patient, practitioner: User, index: int
) -> None:
    """A plausible intake and staging; a few patients carry the answers screening acts on."""
    female = patient.sex_at_birth == SexAtBirth.FEMALE
    answers: dict[str, object] = {name: False for name in YES_NO_QUESTIONS}
    answers.update(
        onset=str(2026 - rng.randint(1, 12)),
        patterns=["diffuse", "widening_part"] if female else ["receding_hairline", "crown"],
        shedding=rng.choice(["none", "increased", "increased"]),
        family_history=rng.random() < 0.6,
        previous_treatments=rng.sample(["minoxidil_topical", "finasteride", "prp"], k=1),
        allergen_codes=[],
    )
    age = patient.age_on(dt.date(2026, 11, 1))
    if female:
        answers["could_become_pregnant"] = age < 50
    else:
        for name in ("pregnant", "breastfeeding", "could_become_pregnant"):
            answers[name] = None  # not asked of men
    # A few answers the screening must act on, so the demo shows every outcome.
    if female and index % 7 == 1:
        answers["pregnant"] = answers["could_become_pregnant"] = True
    if index % 5 == 2:
        answers["smokes_tobacco"] = True
    if not female and index % 6 == 3:
        answers["planning_pregnancy"] = True  # trying for a child: no dutasteride
    if index % 23 == 9:
        answers["scars_in_treatment_area"] = True
    if index % 11 == 4:
        answers["anticoagulant_or_antiplatelet"] = True
    if index % 13 == 5:
        answers["scalp_psoriasis"] = True
    if index % 17 == 3:
        answers["kidney_disease"] = None  # not asked yet
    intake_record(patient=patient, answers=answers, acting_user=practitioner)
    stage = (
        {"ludwig": rng.choice(["I", "II", "III"]), "sinclair": str(rng.randint(2, 4))}
        if female
        else {"norwood": rng.choice(["II", "IIa", "III", "III vertex", "IV", "V"])}
    )
    assessment_record(
        patient=patient,
        details=AssessmentDetails(
            assessed_on=dt.date(2026, 11, 1) - dt.timedelta(days=rng.randint(0, 60)),
            affected_zones=("mid_scalp", "vertex") if female else ("frontal_hairline", "vertex"),
            scarring_alopecia_signs=index % 19 == 7,
            **stage,
        ),
        acting_user=practitioner,
    )
    # Screen for the protocol the clinic would propose: dutasteride mesotherapy for men,
    # the vitamin and hyaluronic acid cocktail (or PRP) for women.
    code = (
        "dutasteride-mesotherapy" if not female else "prp-hair" if index % 2 else "hair-mesotherapy"
    )
    version = Protocol.objects.get(organisation=patient.organisation, code=code).current_version
    screening = screening_run(
        patient=patient,
        protocol_version=version,
        screened_on=timezone.localdate(),
        acting_user=practitioner,
    )
    if screening.outcome in {"eligible", "eligible_with_precautions"} and index % 4 != 3:
        # Most of the patients who may go ahead have signed; a few still have to.
        templates = {
            t.code: t for t in consent_templates_current(organisation=patient.organisation)
        }
        assert version is not None
        for code in (*version.consent_codes, "photography"):
            consent_sign(
                patient=patient,
                template=templates[code],
                signed_name=patient.full_name,
                signature_png=_signature_png(index),
                acting_user=practitioner,
            )


def seed_demo(*, patients: int = 60, other_patients: int = 15) -> bool:
    """Create the demo organisations. Returns False, changing nothing, when they exist.

    One transaction: an interrupted run leaves no half-seeded organisation behind.
    """
    if Organisation.objects.filter(slug__in=[DEMO_SLUG, OTHER_SLUG]).exists():
        return False
    rng = random.Random(20261125)  # noqa: S311 - demo data, not security
    with transaction.atomic():
        demo = organisation_create(
            name="Demo Hair Clinic", slug=DEMO_SLUG, mrn_prefix="DHC", acting_user=None
        )
        city = clinic_create(
            organisation=demo,
            name="City Centre",
            address="12 Harley Place\nLondon W1G 8QH",
            phone="+44 20 7946 0123",
            timezone_name="Europe/London",
            opening_hours=WEEKDAYS_9_TO_7,
            acting_user=None,
        )
        riverside = clinic_create(
            organisation=demo,
            name="Riverside",
            address="3 Wharf Street\nLondon SE1 2AB",
            phone="+44 20 7946 0456",
            timezone_name="Europe/London",
            opening_hours=WEEKDAYS_9_TO_7,
            acting_user=None,
        )
        admin = _staff(demo, city, DEMO_LOGINS + EXTRA_DEMO_STAFF, None)
        clinics = [city, riverside]
        practitioner = User.objects.get(email="practitioner@demo.test")
        clinicians = [practitioner, User.objects.get(email="nurse@demo.test")]
        seed_calendar(clinics=clinics, practitioners=clinicians)
        from mesoclinic.treatments.demo import seed_inventory

        seed_inventory(organisation=demo, clinics=clinics, admin=admin, today=timezone.localdate())
        demo_patients = []
        for index in progress(range(patients), total=patients, label="Demo Hair Clinic patients"):
            details = _patient_details(rng, clinics, spanish=False, index=index)
            if index == 0:
                details = PatientDetails(
                    given_name="Daniel",
                    family_name="Moreau",
                    date_of_birth=dt.date(1988, 4, 17),
                    sex_at_birth=SexAtBirth.MALE,
                    email="patient@demo.test",
                    phone="+44 7700 900999",
                    address="8 Canal Row\nLondon E8 4PL",
                    preferred_clinic=city,
                )
            patient = patient_create(
                organisation=demo, details=details, acting_user=admin, confirm_not_duplicate=True
            )
            if index == 0:
                patient_portal_account_create(
                    patient=patient,
                    email="patient@demo.test",
                    password=DEMO_PASSWORD,
                    acting_user=admin,
                )
            if index % 3 != 2:  # two in three patients have been seen for intake
                _seed_intake_and_assessment(rng, patient, practitioner, index)
            demo_patients.append(patient)
        seed_courses(
            rng=rng,
            patients=demo_patients,
            clinics=clinics,
            practitioners=clinicians,
            front_desk=User.objects.get(email="frontdesk@demo.test"),
        )
        from mesoclinic.safety.demo import seed_open_example

        seed_open_example(practitioner=practitioner, now=clock.now())
        from mesoclinic.outcomes.demo import seed_outcomes

        seed_outcomes(rng=rng, organisation_id=demo.pk, today=timezone.localdate())

        other = organisation_create(
            name="Northside Aesthetics", slug=OTHER_SLUG, mrn_prefix="NSA", acting_user=None
        )
        madrid = clinic_create(
            organisation=other,
            name="Northside Madrid",
            address="Calle de Serrano 40\n28001 Madrid",
            phone="+34 910 000 000",
            timezone_name="Europe/Madrid",
            opening_hours=WEEKDAYS_10_TO_8,
            acting_user=None,
        )
        other_admin = _staff(other, madrid, OTHER_STAFF, None)
        for index in progress(
            range(other_patients), total=other_patients, label="Northside Aesthetics patients"
        ):
            patient_create(
                organisation=other,
                details=_patient_details(rng, [madrid], spanish=True, index=index),
                acting_user=other_admin,
                confirm_not_duplicate=True,
            )
    return True


def demo_patient_count() -> int:
    return Patient.objects.filter(organisation__slug=DEMO_SLUG).count()
