"""Benchmark the recall query and the chart's reads on 1,000,000 charted injections.

    .venv/bin/python bench/charting.py                    # SQLite under var/bench/charting/
    .venv/bin/python bench/charting.py --quick            # 20,000 injections: a smoke run
    createdb -h 127.0.0.1 -U postgres mesoclinic_bench_charting
    BENCH_DATABASE_URL=postgresql://postgres@127.0.0.1:5432/mesoclinic_bench_charting \\
        .venv/bin/python bench/charting.py --injections 1000000

One organisation with 2 clinics and 6 practitioners each, 5 treatment products with 40 lots
each (200 lots), and a charted history: ``--injections`` (or BENCH_INJECTIONS, default
1,000,000) injection lines, 4 to a session revision, so 250,000 revisions of about 238,000
visits over the four years before Monday 4 January 2027 (each in a free 45-minute slot of
one practitioner, no patient in two places at once: PostgreSQL's exclusion constraints hold
for the drafts' checked-in appointments). One visit in 20 was amended (its
first revision superseded by a second that corrects the lot of two lines, so the "current"
filter matters) and one in 200 is still a draft. One patient per 10 lines (100,000), a
fifth of them regulars who come five times as often. Lot use is skewed: 5 popular lots
get about 20,000 lines each, the others about 4,600; 10 lots are recalled, the most used
one among them, so the chart's recall alert has something to find.

The history is bulk-loaded with ``bulk_create`` in batches, not charted through
``treatments.services``: 1,000,000 lines through the services (locks, stock movements,
audit events per session) would take hours, and what is measured here is the reads. The
build's wall time is printed with the results.

Measured after ANALYZE (both databases): ``inventory.selectors.recall_rows`` for 50 random
lots, the most used one included; and, for 200 random patients (the one with the most
visits included), the three reads behind the chart: the session page's data
(``treatments.selectors.session_get`` and ``revisions_of`` for their latest visit), the
Sessions tab (``sessions_of_patient``) and the recall alert
(``inventory.selectors.recalled_lots_received``). Each read is timed once per sample after
one warm-up call, with its queries counted (CaptureQueriesContext); the results come as a
Markdown table for the README. ``--explain`` also prints the database's plan of each read's
queries for its slowest sample.

The database is built once and kept: a rerun with the same ``--injections`` measures it
again without rebuilding. Another size, ``--fresh`` (or BENCH_FRESH=1), or an interrupted
build starts from nothing: the SQLite file is deleted, or on PostgreSQL every table of the
BENCH_DATABASE_URL database is emptied (give the benchmark a database of its own).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import math
import os
import random
import re
import statistics
import sys
import time
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from typing import Any, NamedTuple

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
os.environ.setdefault("SECRET_KEY", "bench-only-secret-key-" + "b" * 40)
os.environ.setdefault("MESOCLINIC_VAR_DIR", str(ROOT / "var" / "bench" / "charting"))
os.environ.setdefault("ALLOWED_HOSTS", "testserver")
if os.environ.get("BENCH_DATABASE_URL"):
    os.environ["DATABASE_URL"] = os.environ["BENCH_DATABASE_URL"]
else:
    os.environ.pop("DATABASE_URL", None)
os.environ["DJANGO_SETTINGS_MODULE"] = "mesoclinic.settings"

import django  # noqa: E402

django.setup()

from django.conf import settings  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import connection, transaction  # noqa: E402
from django.db.models import Count  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402

from mesoclinic.accounts.access import Workspace, workspace_for_membership  # noqa: E402
from mesoclinic.accounts.models import Membership, Organisation, Role, User  # noqa: E402
from mesoclinic.accounts.services import (  # noqa: E402
    clinic_create,
    membership_create,
    organisation_create,
)
from mesoclinic.core.demo import FAMILY as DEMO_FAMILY  # noqa: E402
from mesoclinic.core.demo import GIVEN_FEMALE, GIVEN_MALE  # noqa: E402
from mesoclinic.core.progress import progress  # noqa: E402
from mesoclinic.inventory.models import Lot, Product, ProductKind, ProductUnit  # noqa: E402
from mesoclinic.inventory.selectors import recall_rows, recalled_lots_received  # noqa: E402
from mesoclinic.patients.models import Patient, SexAtBirth  # noqa: E402
from mesoclinic.patients.scales import SCALP_ZONES  # noqa: E402
from mesoclinic.patients.search import fold, search_document  # noqa: E402
from mesoclinic.protocols.models import ProtocolVersion  # noqa: E402
from mesoclinic.scheduling.models import (  # noqa: E402
    Appointment,
    AppointmentStatus,
    AppointmentType,
)
from mesoclinic.scheduling.services import SESSION_TYPE_CODE  # noqa: E402
from mesoclinic.treatments.models import (  # noqa: E402
    Injection,
    SessionStatus,
    Technique,
    TreatmentSession,
)
from mesoclinic.treatments.selectors import (  # noqa: E402
    revisions_of,
    session_get,
    sessions_of_patient,
)

SLUG = "bench-charting"
NOW = dt.datetime(2027, 1, 4, 7, 0, tzinfo=dt.UTC)  # the history ends the day before
HISTORY_DAYS = 4 * 365  # at least: longer when the calendar would be over FULL
SLOTS_PER_DAY = 16  # 45-minute visits from 08:00 to 20:00, every day
SLOT_MINUTES = 45
FULL = 0.85  # the share of the practitioners' slots the history books at most
CLINICS = 2
PRACTITIONERS = 6  # per clinic
PRODUCTS = 5
LOTS_PER_PRODUCT = 40
POPULAR_LOTS = 5  # lots used POPULAR_WEIGHT times as often as the others
POPULAR_WEIGHT = 4.3
RECALLED_LOTS = 10
LINES_PER_SESSION = 4
LINES_PER_PATIENT = 10  # patients = injections // this
REGULAR_SHARE = 5  # one patient in this many is a regular ...
REGULAR_WEIGHT = 5  # ... who comes this many times as often
AMENDED_EVERY = 20  # one visit in this many was amended (two revisions)
DRAFT_EVERY = 200  # one visit in this many is still a draft
LOT_SAMPLES = 50
PATIENT_SAMPLES = 200
BATCH = 2000  # visits (or patients) per transaction
GIVEN = [fold(name).title() for name in GIVEN_FEMALE + GIVEN_MALE]
FAMILY = [fold(name).replace("'", "").title() for name in DEMO_FAMILY]


def arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument(
        "--injections",
        type=int,
        default=int(os.environ.get("BENCH_INJECTIONS", "1000000")),
        help="injection lines to chart (default 1,000,000; BENCH_INJECTIONS)",
    )
    parser.add_argument(
        "--quick", action="store_true", help="20,000 injections: a smoke run (overrides)"
    )
    parser.add_argument(
        "--fresh",
        action="store_true",
        default=os.environ.get("BENCH_FRESH") == "1",
        help="rebuild from nothing (BENCH_FRESH=1)",
    )
    parser.add_argument(
        "--explain", action="store_true", help="print each read's query plan (slowest sample)"
    )
    args = parser.parse_args()
    if args.quick:
        args.injections = 20_000
    if args.injections < LINES_PER_SESSION * AMENDED_EVERY * 10:
        parser.error(f"--injections: at least {LINES_PER_SESSION * AMENDED_EVERY * 10}")
    return args


# --- Building the history ----------------------------------------------------------------------


class Stages:
    """Wall time of each build stage, in order."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = {}

    def run(self, name: str, work: Callable[[], Any]) -> Any:
        started = time.perf_counter()
        result = work()
        self.seconds[name] = time.perf_counter() - started
        return result


def results_file() -> Path:
    db = settings.DATABASES["default"]
    name = Path(str(db["NAME"])).stem if connection.vendor == "sqlite" else str(db["NAME"])
    return Path(settings.VAR_DIR) / f"charting-build-{connection.vendor}-{name}.json"


def read_json(path: Path) -> dict[str, Any] | None:
    """A build record kept next to the database, or None when there is none."""
    if not path.exists():
        return None
    data: dict[str, Any] = json.loads(path.read_text())
    return data


def write_json(path: Path, data: dict[str, Any]) -> None:
    """Write a build record atomically (an interrupted write leaves the old one)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(data, indent=2))
    tmp.replace(path)


def load_build() -> dict[str, Any] | None:
    return read_json(results_file())


def save_build(data: dict[str, Any]) -> None:
    write_json(results_file(), data)


def build_organisation(
    *, name: str = "Bench Charting Chain", slug: str = SLUG, mrn_prefix: str = "CHT"
) -> Organisation:
    """The organisation (shipped protocols and appointment types), CLINICS clinics and
    PRACTITIONERS practitioners at each (``pract-c<clinic>-<n>@<slug>.test``)."""
    with transaction.atomic():
        organisation = organisation_create(
            name=name, slug=slug, mrn_prefix=mrn_prefix, acting_user=None
        )
        for n in range(1, CLINICS + 1):
            clinic = clinic_create(
                organisation=organisation,
                name=f"Bench Clinic {n}",
                timezone_name="Europe/London",
                acting_user=None,
            )
            for p in range(1, PRACTITIONERS + 1):
                person = User.objects.create_user(
                    email=f"pract-c{n}-{p}@{slug}.test",
                    password=None,
                    full_name=f"Practitioner C{n}-{p}",
                )
                membership_create(
                    user=person,
                    organisation=organisation,
                    role=Role.PRACTITIONER,
                    default_clinic=clinic,
                    acting_user=None,
                )
    return organisation


def build_lots(organisation: Organisation) -> list[Lot]:
    """PRODUCTS treatment products of LOTS_PER_PRODUCT lots each; RECALLED_LOTS recalled
    (the first, most popular lot among them)."""
    recaller = User.objects.get(email=f"pract-c1-1@{SLUG}.test")
    with transaction.atomic():
        products = Product.objects.bulk_create(
            Product(
                organisation=organisation,
                name=f"Bench Cocktail {p}",
                kind=ProductKind.TREATMENT,
                manufacturer="Bench Labs",
                unit=ProductUnit.ML,
            )
            for p in range(1, PRODUCTS + 1)
        )
        lots = Lot.objects.bulk_create(
            Lot(
                organisation=organisation,
                product=products[p],
                lot_number=f"BL{p + 1}-{n:04d}",
                expires_on=(NOW - dt.timedelta(days=HISTORY_DAYS - 400 - 30 * n)).date(),
                supplier="Bench Supplies",
            )
            for n in range(LOTS_PER_PRODUCT)
            for p in range(PRODUCTS)
        )
        rng = random.Random(1)
        recalled = [lots[0], *rng.sample(lots[POPULAR_LOTS:], RECALLED_LOTS - 1)]
        for lot in recalled:
            lot.recalled_at = NOW - dt.timedelta(days=rng.randrange(1, 60))
            lot.recall_reason = "Benchmark recall: sterility not assured."
            lot.recalled_by = recaller
        Lot.objects.bulk_update(recalled, ["recalled_at", "recall_reason", "recalled_by"])
    return lots


def seed_patients(organisation: Organisation, count: int) -> list[int]:
    """Bulk-load ``count`` patients; their ids, in order."""
    rng = random.Random(count)
    ids: list[int] = []
    batches = range(0, count, BATCH)
    for start in progress(batches, total=len(batches), label=f"Seeding {count} patients"):
        size = min(BATCH, count - start)
        with transaction.atomic():
            locked = Organisation.objects.select_for_update().get(pk=organisation.pk)
            rows = []
            for offset in range(size):
                number = locked.mrn_last_number + offset + 1
                given, family = rng.choice(GIVEN), f"{rng.choice(FAMILY)}{number % 997}"
                mrn, email = f"CHT-{number:07d}", f"c{number}@example.com"
                phone = f"+44 7700{number:07d}"
                rows.append(
                    Patient(
                        organisation=organisation,
                        mrn=mrn,
                        given_name=given,
                        family_name=family,
                        date_of_birth=dt.date(1950, 1, 1) + dt.timedelta(days=number % 20000),
                        sex_at_birth=rng.choice([SexAtBirth.FEMALE, SexAtBirth.MALE]),
                        email=email,
                        phone=phone,
                        search_document=search_document(
                            given_name=given, family_name=family, mrn=mrn, email=email, phone=phone
                        ),
                    )
                )
            ids.extend(p.pk for p in Patient.objects.bulk_create(rows, batch_size=1000))
            locked.mrn_last_number += size
            locked.save(update_fields=["mrn_last_number"])
    return ids


def chart_history(
    organisation: Organisation, lots: list[Lot], patient_ids: list[int], injections: int
) -> None:
    """Bulk-load visits (completed appointments), their session revisions and lines until
    ``injections`` lines are charted."""
    memberships = Membership.objects.filter(organisation=organisation, role=Role.PRACTITIONER)
    chairs = [(m.user_id, m.default_clinic_id) for m in memberships.order_by("user__email")]
    versions = list(
        ProtocolVersion.objects.filter(
            protocol__organisation=organisation, current_of__isnull=False, area="scalp"
        ).order_by("pk")
    ) or list(
        ProtocolVersion.objects.filter(protocol__organisation=organisation).order_by("pk")[:1]
    )
    session_type = AppointmentType.objects.get(organisation=organisation, code=SESSION_TYPE_CODE)
    zones = [code for code, _label in SCALP_ZONES]
    techniques = [Technique.NAPPAGE, Technique.POINT_BY_POINT, Technique.PAPULE]
    lot_weights = [POPULAR_WEIGHT if i < POPULAR_LOTS else 1.0 for i in range(len(lots))]
    rng = random.Random(injections)
    for i in range(POPULAR_LOTS, len(lots)):  # some spread among the ordinary lots
        lot_weights[i] = rng.uniform(0.6, 1.4)
    lot_cum = _cumulative(lot_weights)
    patient_cum = _cumulative(
        [REGULAR_WEIGHT if n % REGULAR_SHARE == 0 else 1 for n in range(len(patient_ids))]
    )
    revisions = injections // LINES_PER_SESSION
    visits = revisions * AMENDED_EVERY // (AMENDED_EVERY + 1)
    while visits + _amended_before(visits) < revisions:  # land on the line count
        visits += 1
    # Every visit takes a free slot of one practitioner, and a patient is never in two
    # places at once: PostgreSQL's exclusion constraints refuse overlapping active
    # appointments (the drafts' checked-in ones), and the calendar stays plausible.
    days = max(HISTORY_DAYS, math.ceil(visits / (len(chairs) * SLOTS_PER_DAY * FULL)))
    slots = rng.sample(range(days * SLOTS_PER_DAY * len(chairs)), visits)
    busy: set[tuple[int, int]] = set()  # (patient, time slot)
    first_slot = (NOW - dt.timedelta(days=days)).replace(hour=8, minute=0)

    def booked(number: int, slot: int) -> Visit:
        practitioner_id, clinic_id = chairs[slot % len(chairs)]
        when = slot // len(chairs)
        while True:
            patient_id = rng.choices(patient_ids, cum_weights=patient_cum)[0]
            if (patient_id, when) not in busy:
                busy.add((patient_id, when))
                break
        day, minutes = divmod(when, SLOTS_PER_DAY)
        starts_at = first_slot + dt.timedelta(days=day, minutes=SLOT_MINUTES * minutes)
        return Visit(number, patient_id, practitioner_id, clinic_id, starts_at)

    batches = range(0, visits, BATCH)
    label = f"Charting {visits} visits"
    for start in progress(batches, total=len(batches), label=label):
        size = min(BATCH, visits - start)
        with transaction.atomic():
            _chart_batch(
                rng,
                organisation=organisation,
                visits=[booked(n, slots[n]) for n in range(start, start + size)],
                versions=versions,
                session_type=session_type,
                zones=zones,
                techniques=techniques,
                lots=lots,
                lot_cum=lot_cum,
            )


class Visit(NamedTuple):
    number: int
    patient_id: int
    practitioner_id: int
    clinic_id: int | None
    starts_at: dt.datetime


def _cumulative(weights: list[float] | list[int]) -> list[float]:
    total, out = 0.0, []
    for w in weights:
        total += w
        out.append(total)
    return out


def _amended_before(visits: int) -> int:
    """How many of the first ``visits`` visits were amended."""
    return (visits + AMENDED_EVERY - 8) // AMENDED_EVERY


def _amended(number: int) -> bool:
    return number % AMENDED_EVERY == 7


def _draft(number: int) -> bool:
    return number % DRAFT_EVERY == 13 and not _amended(number)


def _chart_batch(
    rng: random.Random,
    *,
    organisation: Organisation,
    visits: list[Visit],
    versions: list[ProtocolVersion],
    session_type: AppointmentType,
    zones: list[str],
    techniques: list[str],
    lots: list[Lot],
    lot_cum: list[float],
) -> None:
    plans = []
    for number, patient_id, practitioner_id, clinic_id, starts_at in visits:
        first, second = rng.choices(lots, cum_weights=lot_cum, k=2)
        if rng.random() < 0.5:
            second = first
        plans.append(
            {
                "number": number,
                "patient_id": patient_id,
                "clinic_id": clinic_id,
                "practitioner_id": practitioner_id,
                "starts_at": starts_at,
                "version": versions[number % len(versions)],
                "lots": [first, first, second, second],
                "zones": rng.sample(zones, LINES_PER_SESSION),
                "technique": rng.choice(techniques),
                "draft": _draft(number),
                "amended": _amended(number),
            }
        )
    appointments = Appointment.objects.bulk_create(
        (
            Appointment(
                organisation=organisation,
                clinic_id=p["clinic_id"],
                practitioner_id=p["practitioner_id"],
                patient_id=p["patient_id"],
                appointment_type=session_type,
                starts_at=p["starts_at"],
                ends_at=p["starts_at"] + dt.timedelta(minutes=45),
                status=AppointmentStatus.CHECKED_IN if p["draft"] else AppointmentStatus.COMPLETED,
                created_by_id=p["practitioner_id"],
            )
            for p in plans
        ),
        batch_size=500,
    )
    firsts = TreatmentSession.objects.bulk_create(
        (
            _session(organisation, p, a, revision=1, superseded=p["amended"])
            for p, a in zip(plans, appointments, strict=True)
        ),
        batch_size=500,
    )
    amended = [
        (p, a, s) for p, a, s in zip(plans, appointments, firsts, strict=True) if p["amended"]
    ]
    seconds = TreatmentSession.objects.bulk_create(
        (_session(organisation, p, a, revision=2, supersedes=s) for p, a, s in amended),
        batch_size=500,
    )
    lines = []
    for p, session in zip(plans, firsts, strict=True):
        session_lots = p["lots"]
        if p["amended"]:  # the first revision charted the wrong lot on two lines
            session_lots = [*session_lots[:2], *rng.choices(lots, cum_weights=lot_cum, k=1) * 2]
        lines.extend(_lines(organisation, p, session, session_lots, rng))
    for (p, _a, _s), session in zip(amended, seconds, strict=True):
        lines.extend(_lines(organisation, p, session, p["lots"], rng))
    Injection.objects.bulk_create(lines, batch_size=1000)


def _session(
    organisation: Organisation,
    plan: dict[str, Any],
    appointment: Appointment,
    *,
    revision: int,
    superseded: bool = False,
    supersedes: TreatmentSession | None = None,
) -> TreatmentSession:
    signed_at = None if plan["draft"] else plan["starts_at"] + dt.timedelta(minutes=40)
    if supersedes is not None:
        signed_at = plan["starts_at"] + dt.timedelta(days=2)
    version: ProtocolVersion = plan["version"]
    return TreatmentSession(
        organisation=organisation,
        patient_id=plan["patient_id"],
        clinic_id=plan["clinic_id"],
        practitioner_id=plan["practitioner_id"],
        appointment=appointment,
        protocol_version=version,
        area=version.area,
        performed_on=plan["starts_at"].date(),
        revision=revision,
        supersedes=supersedes,
        superseded_at=plan["starts_at"] + dt.timedelta(days=2) if superseded else None,
        amendment_reason="Wrong lot recorded on two lines." if supersedes else "",
        status=SessionStatus.DRAFT if plan["draft"] else SessionStatus.SIGNED,
        pain_score=plan["number"] % 6,
        reactions=["erythema"] if plan["number"] % 3 == 0 else [],
        signed_at=signed_at,
        signed_by_id=None if signed_at is None else plan["practitioner_id"],
        created_by_id=plan["practitioner_id"],
    )


def _lines(
    organisation: Organisation,
    plan: dict[str, Any],
    session: TreatmentSession,
    session_lots: list[Lot],
    rng: random.Random,
) -> list[Injection]:
    return [
        Injection(
            organisation=organisation,
            session=session,
            position=position,
            zone=zone,
            technique=plan["technique"],
            depth_mm=Decimal("1.5"),
            needle_gauge=32,
            needle_length_mm=Decimal("4.0"),
            points=rng.randrange(20, 80),
            volume_ml=Decimal(rng.randrange(20, 100)) / 100,
            product_id=lot.product_id,
            lot=lot,
        )
        for position, (zone, lot) in enumerate(zip(plan["zones"], session_lots, strict=True), 1)
    ]


def build(injections: int) -> dict[str, Any]:
    """The whole history, from an empty database; the build's timings."""
    stages = Stages()
    began = time.perf_counter()
    organisation = stages.run("organisation", build_organisation)
    lots = stages.run("lots", lambda: build_lots(organisation))
    patient_ids = stages.run(
        "patients", lambda: seed_patients(organisation, injections // LINES_PER_PATIENT)
    )
    stages.run("history", lambda: chart_history(organisation, lots, patient_ids, injections))
    stages.run("analyze", analyze)
    return {
        "injections_requested": injections,
        "build_seconds": time.perf_counter() - began,
        "stages": stages.seconds,
    }


def analyze() -> None:
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")


# --- Measuring ---------------------------------------------------------------------------------


class Read:
    """Timings, query counts and result sizes of one read over its samples."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.seconds: list[float] = []
        self.queries: list[int] = []
        self.rows: list[int] = []
        self.slowest: tuple[float, list[str]] = (-1.0, [])

    def time(self, call: Callable[[], int]) -> None:
        with CaptureQueriesContext(connection) as captured:
            started = time.perf_counter()
            rows = call()
            took = time.perf_counter() - started
        self.seconds.append(took)
        self.queries.append(len(captured.captured_queries))
        self.rows.append(rows)
        if took > self.slowest[0]:
            self.slowest = (took, [q["sql"] for q in captured.captured_queries])


def sample_lots(organisation: Organisation) -> tuple[list[int], int]:
    """LOT_SAMPLES random lot ids, the most used lot first; and that lot's line count."""
    used = list(
        Injection.objects.filter(organisation=organisation, lot__isnull=False)
        .values("lot_id")
        .annotate(n=Count("pk"))
        .order_by("-n", "lot_id")
        .values_list("lot_id", "n")
    )
    top, top_lines = used[0]
    rest = [lot_id for lot_id, _n in used[1:]]
    return [top, *random.Random(5).sample(rest, min(LOT_SAMPLES - 1, len(rest)))], top_lines


def sample_patients(organisation: Organisation) -> tuple[list[tuple[Patient, int]], int]:
    """PATIENT_SAMPLES random charted patients, the one with most visits first, each with
    their latest visit's current revision; and that patient's visit count."""
    current = TreatmentSession.objects.filter(organisation=organisation, superseded_at__isnull=True)
    busiest = (
        current.values("patient_id").annotate(n=Count("pk")).order_by("-n", "patient_id").first()
    )
    assert busiest is not None, "no sessions charted"
    ids = list(
        Patient.objects.filter(organisation=organisation)
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    rng = random.Random(7)
    wanted = [busiest["patient_id"]]
    picked: list[tuple[Patient, int]] = []
    seen: set[int] = set()
    while len(picked) < PATIENT_SAMPLES:
        for patient_id in wanted:
            if patient_id in seen:
                continue
            seen.add(patient_id)
            latest = current.filter(patient_id=patient_id).order_by("-performed_on", "-pk").first()
            if latest is not None:
                patient = Patient.objects.select_related("organisation").get(pk=patient_id)
                picked.append((patient, latest.pk))
        wanted = rng.sample(ids, PATIENT_SAMPLES - len(picked))
    return picked, busiest["n"]


def practitioner_workspace(organisation: Organisation) -> Workspace:
    """The workspace of the organisation's first practitioner (by email)."""
    membership = (
        Membership.objects.filter(organisation=organisation, role=Role.PRACTITIONER)
        .select_related("user", "organisation")
        .order_by("user__email")
        .first()
    )
    assert membership is not None
    return workspace_for_membership(membership)


def measure(organisation: Organisation) -> tuple[list[Read], dict[str, int]]:
    workspace = practitioner_workspace(organisation)
    lot_ids, top_lines = sample_lots(organisation)
    patients, busiest_visits = sample_patients(organisation)
    lots = Lot.objects.select_related("product").in_bulk(lot_ids)

    recall = Read("recall list (`recall_rows`)")
    page = Read("session page (`session_get` + `revisions_of`)")
    tab = Read("Sessions tab (`sessions_of_patient`)")
    alert = Read("recall alert (`recalled_lots_received`)")

    def session_page(ws: Workspace, session_id: int) -> int:
        session = session_get(workspace=ws, session_id=session_id)
        return len(revisions_of(session))

    # One warm-up of each read (caches, connection), then every sample once.
    recall_rows(lot=lots[lot_ids[-1]])
    first, latest = patients[-1]
    session_page(workspace, latest)
    sessions_of_patient(patient=first)
    recalled_lots_received(patient_id=first.pk)
    for lot_id in progress(lot_ids, total=len(lot_ids), label=f"Timing {len(lot_ids)} recalls"):
        recall.time(lambda lot_id=lot_id: len(recall_rows(lot=lots[lot_id])))
    label = f"Timing the chart of {len(patients)} patients"
    for patient, session_id in progress(patients, total=len(patients), label=label):
        page.time(lambda s=session_id: session_page(workspace, s))
        tab.time(lambda p=patient: len(sessions_of_patient(patient=p)))
        alert.time(lambda p=patient: len(recalled_lots_received(patient_id=p.pk)))
    facts = {
        "top_lot_lines": top_lines,
        "top_lot_rows": recall.rows[0],
        "busiest_visits": busiest_visits,
        "busiest_tab_rows": tab.rows[0],
    }
    return [recall, page, tab, alert], facts


def explain(read: Read) -> None:
    took, queries = read.slowest
    print(f"\n### {read.name}: slowest sample {took * 1000:.1f} ms\n")
    prefix = "EXPLAIN QUERY PLAN " if connection.vendor == "sqlite" else "EXPLAIN ANALYZE "
    for sql in queries:
        print(f"```sql\n{re.sub(r'^SELECT .*? FROM ', 'SELECT ... FROM ', sql)}\n```")
        with connection.cursor() as cursor:
            cursor.execute(prefix + sql)
            plan = cursor.fetchall()
        print("```")
        for row in plan:
            print(" | ".join(str(c) for c in row) if connection.vendor == "sqlite" else row[0])
        print("```")


def counts(organisation: Organisation) -> dict[str, int]:
    sessions = TreatmentSession.objects.filter(organisation=organisation)
    return {
        "patients": Patient.objects.filter(organisation=organisation).count(),
        "visits": Appointment.objects.filter(organisation=organisation).count(),
        "revisions": sessions.count(),
        "superseded": sessions.filter(superseded_at__isnull=False).count(),
        "drafts": sessions.filter(status=SessionStatus.DRAFT).count(),
        "injections": Injection.objects.filter(organisation=organisation).count(),
        "lots": Lot.objects.filter(organisation=organisation).count(),
        "recalled": Lot.objects.filter(
            organisation=organisation, recalled_at__isnull=False
        ).count(),
    }


def ensure_build(
    args: argparse.Namespace, *, on_rebuild: Callable[[], object] = lambda: None
) -> dict[str, Any]:
    """The kept build of ``args.injections`` lines: built from nothing when it is missing,
    of another size, or ``--fresh`` (``on_rebuild`` first forgets what depends on it)."""
    built = None if args.fresh else load_build()
    if built is not None and built.get("injections_requested") != args.injections:
        built = None
    if built is None and connection.vendor == "sqlite":
        connection.close()
        name = Path(str(settings.DATABASES["default"]["NAME"]))
        for path in (name, Path(f"{name}-wal"), Path(f"{name}-shm")):
            path.unlink(missing_ok=True)
    call_command("migrate", verbosity=0)
    if built is None:
        results_file().unlink(missing_ok=True)  # an interrupted build is redone
        on_rebuild()
        if connection.vendor != "sqlite":
            call_command("flush", interactive=False, verbosity=0)
        built = build(args.injections)
        save_build(built)
    return built


def main() -> None:
    args = arguments()
    built = ensure_build(args)
    organisation = Organisation.objects.get(slug=SLUG)
    size = counts(organisation)
    reads, facts = measure(organisation)

    stages = ", ".join(f"{k} {v:.0f} s" for k, v in built["stages"].items())
    print(
        f"\n{connection.vendor}: {size['injections']:,} injections on {size['revisions']:,} "
        f"session revisions ({size['superseded']:,} superseded, {size['drafts']:,} drafts) of "
        f"{size['visits']:,} visits, {size['patients']:,} patients, {size['lots']} lots "
        f"({size['recalled']} recalled)"
    )
    print(f"build: {built['build_seconds']:.0f} s ({stages})")
    print(
        f"most used lot: {facts['top_lot_lines']:,} lines, recall list of "
        f"{facts['top_lot_rows']:,} sessions; busiest patient: {facts['busiest_visits']} "
        f"visits ({facts['busiest_tab_rows']} on the Sessions tab)\n"
    )
    print_table(reads, explain_slowest=args.explain)


def print_table(reads: list[Read], *, explain_slowest: bool) -> None:
    """The reads as a Markdown table for the README; their slowest plans if asked."""
    print(
        f"| read ({connection.vendor}) | samples | rows, max | p50 ms | p95 ms | max ms | queries |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|")
    for read in reads:
        q = sorted(set(read.queries))
        queries = str(q[0]) if len(q) == 1 else f"{q[0]}-{q[-1]}"
        print(
            f"| {read.name} | {len(read.seconds)} | {max(read.rows):,} | "
            f"{statistics.median(read.seconds) * 1000:.1f} | "
            f"{pct(read.seconds, 0.95) * 1000:.1f} | {max(read.seconds) * 1000:.1f} | {queries} |"
        )
    if explain_slowest:
        for read in reads:
            explain(read)


def pct(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[max(0, int(len(ordered) * share) - 1)]


if __name__ == "__main__":
    try:
        main()
    except KeyboardInterrupt:
        print("\nInterrupted: the next run builds again from nothing.", file=sys.stderr)
        sys.exit(130)
