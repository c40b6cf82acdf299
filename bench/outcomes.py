"""Benchmark the cohort page and the progress page on 1,000,000 outcome measurements.

    .venv/bin/python bench/outcomes.py                    # SQLite under var/bench/outcomes/
    .venv/bin/python bench/outcomes.py --quick            # 2,000 patients: a smoke run
    createdb -h 127.0.0.1 -U postgres mesoclinic_bench_outcomes
    BENCH_DATABASE_URL=postgresql://postgres@127.0.0.1:5432/mesoclinic_bench_outcomes \\
        .venv/bin/python bench/outcomes.py

The budget measured: "The cohort page over 100,000 patients with 1,000,000 measurements
answers in under 1 s on SQLite and on PostgreSQL; the patient progress page is constant in
queries."

One organisation (``organisation_create``, so the 7 shipped protocols with their current
versions) with 2 clinics, 6 practitioners each and an admin, who views the pages.
``--patients`` (BENCH_PATIENTS, default 100,000) patients, about half of each sex, each with
one screening and one course of one shipped protocol (unevenly: the hair cocktail most
often, then PRP, dutasteride and the combined protocol, a few of the face and body ones),
started over the three years before Sunday 1 November 2026, with a random practitioner;
55 % completed (started early enough for all their induction sessions to be done), 15 %
cancelled (one in ten before its first session, the others dropped out between 1 and 34
weeks in, with no later visit) and the rest active. Each course has its induction sessions
at the protocol's usual interval (done up to that Sunday or the day the course stopped,
later ones planned or cancelled): the cohort counts started courses from them. Outcome
visits: a baseline for 95 % of the courses (on the start day or up to a week before,
staged on the Hamilton-Norwood scale for men and Ludwig for women), then reviews after
session 3, after session 6 (protocols of 6 or more induction sessions), at 3, 6 and 12
months with falling probability, never after that Sunday nor after a course stopped. Each
visit has a density (hairs/cm2), and the other measures with fixed weights (more at
baseline; the -3..+3 assessments and satisfaction only at reviews) until exactly
``--measurements`` (BENCH_MEASUREMENTS, default 1,000,000) rows exist. The numbers drift
from each course's baseline by a per-course response times a mean drift per review point
that is the same for every protocol, plus noise; every value is accepted by
``measures.check_value`` and carries the measure's default method. No photos.

The history is bulk-loaded (``bulk_create`` in batches of committed transactions, with
progress bars), not recorded through ``outcomes.services``: a million numbers through the
services (locks, audit events per visit) would take hours, and what is measured here is
the reads. The build's wall time is printed with the results.

Measured after ANALYZE, each after one warm-up, through Django's test client signed in as
the admin (the whole request: middleware, form, audit event, statistics, charts,
template): the cohort page (``/outcomes/cohort/``) of the hair cocktail for density, 10 %
threshold and the 6-month distribution; the same compared with PRP; all protocols (the
biggest cohort); the hair cocktail narrowed to women at Ludwig II (the baseline stage join);
``cohort.cohort_outcomes`` alone for all protocols (the queries and statistics without the
page), each ROUNDS times; the progress page of PROGRESS_SAMPLES random patients with
visits (its query count should not depend on the number of visits); and the de-identified
CSV of the hair cocktail, streamed to the end (CSV_ROUNDS times). Each sample's queries are
counted (CaptureQueriesContext); the results come as a Markdown table. ``--explain`` also
prints, for each read's slowest sample, every query with its time alone and the
database's plan of each SELECT.

The database is built once and kept (a marker ``outcomes-build-<vendor>-<name>.json`` next
to it, written last): a rerun with the same sizes measures again without rebuilding.
Other sizes, another BUILD_LAYOUT (raised when what is built changes), ``--fresh``
(BENCH_FRESH=1) or an interrupted build start from nothing: the SQLite file is deleted, or
on PostgreSQL every table of the BENCH_DATABASE_URL database is emptied (give the benchmark
a database of its own). The load average of the machine is printed with the results: other
work on it shows in the timings.
"""

from __future__ import annotations

import os
from pathlib import Path

# charting.py sets Django up with setdefault: this benchmark keeps its own SQLite database.
os.environ["MESOCLINIC_VAR_DIR"] = str(
    Path(__file__).resolve().parents[1] / "var" / "bench" / "outcomes"
)

import argparse
import dataclasses
import datetime as dt
import math
import random
import re
import sys
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import charting  # bench/ is sys.path[0]: sets up Django
from django.conf import settings
from django.core.management import call_command
from django.db import connection, transaction
from django.db.models import Count
from django.test import Client

from mesoclinic.accounts.models import Membership, Organisation, Role, User
from mesoclinic.accounts.services import (
    membership_create,
)
from mesoclinic.core.progress import progress
from mesoclinic.outcomes import cohort, measures
from mesoclinic.outcomes.models import Measurement, OutcomeVisit, ReviewPoint
from mesoclinic.patients.models import Patient, SexAtBirth
from mesoclinic.patients.scales import LUDWIG, NORWOOD
from mesoclinic.patients.search import search_document
from mesoclinic.protocols.defaults import shipped_protocols
from mesoclinic.protocols.models import Protocol, ProtocolVersion
from mesoclinic.scheduling.models import (
    Course,
    CourseSession,
    CourseStatus,
    Phase,
    SessionStatus,
)
from mesoclinic.screening.models import Screening
from mesoclinic.screening.rules import available_versions

SLUG = "bench-outcomes"
BUILD_LAYOUT = 2  # raise when the build writes something else: kept builds are redone
NOW = dt.datetime(2026, 11, 1, 7, 0, tzinfo=dt.UTC)  # no visit after this day
TODAY = NOW.date()
HISTORY_DAYS = 3 * 365
ADMIN_EMAIL = f"admin@{SLUG}.test"
HAIR, PRP = "hair-mesotherapy", "prp-hair"
# How often each shipped protocol is chosen (by code).
PROTOCOL_WEIGHTS = {
    HAIR: 35,
    PRP: 18,
    "dutasteride-mesotherapy": 15,
    "mesotherapy-prp": 14,
    "face-mesotherapy": 6,
    "submental-mesotherapy": 4,
    "stretch-mark-mesotherapy": 3,
}
STATUS_WEIGHTS = {CourseStatus.COMPLETED: 55, CourseStatus.CANCELLED: 15, CourseStatus.ACTIVE: 30}
NOT_STARTED_SHARE = 0.1  # of the cancelled courses: cancelled before the first session
FEMALE_SHARE = 0.45
BASELINE_SHARE = 0.95
# Review points: chance of the visit, and its day after the start (a function of the
# protocol's usual interval); None: only for courses of 6 or more induction sessions.
REVIEWS: tuple[tuple[ReviewPoint, float, Callable[[int, random.Random], int]], ...] = (
    (ReviewPoint.AFTER_SESSION_3, 0.85, lambda every, rng: 2 * every + rng.randint(0, 4)),
    (ReviewPoint.AFTER_SESSION_6, 0.75, lambda every, rng: 5 * every + rng.randint(0, 6)),
    (ReviewPoint.MONTH_3, 0.65, lambda every, rng: 91 + rng.randint(-7, 7)),
    (ReviewPoint.MONTH_6, 0.50, lambda every, rng: 182 + rng.randint(-10, 10)),
    (ReviewPoint.MONTH_12, 0.35, lambda every, rng: 365 + rng.randint(-14, 14)),
)
# Mean relative change from baseline at each point (the same for every protocol); each
# course's response multiplies it (mean 1, spread RESPONSE_SD).
DRIFT = {
    ReviewPoint.BASELINE: 0.0,
    ReviewPoint.AFTER_SESSION_3: 0.02,
    ReviewPoint.AFTER_SESSION_6: 0.05,
    ReviewPoint.MONTH_3: 0.06,
    ReviewPoint.MONTH_6: 0.09,
    ReviewPoint.MONTH_12: 0.08,
}
RESPONSE_SD = 0.8
NOISE_SD = 0.03
# Weights of the measures besides density (always taken); reviews only for the last three.
EXTRA_WEIGHTS = {
    "terminal_count": 5,
    "vellus_count": 4,
    "thin_hair_percent": 4,
    "shaft_width_um": 4,
    "target_area_count": 2,
    "count_60s": 2,
    "pull_test_hairs": 1.5,
    "investigator_global": 3,
    "self_assessment": 3,
    "satisfaction": 2,
}
REVIEW_ONLY = frozenset({"investigator_global", "self_assessment", "satisfaction"})
BASELINE_EXTRA_WEIGHT = 1.4  # a baseline is measured more fully than a review
NORWOOD_WEIGHTS = {"II": 10, "IIa": 6, "III": 14, "IIIa": 6, "III vertex": 12, "IV": 10}
NORWOOD_WEIGHTS |= {"IVa": 4, "V": 5, "Va": 2, "VI": 2, "VII": 1, "I": 3}
LUDWIG_WEIGHTS = {"I": 50, "II": 38, "III": 12}
ROUNDS = 20
PROGRESS_SAMPLES = 50
CSV_ROUNDS = 3
BATCH = 2000  # patients (or courses) per transaction


def arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument(
        "--patients",
        type=int,
        default=int(os.environ.get("BENCH_PATIENTS", "100000")),
        help="patients, one course each (default 100,000; BENCH_PATIENTS)",
    )
    parser.add_argument(
        "--measurements",
        type=int,
        default=int(os.environ.get("BENCH_MEASUREMENTS", "1000000")),
        help="measurements in total (default 1,000,000; BENCH_MEASUREMENTS)",
    )
    parser.add_argument(
        "--quick",
        action="store_true",
        help="2,000 patients and 20,000 measurements: a smoke run (overrides)",
    )
    parser.add_argument(
        "--fresh",
        action="store_true",
        default=os.environ.get("BENCH_FRESH") == "1",
        help="rebuild from nothing (BENCH_FRESH=1)",
    )
    parser.add_argument(
        "--explain",
        action="store_true",
        help="print each read's queries (time alone, plan) for its slowest sample",
    )
    args = parser.parse_args()
    if args.quick:
        args.patients, args.measurements = 2_000, 20_000
    if args.patients < 200:
        parser.error("--patients: at least 200")
    if args.measurements < args.patients * 4 or args.measurements > args.patients * 25:
        parser.error("--measurements: between 4 and 25 per patient")
    return args


# --- Building the history ----------------------------------------------------------------------


def marker_file() -> Path:
    db = settings.DATABASES["default"]
    name = Path(str(db["NAME"])).stem if connection.vendor == "sqlite" else str(db["NAME"])
    return Path(settings.VAR_DIR) / f"outcomes-build-{connection.vendor}-{name}.json"


def build_organisation() -> Organisation:
    """The organisation (with the shipped protocols), clinics and practitioners as the
    charting benchmark makes them, and an admin."""
    organisation = charting.build_organisation(
        name="Bench Outcomes Chain", slug=SLUG, mrn_prefix="OUT"
    )
    with transaction.atomic():
        admin = User.objects.create_user(email=ADMIN_EMAIL, password=None, full_name="Bench Admin")
        membership_create(
            user=admin,
            organisation=organisation,
            role=Role.ADMIN,
            default_clinic=None,
            acting_user=None,
        )
    shipped = {p["code"] for p in shipped_protocols()}
    current = set(
        Protocol.objects.filter(
            organisation=organisation, current_version__isnull=False
        ).values_list("code", flat=True)
    )
    assert current == shipped, f"protocols with a current version: {current} != {shipped}"
    assert set(PROTOCOL_WEIGHTS) == shipped, "PROTOCOL_WEIGHTS must name every shipped protocol"
    return organisation


def seed_patients(organisation: Organisation, count: int) -> list[tuple[int, str, dt.date]]:
    """Bulk-load ``count`` patients; (id, sex, date of birth) of each, in order."""
    rng = random.Random(count)
    made: list[tuple[int, str, dt.date]] = []
    batches = range(0, count, BATCH)
    for start in progress(batches, total=len(batches), label=f"Seeding {count} patients"):
        size = min(BATCH, count - start)
        with transaction.atomic():
            locked = Organisation.objects.select_for_update().get(pk=organisation.pk)
            rows = []
            for offset in range(size):
                number = locked.mrn_last_number + offset + 1
                given, family = rng.choice(charting.GIVEN), rng.choice(charting.FAMILY)
                family = f"{family}{number % 997}"
                mrn, email = f"OUT-{number:07d}", f"o{number}@example.com"
                phone = f"+44 7700{number:07d}"
                female = rng.random() < FEMALE_SHARE
                rows.append(
                    Patient(
                        organisation=organisation,
                        mrn=mrn,
                        given_name=given,
                        family_name=family,
                        date_of_birth=dt.date(1950, 1, 1)
                        + dt.timedelta(days=rng.randrange(0, 19000)),
                        sex_at_birth=SexAtBirth.FEMALE if female else SexAtBirth.MALE,
                        email=email,
                        phone=phone,
                        search_document=search_document(
                            given_name=given, family_name=family, mrn=mrn, email=email, phone=phone
                        ),
                    )
                )
            created = Patient.objects.bulk_create(rows, batch_size=1000)
            made.extend((p.pk, p.sex_at_birth, p.date_of_birth) for p in created)
            locked.mrn_last_number += size
            locked.save(update_fields=["mrn_last_number"])
    return made


@dataclass
class Plan:
    """One patient's course and its visits, planned before anything is written."""

    patient_id: int
    sex: str
    version: int  # index into the versions list
    practitioner: int  # index into the practitioners list
    start_on: dt.date
    induction: int
    every: int  # days between induction sessions
    status: str
    stopped_on: dt.date | None
    visits: list[tuple[ReviewPoint, dt.date]] = field(default_factory=list)
    extras: list[int] = field(default_factory=list)  # measures besides density, per visit

    def sessions(self, organisation: Organisation, course: Course) -> list[CourseSession]:
        """The induction sessions: done on their target day up to today (or the day the
        course stopped), the rest planned (active) or cancelled."""
        last = min(TODAY, self.stopped_on) if self.stopped_on else TODAY - dt.timedelta(days=1)
        rows = []
        for position in range(1, self.induction + 1):
            target = self.start_on + dt.timedelta(days=(position - 1) * self.every)
            done = target <= last
            if done:
                status = SessionStatus.DONE
            elif self.status == CourseStatus.ACTIVE:
                status = SessionStatus.PLANNED
            else:
                status = SessionStatus.CANCELLED
            rows.append(
                CourseSession(
                    organisation=organisation,
                    course=course,
                    position=position,
                    phase=Phase.INDUCTION,
                    number_in_phase=position,
                    earliest_on=target - dt.timedelta(days=min(2, position - 1)),
                    target_on=target,
                    latest_on=target + dt.timedelta(days=7),
                    status=status,
                    done_on=target if done else None,
                )
            )
        return rows


def plan_courses(
    patients: list[tuple[int, str, dt.date]],
    versions: list[ProtocolVersion],
    practitioners: int,
    measurements: int,
    rng: random.Random,
) -> list[Plan]:
    """Every course with its visits, and how many measures each visit takes besides the
    density so that exactly ``measurements`` rows are written."""
    weights = [PROTOCOL_WEIGHTS[v.protocol.code] for v in versions]
    statuses, status_weights = list(STATUS_WEIGHTS), list(STATUS_WEIGHTS.values())
    plans = []
    for patient_id, sex, _born in patients:
        v = rng.choices(range(len(versions)), weights=weights)[0]
        version = versions[v]
        status = rng.choices(statuses, weights=status_weights)[0]
        induction = rng.randint(version.induction_sessions_min, version.induction_sessions_max)
        every = version.induction_interval_target_days
        # A completed course had all its induction sessions before today.
        earliest = (induction - 1) * every + 1 if status == CourseStatus.COMPLETED else 1
        start = TODAY - dt.timedelta(days=rng.randint(earliest, HISTORY_DAYS))
        stopped = None
        if status == CourseStatus.CANCELLED:
            if rng.random() < NOT_STARTED_SHARE:  # cancelled before the first session
                stopped = start - dt.timedelta(days=rng.randint(1, 10))
            else:
                stopped = min(start + dt.timedelta(days=rng.randint(7, 240)), TODAY)
        plan = Plan(
            patient_id=patient_id,
            sex=sex,
            version=v,
            practitioner=rng.randrange(practitioners),
            start_on=start,
            induction=induction,
            every=every,
            status=status,
            stopped_on=stopped,
        )
        last = min(TODAY, stopped) if stopped else TODAY
        baseline = start - dt.timedelta(days=rng.randint(0, 7))
        if rng.random() < BASELINE_SHARE and baseline <= last:
            plan.visits.append((ReviewPoint.BASELINE, baseline))
        for point, chance, after in REVIEWS:
            if point == ReviewPoint.AFTER_SESSION_6 and plan.induction < 6:
                continue
            day = start + dt.timedelta(days=after(every, rng))
            if rng.random() < chance and day <= last:
                plan.visits.append((point, day))
        plan.visits.sort(key=lambda pv: pv[1])
        plans.append(plan)

    # Measures besides the density: spread over the visits (more at baseline), then nudged
    # one by one until the total is exact.
    visits = [(plan, i) for plan in plans for i in range(len(plan.visits))]
    extra_total = measurements - len(visits)
    capacity = {
        ReviewPoint.BASELINE: len(EXTRA_WEIGHTS) - len(REVIEW_ONLY),
        "review": len(EXTRA_WEIGHTS),
    }

    def cap(plan: Plan, i: int) -> int:
        return capacity[ReviewPoint.BASELINE if plan.visits[i][0] == "baseline" else "review"]

    if not 0 <= extra_total <= sum(cap(p, i) for p, i in visits):
        raise SystemExit(
            f"{measurements:,} measurements cannot be spread over {len(visits):,} visits: "
            f"give between {len(visits):,} and {len(visits) * len(EXTRA_WEIGHTS):,}"
        )
    baselines = sum(1 for p, i in visits if p.visits[i][0] == ReviewPoint.BASELINE)
    unit = extra_total / (len(visits) - baselines + BASELINE_EXTRA_WEIGHT * baselines)
    total = 0
    for plan in plans:
        for i, (point, _day) in enumerate(plan.visits):
            mean = unit * (BASELINE_EXTRA_WEIGHT if point == ReviewPoint.BASELINE else 1.0)
            k = min(cap(plan, i), max(0, round(rng.gauss(mean, 1.0))))
            plan.extras.append(k)
            total += k
    while total != extra_total:
        plan, i = rng.choice(visits)
        if total < extra_total and plan.extras[i] < cap(plan, i):
            plan.extras[i] += 1
            total += 1
        elif total > extra_total and plan.extras[i] > 0:
            plan.extras[i] -= 1
            total -= 1
    return plans


def _clamp(value: float, low: float, high: float) -> float:
    return max(low, min(high, value))


def _baseline_numbers(sex: str, rng: random.Random) -> dict[str, float]:
    """A course's underlying numbers before treatment."""
    return {
        "density": _clamp(rng.gauss(150 if sex == SexAtBirth.MALE else 165, 35), 40, 320),
        "thin": _clamp(rng.gauss(28, 8), 3, 75),
        "shaft": _clamp(rng.gauss(62, 9), 25, 110),
        "target": rng.uniform(0.9, 1.05),
        "count_60s": _clamp(rng.gauss(45, 20), 0, 250),
        "pull": rng.randint(1, 12),
        "response": rng.gauss(1.0, RESPONSE_SD),
    }


def _value(code: str, base: dict[str, float], point: ReviewPoint, rng: random.Random) -> float:
    """The number of measure ``code`` at ``point``: the baseline moved by the course's
    response times the point's mean drift, plus noise; rounded to the measure's decimals and
    kept in its range."""
    rel = base["response"] * DRIFT[point] + rng.gauss(0, NOISE_SD)
    density = _clamp(base["density"] * (1 + rel), 1, 999)
    thin = _clamp(base["thin"] * (1 - 1.5 * rel), 0.5, 99)
    raw = {
        "density_per_cm2": density,
        "terminal_count": density * (1 - thin / 100),
        "vellus_count": density * thin / 100,
        "thin_hair_percent": thin,
        "shaft_width_um": base["shaft"] * (1 + 0.5 * rel),
        "target_area_count": density * base["target"],
        "count_60s": base["count_60s"] * (1 - 2 * rel),
        "pull_test_hairs": base["pull"] * (1 - 2 * rel),
        "investigator_global": 15 * rel + rng.gauss(0, 0.7),
        "self_assessment": 12 * rel + rng.gauss(0, 1.0),
        "satisfaction": 6 + 20 * rel + rng.gauss(0, 1.5),
    }[code]
    measure = measures.get(code)
    value = _clamp(raw, measure.minimum, measure.maximum)
    value = round(value, measure.decimals) if measure.decimals else float(round(value))
    problem = measures.check_value(measure, value)
    assert problem is None, (code, value, problem)
    return value


def _pick_extras(point: ReviewPoint, k: int, rng: random.Random) -> list[str]:
    """``k`` measures besides density, drawn by weight without replacement."""
    if k == 0:
        return []
    codes = [c for c in EXTRA_WEIGHTS if point != ReviewPoint.BASELINE or c not in REVIEW_ONLY]
    keyed = sorted(codes, key=lambda c: -(rng.random() ** (1 / EXTRA_WEIGHTS[c])))
    return keyed[:k]


def _stage(sex: str, rng: random.Random) -> tuple[str, str]:
    if sex == SexAtBirth.FEMALE:
        grades = LUDWIG_WEIGHTS
        scale = LUDWIG
    else:
        grades = NORWOOD_WEIGHTS
        scale = NORWOOD
    assert set(grades) <= {code for code, _label in scale.grades}
    return scale.code, rng.choices(list(grades), weights=list(grades.values()))[0]


def write_history(
    organisation: Organisation, patients: list[tuple[int, str, dt.date]], measurements: int
) -> None:
    """Screenings, courses, visits and measurements, BATCH courses per transaction."""
    rng = random.Random(measurements)
    versions = list(
        ProtocolVersion.objects.filter(
            protocol__organisation=organisation, current_of__isnull=False
        )
        .select_related("protocol")
        .order_by("protocol__code")
    )
    ingredients = [v.ingredient_codes for v in versions]
    staff = list(
        Membership.objects.filter(organisation=organisation, role=Role.PRACTITIONER).order_by(
            "user__email"
        )
    )
    chairs = [(m.user_id, m.default_clinic_id) for m in staff]
    rule_set = available_versions()[-1]
    plans = plan_courses(patients, versions, len(chairs), measurements, rng)
    batches = range(0, len(plans), BATCH)
    label = f"Writing {len(plans)} courses and {measurements} measurements"
    for start in progress(batches, total=len(batches), label=label):
        batch = plans[start : start + BATCH]
        with transaction.atomic():
            screenings = Screening.objects.bulk_create(
                (
                    Screening(
                        organisation=organisation,
                        patient_id=p.patient_id,
                        screened_on=p.start_on - dt.timedelta(days=rng.randint(7, 30)),
                        screened_by_id=chairs[p.practitioner][0],
                        protocol_kind=versions[p.version].kind,
                        protocol_version=versions[p.version],
                        ingredients=ingredients[p.version],
                        outcome="eligible",
                        rule_set_version=rule_set,
                        facts={},
                        decision={"reasons": []},
                    )
                    for p in batch
                ),
                batch_size=1000,
            )
            courses = Course.objects.bulk_create(
                (
                    Course(
                        organisation=organisation,
                        patient_id=p.patient_id,
                        protocol_version=versions[p.version],
                        clinic_id=chairs[p.practitioner][1],
                        practitioner_id=chairs[p.practitioner][0],
                        screening=s,
                        start_on=p.start_on,
                        induction_sessions=p.induction,
                        status=p.status,
                        cancel_reason="Stopped by the patient." if p.stopped_on else "",
                        cancelled_at=(
                            dt.datetime.combine(p.stopped_on, dt.time(12), tzinfo=dt.UTC)
                            if p.stopped_on
                            else None
                        ),
                        created_by_id=chairs[p.practitioner][0],
                    )
                    for p, s in zip(batch, screenings, strict=True)
                ),
                batch_size=1000,
            )
            CourseSession.objects.bulk_create(
                (
                    s
                    for p, c in zip(batch, courses, strict=True)
                    for s in p.sessions(organisation, c)
                ),
                batch_size=1000,
            )
            visits = OutcomeVisit.objects.bulk_create(
                (
                    OutcomeVisit(
                        organisation=organisation,
                        patient_id=p.patient_id,
                        clinic_id=c.clinic_id,
                        course=c,
                        point=point,
                        measured_on=day,
                        stage_scale=stage[0],
                        stage=stage[1],
                        recorded_by_id=c.practitioner_id,
                    )
                    for p, c in zip(batch, courses, strict=True)
                    for point, day in p.visits
                    for stage in [_stage(p.sex, rng) if point == "baseline" else ("", "")]
                ),
                batch_size=1000,
            )
            rows = []
            it = iter(visits)
            for p, c in zip(batch, courses, strict=True):
                base = _baseline_numbers(p.sex, rng)
                for (point, _day), k in zip(p.visits, p.extras, strict=True):
                    visit = next(it)
                    for code in ["density_per_cm2", *_pick_extras(point, k, rng)]:
                        rows.append(
                            Measurement(
                                organisation=organisation,
                                visit=visit,
                                patient_id=p.patient_id,
                                course=c,
                                point=point,
                                measure=code,
                                value=_value(code, base, point, rng),
                                method=measures.get(code).default_method().value,
                            )
                        )
            Measurement.objects.bulk_create(rows, batch_size=1000)


def build(args: argparse.Namespace) -> dict[str, Any]:
    """The whole history, from an empty database; the build's timings."""
    stages = charting.Stages()
    began = time.perf_counter()
    organisation = stages.run("organisation", build_organisation)
    patients = stages.run("patients", lambda: seed_patients(organisation, args.patients))
    stages.run("history", lambda: write_history(organisation, patients, args.measurements))
    stages.run("analyze", charting.analyze)
    return {
        "layout": BUILD_LAYOUT,
        "patients_requested": args.patients,
        "measurements_requested": args.measurements,
        "build_seconds": time.perf_counter() - began,
        "stages": stages.seconds,
    }


def ensure_build(args: argparse.Namespace) -> dict[str, Any]:
    """The kept build of these sizes: built from nothing when it is missing, of other
    sizes, or ``--fresh``."""
    built = None if args.fresh else charting.read_json(marker_file())
    if built is not None and (
        built.get("layout") != BUILD_LAYOUT
        or built.get("patients_requested") != args.patients
        or built.get("measurements_requested") != args.measurements
    ):
        built = None
    if built is None and connection.vendor == "sqlite":
        connection.close()
        name = Path(str(settings.DATABASES["default"]["NAME"]))
        for path in (name, Path(f"{name}-wal"), Path(f"{name}-shm")):
            path.unlink(missing_ok=True)
    call_command("migrate", verbosity=0)
    if built is None:
        marker_file().unlink(missing_ok=True)  # an interrupted build is redone
        if connection.vendor != "sqlite":
            call_command("flush", interactive=False, verbosity=0)
        built = build(args)
        charting.write_json(marker_file(), built)
    return built


# --- Measuring ---------------------------------------------------------------------------------


def counts(organisation: Organisation) -> dict[str, Any]:
    courses = Course.objects.filter(organisation=organisation)
    return {
        "patients": Patient.objects.filter(organisation=organisation).count(),
        "courses": courses.count(),
        "by_status": dict(
            courses.values_list("status").annotate(n=Count("pk")).values_list("status", "n")
        ),
        "sessions": CourseSession.objects.filter(organisation=organisation).count(),
        "done": CourseSession.objects.filter(
            organisation=organisation, status=SessionStatus.DONE
        ).count(),
        "visits": OutcomeVisit.objects.filter(organisation=organisation).count(),
        "by_point": dict(
            OutcomeVisit.objects.filter(organisation=organisation)
            .values_list("point")
            .annotate(n=Count("pk"))
            .values_list("point", "n")
        ),
        "measurements": Measurement.objects.filter(organisation=organisation).count(),
        "density": Measurement.objects.filter(
            organisation=organisation, measure="density_per_cm2"
        ).count(),
    }


def timed_page(client: Client, path: str, params: dict[str, Any], rows: int) -> Callable[[], int]:
    def call() -> int:
        response = client.get(path, params)
        assert response.status_code == 200, (path, params, response.status_code)
        return rows

    return call


def measure(organisation: Organisation) -> tuple[list[charting.Read], dict[str, Any]]:
    admin = User.objects.get(email=ADMIN_EMAIL)
    client = Client()
    client.force_login(admin, backend="mesoclinic.accounts.backends.EmailBackend")
    protocols = dict(Protocol.objects.filter(organisation=organisation).values_list("code", "pk"))
    density = measures.get("density_per_cm2")
    base = {"measure": density.code, "threshold_percent": 10, "point": "month_6"}
    hair = {"protocol": protocols[HAIR], **base}
    narrow = {**hair, "sex": SexAtBirth.FEMALE, "stage": "ludwig:II"}

    def selector(filters: cohort.CohortFilter) -> cohort.Cohort:
        return cohort.cohort_outcomes(
            organisation_id=organisation.pk,
            cohort=filters,
            measure=density,
            threshold_percent=10,
        )

    hair_filter = cohort.CohortFilter(protocol_id=protocols[HAIR])
    sizes = {
        "hair": selector(hair_filter),
        "prp": selector(cohort.CohortFilter(protocol_id=protocols[PRP])),
        "all": selector(cohort.CohortFilter()),
        "narrow": selector(
            cohort.CohortFilter(
                protocol_id=protocols[HAIR],
                sex=SexAtBirth.FEMALE,
                stage_scale="ludwig",
                stage="II",
            )
        ),
    }
    courses = {k: c.counts.courses for k, c in sizes.items()}
    page = "/outcomes/cohort/"
    cases: list[tuple[str, Callable[[], int]]] = [
        (
            "cohort page, hair cocktail, density, 6 months",
            timed_page(client, page, hair, courses["hair"]),
        ),
        (
            "cohort page, hair cocktail compared with PRP",
            timed_page(
                client,
                page,
                {**hair, "compare_with": protocols[PRP]},
                courses["hair"] + courses["prp"],
            ),
        ),
        ("cohort page, all protocols", timed_page(client, page, base, courses["all"])),
        (
            "cohort page, hair cocktail, women at Ludwig II",
            timed_page(client, page, narrow, courses["narrow"]),
        ),
        (
            "`cohort_outcomes` alone, all protocols",
            lambda: selector(cohort.CohortFilter()).counts.courses,
        ),
    ]
    reads: list[charting.Read] = []
    for name, call in progress(cases, total=len(cases), label=f"Timing {len(cases)} cohort reads"):
        read = charting.Read(name)
        call()  # warm-up
        for _round in range(ROUNDS):
            read.time(call)
        reads.append(read)

    # The progress page of random patients with visits (1 to 6 each).
    per_patient = dict(
        OutcomeVisit.objects.filter(organisation=organisation)
        .values_list("patient_id")
        .annotate(n=Count("pk"))
        .values_list("patient_id", "n")
    )
    by_visits: dict[int, list[int]] = {}
    for patient_id, n in sorted(per_patient.items()):
        by_visits.setdefault(n, []).append(patient_id)
    rng = random.Random(3)
    # One of each visit count first (so the query counts are compared across them).
    sampled = [rng.choice(ids) for _n, ids in sorted(by_visits.items())]
    rest = sorted(set(per_patient) - set(sampled))
    sampled += rng.sample(rest, min(PROGRESS_SAMPLES - len(sampled), len(rest)))
    read = charting.Read("progress page (`progress_of`)")
    progress_page = "/outcomes/patients/{}/progress/"
    timed_page(client, progress_page.format(sampled[-1]), {}, 0)()  # warm-up
    label = f"Timing the progress page of {len(sampled)} patients"
    for patient_id in progress(sampled, total=len(sampled), label=label):
        read.time(timed_page(client, progress_page.format(patient_id), {}, per_patient[patient_id]))
    reads.append(read)

    def csv_rows() -> int:
        response = client.get("/outcomes/cohort.csv", hair)
        assert response.status_code == 200, response.status_code
        lines = sum(chunk.count(b"\n") for chunk in response.streaming_content)
        return lines - 1  # the header

    read = charting.Read("de-identified CSV, hair cocktail (streamed)")
    csv_rows()  # warm-up
    for _round in progress(range(CSV_ROUNDS), total=CSV_ROUNDS, label="Timing the CSV"):
        read.time(csv_rows)
    reads.append(read)

    six = {k: c.at(ReviewPoint.MONTH_6) for k, c in sizes.items()}
    facts = {
        "courses": courses,
        "pairs_month_6": {k: p.change.n if p.change else 0 for k, p in six.items()},
        "mean_change_month_6": {
            k: p.change.mean_change if p.change else None for k, p in six.items()
        },
        "progress_visits": sorted(by_visits),
        "all_counts": dataclasses.asdict(sizes["all"].counts),
    }
    return reads, facts


def explain(read: charting.Read) -> None:
    """Every query of the read's slowest sample with its time when run again alone (all
    rows fetched) and, for a SELECT, the database's plan; queries that differ only in their
    numbers (chunks of ids) are run once and counted."""
    took, queries = read.slowest
    print(f"\n### {read.name}: slowest sample {took * 1000:.1f} ms, {len(queries)} queries\n")
    prefix = "EXPLAIN QUERY PLAN " if connection.vendor == "sqlite" else "EXPLAIN ANALYZE "
    # An iterator on PostgreSQL reads through a server-side cursor: explain its SELECT.
    reads = [re.sub(r"^DECLARE .*? CURSOR WITH HOLD FOR ", "", q, flags=re.DOTALL) for q in queries]
    shapes = Counter(re.sub(r"\b\d+\b", "?", sql) for sql in reads)
    shown: set[str] = set()
    for sql in reads:
        shape = re.sub(r"\b\d+\b", "?", sql)
        short = re.sub(r"^SELECT .*? FROM ", "SELECT ... FROM ", sql, flags=re.DOTALL)
        short = re.sub(r"\((?:\d+, ){9,}\d+\)", lambda m: f"({m[0].count(',') + 1} ids)", short)
        if not sql.lstrip().upper().startswith("SELECT"):
            print(f"- not a read, not run again: `{short[:100]}`")
            continue
        if shape in shown:
            continue
        shown.add(shape)
        with connection.cursor() as cursor:
            started = time.perf_counter()
            cursor.execute(sql)
            fetched = len(cursor.fetchall())
            alone = time.perf_counter() - started
            cursor.execute(prefix + sql)
            plan = cursor.fetchall()
        repeats = f" (the first of {shapes[shape]} of this shape)" if shapes[shape] > 1 else ""
        print(f"{alone * 1000:.1f} ms alone, {fetched:,} rows{repeats}:\n```sql\n{short}\n```\n```")
        for row in plan:
            print(" | ".join(str(c) for c in row) if connection.vendor == "sqlite" else row[0])
        print("```")


def main() -> None:
    args = arguments()
    built = ensure_build(args)
    organisation = Organisation.objects.get(slug=SLUG)
    charting.analyze()
    size = counts(organisation)
    load_before = os.getloadavg()[0]
    reads, facts = measure(organisation)
    load_after = os.getloadavg()[0]

    vendor = connection.vendor
    statuses = ", ".join(f"{n:,} {s}" for s, n in sorted(size["by_status"].items()))
    points = ", ".join(
        f"{size['by_point'].get(p, 0):,} {p}"
        for p in [ReviewPoint.BASELINE, *cohort.FOLLOW_UP_POINTS]
    )
    print(
        f"\n{vendor}: {size['patients']:,} patients, {size['courses']:,} courses ({statuses}) "
        f"with {size['sessions']:,} induction sessions ({size['done']:,} done), "
        f"{size['visits']:,} outcome visits ({points}), {size['measurements']:,} measurements "
        f"({size['density']:,} densities)"
    )
    stages = ", ".join(f"{k} {v:.0f} s" for k, v in built["stages"].items())
    print(f"build: {built['build_seconds']:.0f} s ({stages})")
    print(
        f"load average (1 min) of this machine: {load_before:.2f} before timing, "
        f"{load_after:.2f} after ({os.cpu_count()} CPUs)"
    )
    cohorts = ", ".join(
        f"{k} {n:,} courses ({facts['pairs_month_6'][k]:,} pairs at 6 months, mean change "
        f"{facts['mean_change_month_6'][k] or math.nan:+.1f})"
        for k, n in facts["courses"].items()
    )
    print(f"cohorts: {cohorts}")
    all_counts = ", ".join(f"{k} {v:,}" for k, v in facts["all_counts"].items())
    print(f"counts of all protocols: {all_counts}")
    visits = ", ".join(map(str, facts["progress_visits"]))
    print(f"progress pages sampled: patients with {visits} outcome visits among them\n")
    charting.print_table(reads, explain_slowest=False)
    if args.explain:
        for read in reads:
            explain(read)


if __name__ == "__main__":
    try:
        main()
    except KeyboardInterrupt:
        print(
            "\nInterrupted: a build not finished is redone from nothing on the next run.",
            file=sys.stderr,
        )
        sys.exit(130)
