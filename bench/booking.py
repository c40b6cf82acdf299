"""Benchmark planning and booking courses on a chain-sized calendar.

    .venv/bin/python bench/booking.py                     # SQLite under var/bench/booking/
    BENCH_DATABASE_URL=postgresql://postgres@127.0.0.1:5432/mesoclinic_bench_booking \\
        .venv/bin/python bench/booking.py
    BENCH_COURSES=2000 .venv/bin/python bench/booking.py --fresh --profile

A chain of 4 clinics (open Monday to Friday 08:00-20:00 and Saturday 09:00-14:00, Europe/
London), 5 rooms and 5 practitioners each (Monday to Friday 08:00-20:00), and a protocol of
exactly 8 induction sessions (the shipped hair-mesotherapy content without maintenance or
reviews). With the scheduling clock fixed at Monday 4 January 2027 07:00, the benchmark
plans and books BENCH_COURSES courses (default 10,000) one by one through
``course_create``, start dates spread over the next BENCH_SPREAD_WEEKS weeks (default 52:
the chain books at most 1,600 45-minute sessions a week, so 80,000 sessions need about a
year) and clinics and practitioners taken in turn. It reports courses per second, per-course
time and queries, and, read back from the database, how many sessions were placed inside
their windows. It then books history (courses started in the weeks before, each booked with
the clock moved back to its time) until the calendar holds BENCH_CALENDAR_APPOINTMENTS
active appointments (default 100,000), and times BENCH_PROBES single courses (default 50)
booked into the busiest weeks of that full calendar; they are deleted again afterwards, so
every run times the same calendar.

The database is built once and kept: a rerun resumes an interrupted build and measures the
full calendar again; the build's own timings are kept in a JSON file next to the SQLite
database. Interrupt with Ctrl-C at any point: every course is its own transaction. ``--fresh``
(or BENCH_FRESH=1) rebuilds from nothing: it deletes the SQLite file, or on PostgreSQL
empties every table of the BENCH_DATABASE_URL database (give the benchmark a database of
its own). ``--profile`` also prints cProfile's top functions for one more course booked on
the full calendar. Patients, screenings and signed consents are bulk-loaded (load, not
clinical activity); every course is planned and booked through the real service.
"""

from __future__ import annotations

import base64
import cProfile
import dataclasses
import datetime as dt
import io
import json
import os
import pstats
import random
import statistics
import sys
import time
import zoneinfo
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
os.environ.setdefault("SECRET_KEY", "bench-only-secret-key-" + "b" * 40)
os.environ.setdefault("MESOCLINIC_VAR_DIR", str(ROOT / "var" / "bench" / "booking"))
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

from mesoclinic.accounts.models import Clinic, Organisation, Role, User  # noqa: E402
from mesoclinic.accounts.services import (  # noqa: E402
    clinic_create,
    membership_create,
    organisation_create,
)
from mesoclinic.core import clock  # noqa: E402
from mesoclinic.core.progress import progress  # noqa: E402
from mesoclinic.patients.models import Patient, SexAtBirth, SignedConsent  # noqa: E402
from mesoclinic.patients.search import search_document  # noqa: E402
from mesoclinic.patients.services import consent_templates_current  # noqa: E402
from mesoclinic.protocols.models import Protocol, ProtocolVersion  # noqa: E402
from mesoclinic.protocols.services import ProtocolContent, protocol_create  # noqa: E402
from mesoclinic.scheduling.models import (  # noqa: E402
    ACTIVE_STATUSES,
    Appointment,
    Course,
    CourseSession,
)
from mesoclinic.scheduling.services import course_create  # noqa: E402
from mesoclinic.scheduling.settings_services import (  # noqa: E402
    room_create,
    working_hours_create,
)
from mesoclinic.screening.models import Screening  # noqa: E402

COURSES = int(os.environ.get("BENCH_COURSES", "10000"))
CALENDAR = int(os.environ.get("BENCH_CALENDAR_APPOINTMENTS", "100000"))
PROBES = int(os.environ.get("BENCH_PROBES", "50"))
SPREAD_WEEKS = int(os.environ.get("BENCH_SPREAD_WEEKS", "52"))
FRESH = "--fresh" in sys.argv[1:] or os.environ.get("BENCH_FRESH") == "1"
PROFILE = "--profile" in sys.argv[1:] or os.environ.get("BENCH_PROFILE") == "1"

LONDON = zoneinfo.ZoneInfo("Europe/London")
NOW = dt.datetime(2027, 1, 4, 7, 0, tzinfo=LONDON)  # a Monday morning, before opening
HISTORY_WEEKS = 26  # history is booked in blocks of this many weeks before NOW ...
HISTORY_BLOCK_COURSES = 26 * 150  # ... of this many courses: 1,200 sessions a week
PROBE_WEEKS = (20, 32)  # probe courses start in these weeks after NOW: the busiest ones
CLINICS = 4
ROOMS = 5
PRACTITIONERS = 5  # per clinic
SESSIONS = 8
SLUG = "bench-booking"
PROTOCOL_CODE = "bench-hair-8"
BATCH = 2000
TINY_PNG = base64.b64decode(  # the test fixtures' one-pixel signature
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg=="
)
OPEN_HOURS = [(day, dt.time(8), dt.time(20)) for day in range(5)] + [(5, dt.time(9), dt.time(14))]
# Who books each kind of course (Course.created_by tells the three apart).
DESKS = {"main": "desk-main", "history": "desk-history", "probe": "desk-probe"}


class Chain:
    """The organisation and everything the courses are booked with."""

    def __init__(self, organisation: Organisation) -> None:
        self.organisation = organisation
        self.clinics = list(Clinic.objects.filter(organisation=organisation).order_by("pk"))
        self.staff = {
            clinic.pk: list(User.objects.filter(email__startswith=f"pract-c{n}-").order_by("email"))
            for n, clinic in enumerate(self.clinics, start=1)
        }
        self.desks = {
            kind: User.objects.get(email=f"{local}@{SLUG}.test") for kind, local in DESKS.items()
        }
        self.version = ProtocolVersion.objects.select_related("protocol").get(
            current_of__organisation=organisation, current_of__code=PROTOCOL_CODE
        )

    def courses(self, kind: str) -> int:
        return Course.objects.filter(
            organisation=self.organisation, created_by=self.desks[kind]
        ).count()

    def active_appointments(self) -> int:
        return Appointment.objects.filter(
            organisation=self.organisation, status__in=ACTIVE_STATUSES
        ).count()


# --- Building the chain --------------------------------------------------------------------


def _user(email: str, name: str) -> User:
    return User.objects.create_user(email=email, password=None, full_name=name)


def build_chain() -> Chain:
    """The organisation, clinics, rooms, staff, hours and the 8-session protocol (once)."""
    organisation = Organisation.objects.filter(slug=SLUG).first()
    if organisation is not None:
        return Chain(organisation)
    with transaction.atomic():
        organisation = organisation_create(
            name="Bench Booking Chain", slug=SLUG, mrn_prefix="BKB", acting_user=None
        )
        admin = _user(f"admin@{SLUG}.test", "Bench Admin")
        clinics = [
            clinic_create(
                organisation=organisation,
                name=f"Bench Clinic {n}",
                timezone_name="Europe/London",
                opening_hours=OPEN_HOURS,
                acting_user=None,
            )
            for n in range(1, CLINICS + 1)
        ]
        membership_create(
            user=admin,
            organisation=organisation,
            role=Role.ADMIN,
            default_clinic=clinics[0],
            acting_user=None,
        )
        for kind, local in DESKS.items():
            membership_create(
                user=_user(f"{local}@{SLUG}.test", f"Desk {kind.title()}"),
                organisation=organisation,
                role=Role.FRONTDESK,
                default_clinic=clinics[0],
                acting_user=admin,
            )
        for n, clinic in enumerate(clinics, start=1):
            for r in range(1, ROOMS + 1):
                room_create(clinic=clinic, name=f"Room {r}", acting_user=admin)
            for p in range(1, PRACTITIONERS + 1):
                person = _user(f"pract-c{n}-{p}@{SLUG}.test", f"Practitioner C{n}-{p}")
                membership_create(
                    user=person,
                    organisation=organisation,
                    role=Role.PRACTITIONER,
                    default_clinic=clinic,
                    acting_user=admin,
                )
                for weekday in range(5):
                    working_hours_create(
                        clinic=clinic,
                        practitioner=person,
                        weekday=weekday,
                        starts_at=dt.time(8),
                        ends_at=dt.time(20),
                        acting_user=admin,
                    )
        shipped = Protocol.objects.get(organisation=organisation, code="hair-mesotherapy")
        assert shipped.current_version is not None
        content = dataclasses.replace(
            ProtocolContent.of(shipped.current_version),
            name="Hair mesotherapy, 8 sessions (benchmark)",
            induction_sessions_min=SESSIONS,
            induction_sessions_max=SESSIONS,
            maintenance_sessions=0,
            maintenance_interval_min_days=None,
            maintenance_interval_target_days=None,
            maintenance_interval_max_days=None,
            review_after_days=[],
        )
        protocol_create(
            organisation=organisation, code=PROTOCOL_CODE, content=content, acting_user=admin
        )
    return Chain(organisation)


def seed_patients(chain: Chain, count: int, *, pool: str) -> None:
    """Bulk-load ``count`` patients screened eligible for the protocol and consented.

    ``pool`` ("Course" or "Probe") starts each family name, which keeps the probe patients
    apart from the ones the build uses up.
    """
    version = chain.version
    templates = [
        t
        for t in consent_templates_current(organisation=chain.organisation)
        if t.code in version.consent_codes
    ]
    screener = chain.staff[chain.clinics[0].pk][0]
    rng = random.Random(count)
    for start in range(0, count, BATCH):
        size = min(BATCH, count - start)
        with transaction.atomic():
            locked = Organisation.objects.select_for_update().get(pk=chain.organisation.pk)
            patients = []
            for offset in range(size):
                number = locked.mrn_last_number + offset + 1
                mrn = f"BKB-{number:06d}"
                given, family = rng.choice(["Ana", "Ben", "Chloe", "Dev"]), f"{pool}{number}"
                email, phone = f"b{number}@example.com", f"+44 7700{number:07d}"
                patients.append(
                    Patient(
                        organisation=chain.organisation,
                        mrn=mrn,
                        given_name=given,
                        family_name=family,
                        date_of_birth=dt.date(1960, 1, 1) + dt.timedelta(days=number % 15000),
                        sex_at_birth=rng.choice([SexAtBirth.FEMALE, SexAtBirth.MALE]),
                        email=email,
                        phone=phone,
                        search_document=search_document(
                            given_name=given, family_name=family, mrn=mrn, email=email, phone=phone
                        ),
                    )
                )
            Patient.objects.bulk_create(patients, batch_size=500)
            locked.mrn_last_number += size
            locked.save(update_fields=["mrn_last_number"])
            Screening.objects.bulk_create(
                (
                    Screening(
                        organisation=chain.organisation,
                        patient=patient,
                        screened_on=NOW.date() - dt.timedelta(days=200),
                        screened_by=screener,
                        protocol_kind=version.kind,
                        protocol_version=version,
                        ingredients=version.ingredient_codes,
                        outcome="eligible",
                        rule_set_version="bench",
                        facts={},
                        decision={"reasons": []},
                    )
                    for patient in patients
                ),
                batch_size=500,
            )
            SignedConsent.objects.bulk_create(
                (
                    SignedConsent(
                        organisation=chain.organisation,
                        patient=patient,
                        template=template,
                        body_sha256=template.body_sha256,
                        signed_name=patient.full_name,
                        signature_png=TINY_PNG,
                        signed_at=NOW - dt.timedelta(days=200),
                        witnessed_by=screener,
                    )
                    for patient in patients
                    for template in templates
                ),
                batch_size=500,
            )


def free_patients(chain: Chain, *, pool: str, batch: int = BATCH) -> Iterator[Patient]:
    """Patients of the pool without any course, lowest id first; seeds ``batch`` more
    whenever the pool runs out."""
    while True:
        ids = list(
            Patient.objects.filter(
                organisation=chain.organisation,
                family_name__startswith=pool,
                courses__isnull=True,
            )
            .order_by("pk")
            .values_list("pk", flat=True)[:200]
        )
        if not ids:
            seed_patients(chain, batch, pool=pool)
            continue
        # Loaded as a page would load them (organisation joined); handed out in id order.
        rows = Patient.objects.select_related("organisation").in_bulk(ids)
        for pk in ids:
            yield rows[pk]


# --- Booking -------------------------------------------------------------------------------


class Counter:
    """Counts the SQL queries run inside it (``connection.execute_wrapper``)."""

    def __init__(self) -> None:
        self.queries = 0

    def __call__(self, execute, sql, params, many, context):  # type: ignore[no-untyped-def]
        self.queries += 1
        return execute(sql, params, many, context)


def book(
    chain: Chain, *, index: int, patient: Patient, start_on: dt.date, kind: str
) -> tuple[float, int, int, int]:
    """Book course ``index`` of its kind at the clinic and practitioner whose turn it is;
    returns (seconds, queries, sessions booked, sessions unplaced)."""
    clinic = chain.clinics[index % len(chain.clinics)]
    staff = chain.staff[clinic.pk]
    practitioner = staff[(index // len(chain.clinics)) % len(staff)]
    counter = Counter()
    started = time.perf_counter()
    with connection.execute_wrapper(counter):
        result = course_create(
            patient=patient,
            protocol_version=chain.version,
            clinic=clinic,
            practitioner=practitioner,
            start_on=start_on,
            acting_user=chain.desks[kind],
        )
    seconds = time.perf_counter() - started
    return seconds, counter.queries, len(result.booked), len(result.unplaced)


def start_dates(seed: int, first: dt.date, days: int, count: int) -> list[dt.date]:
    rng = random.Random(seed)
    return [first + dt.timedelta(days=rng.randrange(days)) for _ in range(count)]


def results_file() -> Path:
    db = settings.DATABASES["default"]
    name = Path(str(db["NAME"])).stem if connection.vendor == "sqlite" else str(db["NAME"])
    return Path(settings.VAR_DIR) / f"booking-build-{connection.vendor}-{name}.json"


def load_build_timings() -> dict[str, list[float]]:
    path = results_file()
    if path.exists():
        data: dict[str, list[float]] = json.loads(path.read_text())
        return data
    return {"seconds": [], "queries": [], "wall": []}


def save_build_timings(timings: dict[str, list[float]]) -> None:
    path = results_file()
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(timings))
    tmp.replace(path)


def build_courses(chain: Chain, timings: dict[str, list[float]]) -> None:
    """The measured build: BENCH_COURSES courses from NOW on, resuming where it stopped."""
    done = chain.courses("main")
    if done >= COURSES:
        return
    starts = start_dates(20270104, NOW.date(), SPREAD_WEEKS * 7, COURSES)
    patients = free_patients(chain, pool="Course")
    began = time.perf_counter()
    count = 0
    try:
        with clock.travel_to(NOW):
            label = f"Booking {COURSES} courses"
            for index in progress(range(done, COURSES), total=COURSES - done, label=label):
                seconds, queries, _, _ = book(
                    chain, index=index, patient=next(patients), start_on=starts[index], kind="main"
                )
                timings["seconds"].append(seconds)
                timings["queries"].append(queries)
                count += 1
                if count % 500 == 0:
                    save_build_timings(
                        timings | {"wall": [*timings["wall"], time.perf_counter() - began]}
                    )
    finally:
        timings["wall"].append(time.perf_counter() - began)
        save_build_timings(timings)


def fill_calendar(chain: Chain) -> None:
    """Book history until the calendar holds CALENDAR active appointments.

    History course ``k`` starts in block ``k // HISTORY_BLOCK_COURSES`` of HISTORY_WEEKS
    weeks, counted back from NOW, and is booked with the clock at that block's first Monday
    (a course may start at most a year ahead). A block of courses keeps the chain about
    three quarters busy, so every block books nearly all its sessions.
    """
    have = chain.active_appointments()
    if have >= CALENDAR:
        return
    index = chain.courses("history")
    patients = free_patients(chain, pool="Course")
    state = {"have": have, "idle": 0}

    def until_full() -> Iterator[None]:
        while state["have"] < CALENDAR:
            if state["idle"] >= 100:
                raise SystemExit("100 history courses in a row booked nothing: the chain is full")
            yield

    # The bar counts courses against an estimate: a course books up to SESSIONS.
    estimate = -(-(CALENDAR - have) // SESSIONS)
    label = f"Filling the calendar to {CALENDAR} appointments"
    for _ in progress(until_full(), total=estimate, label=label):
        then = NOW - dt.timedelta(weeks=HISTORY_WEEKS * (index // HISTORY_BLOCK_COURSES + 1))
        start_on = then.date() + dt.timedelta(
            days=random.Random(index).randrange(HISTORY_WEEKS * 7)
        )
        with clock.travel_to(then):
            _, _, booked, _ = book(
                chain, index=index, patient=next(patients), start_on=start_on, kind="history"
            )
        index += 1
        state["have"] += booked
        state["idle"] = 0 if booked else state["idle"] + 1


def drop_probes(chain: Chain) -> None:
    """Delete the probe courses (a rerun probes the same calendar again)."""
    courses = Course.objects.filter(
        organisation=chain.organisation, created_by=chain.desks["probe"]
    )
    with transaction.atomic():
        Appointment.objects.filter(course_session__course__in=courses).delete()
        CourseSession.objects.filter(course__in=courses).delete()
        courses.delete()


def probe(chain: Chain) -> tuple[list[float], list[int], int, int]:
    """Time PROBES single courses booked into the busiest weeks of the full calendar."""
    first = NOW.date() + dt.timedelta(weeks=PROBE_WEEKS[0])
    starts = start_dates(7, first, (PROBE_WEEKS[1] - PROBE_WEEKS[0]) * 7, PROBES)
    patients = free_patients(chain, pool="Probe", batch=PROBES + 1)
    seconds, queries, booked, unplaced = [], [], 0, 0
    with clock.travel_to(NOW):
        label = f"Timing {PROBES} courses on the full calendar"
        for index in progress(range(PROBES), total=PROBES, label=label):
            took, count, placed, missed = book(
                chain, index=index, patient=next(patients), start_on=starts[index], kind="probe"
            )
            seconds.append(took)
            queries.append(count)
            booked += placed
            unplaced += missed
    return seconds, queries, booked, unplaced


def profile_one(chain: Chain) -> str:
    """cProfile of one more probe course: the top functions by own time."""
    patient = next(free_patients(chain, pool="Probe", batch=PROBES + 1))
    start_on = NOW.date() + dt.timedelta(weeks=26)
    profiler = cProfile.Profile()
    with clock.travel_to(NOW):
        profiler.enable()
        seconds, queries, _, _ = book(
            chain, index=PROBES, patient=patient, start_on=start_on, kind="probe"
        )
        profiler.disable()
    out = io.StringIO()
    stats = pstats.Stats(profiler, stream=out)
    stats.sort_stats("tottime").print_stats(20)
    stats.sort_stats("cumulative").print_stats(25)
    return f"one course: {seconds * 1000:.0f} ms, {queries} queries\n" + out.getvalue()


# --- Reading the results back ----------------------------------------------------------------


def placement(chain: Chain) -> dict[str, float]:
    """Sessions of the measured build, checked from the database: placed inside their
    stored window (the appointment's local date from earliest_on to latest_on)."""
    sessions = CourseSession.objects.filter(course__created_by=chain.desks["main"])
    total = sessions.count()
    rows = Appointment.objects.filter(
        course_session__course__created_by=chain.desks["main"], status__in=ACTIVE_STATUSES
    ).values_list(
        "starts_at",
        "course_session__earliest_on",
        "course_session__target_on",
        "course_session__latest_on",
    )
    placed = inside = on_target = off_target_days = 0
    for starts_at, earliest, target, latest in rows.iterator(chunk_size=5000):
        day = starts_at.astimezone(LONDON).date()
        placed += 1
        inside += earliest <= day <= latest
        on_target += day == target
        off_target_days += abs((day - target).days)
    return {
        "sessions": total,
        "placed": placed,
        "unplaced": total - placed,
        "inside": inside,
        "on_target": on_target,
        "mean_days_off_target": off_target_days / placed if placed else 0.0,
    }


def pct(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[max(0, int(len(ordered) * share) - 1)]


def main() -> None:
    if SPREAD_WEEKS * 7 > 366:
        raise SystemExit("BENCH_SPREAD_WEEKS: a course may start at most a year ahead (52 weeks)")
    if FRESH and connection.vendor == "sqlite":
        connection.close()
        name = Path(str(settings.DATABASES["default"]["NAME"]))
        for path in (name, Path(f"{name}-wal"), Path(f"{name}-shm")):
            path.unlink(missing_ok=True)
    call_command("migrate", verbosity=0)
    if FRESH:
        if connection.vendor != "sqlite":
            call_command("flush", interactive=False, verbosity=0)
        results_file().unlink(missing_ok=True)
    chain = build_chain()
    timings = load_build_timings()
    build_courses(chain, timings)
    fill_calendar(chain)
    drop_probes(chain)
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")
    place = placement(chain)
    calendar = chain.active_appointments()
    try:
        probe_seconds, probe_queries, probe_booked, probe_unplaced = probe(chain)
        report = profile_one(chain) if PROFILE else ""
    finally:
        drop_probes(chain)

    built = chain.courses("main")
    timed = len(timings["seconds"])
    wall = sum(timings["wall"])
    print(
        f"\n{connection.vendor}: {CLINICS} clinics, {CLINICS * PRACTITIONERS} practitioners, "
        f"{CLINICS * ROOMS} rooms; {built} courses of {SESSIONS} sessions starting over "
        f"{SPREAD_WEEKS} weeks from {NOW:%Y-%m-%d}\n"
    )
    print(f"{'build':44} {'value':>12}")
    if timed:
        print(f"{'courses timed (this database)':44} {timed:12}")
        print(f"{'wall time, s':44} {wall:12.1f}")
        print(f"{'courses per second':44} {timed / wall:12.1f}")
        if timed >= 2000:
            first, last = timings["seconds"][:1000], timings["seconds"][-1000:]
            rates = f"{1000 / sum(first):.1f} / {1000 / sum(last):.1f}"
            print(f"{'courses per second, first / last 1,000':44} {rates:>12}")
        print(f"{'per course p50 / p95 / max, ms':44} {_ms(timings['seconds']):>12}")
        print(f"{'queries per course mean / max':44} {_q(timings['queries']):>12}")
    else:
        print(f"{'courses per second':44} {'n/a: --fresh':>12}")
    sessions = place["sessions"] or 1
    print(f"{'sessions planned':44} {place['sessions']:12}")
    print(f"{'sessions booked':44} {place['placed']:12}")
    print(f"{'sessions unplaced':44} {place['unplaced']:12}")
    print(f"{'share placed inside their window':44} {place['inside'] / sessions:12.2%}")
    print(f"{'share on their target day':44} {place['on_target'] / sessions:12.2%}")
    print(f"{'mean days from target (placed)':44} {place['mean_days_off_target']:12.2f}")
    print(f"\n{'one course on a full calendar':44} {'value':>12}")
    print(f"{'active appointments in the calendar':44} {calendar:12}")
    print(f"{'courses timed':44} {len(probe_seconds):12}")
    print(f"{'per course p50 / p95 / max, ms':44} {_ms(probe_seconds):>12}")
    print(f"{'queries per course mean / max':44} {_q(probe_queries):>12}")
    print(f"{'sessions booked / unplaced':44} {f'{probe_booked} / {probe_unplaced}':>12}")
    if report:
        print("\n" + report)


def _ms(values: list[float]) -> str:
    return (
        f"{statistics.median(values) * 1000:.0f} / {pct(values, 0.95) * 1000:.0f} / "
        f"{max(values) * 1000:.0f}"
    )


def _q(values: list[float] | list[int]) -> str:
    return f"{statistics.fmean(values):.0f} / {max(values)}"


if __name__ == "__main__":
    try:
        main()
    except KeyboardInterrupt:
        print("\nInterrupted: what was booked is kept; run again to resume.", file=sys.stderr)
        sys.exit(130)
