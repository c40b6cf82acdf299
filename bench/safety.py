"""Benchmark the side-effect reads (rates, flags, the chart's lists) on the charting history.

    .venv/bin/python bench/safety.py                      # SQLite under var/bench/charting/
    .venv/bin/python bench/safety.py --quick              # on the 20,000-injection build
    BENCH_DATABASE_URL=postgresql://postgres@127.0.0.1:5432/mesoclinic_bench_charting \\
        .venv/bin/python bench/safety.py

It measures on the database that ``bench/charting.py`` builds and keeps (the same settings,
the same ``--injections``, ``--quick``, ``--fresh``, BENCH_INJECTIONS, BENCH_FRESH and
BENCH_DATABASE_URL): when that build is missing or of another size it is built first,
through charting's own functions, exactly as ``charting.py`` does.

Side effects are then added once (a marker, ``safety-build-<vendor>-<name>.json`` next to
charting's build file, says they are there; a rerun measures again without adding any):
about 6 % of the current signed sessions were followed by one recorded side effect, linked
to that visit, drawn with a fixed seed. The terms follow the catalogue
(``safety.catalogue.terms()``), mostly erythema, pruritus, papules and pain, a few rarer
ones; grades 1 (about 70 %) and 2, about 1 % grade 3 (serious); onset a few hours after the
visit; 90 % resolved (``resolved_on`` on or after the onset's day), the rest still open, so
old open ones are past their expected course (flagged prolonged) and the serious open ones
are not reviewed. ``is_serious`` and ``expected_end_at`` come from ``safety.rules`` and the
catalogue, as the services write them; the responsible practitioner and the recorder are
the session's practitioner. One ordinary lot is clearly worse (a quarter of its sessions
are followed by a side effect), so the lot table's highlight has something to find. The
rows are written with ``bulk_create`` in batches, not through ``safety.services`` (the
services' costs are covered by the tests' query counts). An admin membership is added so
the dashboard's organisation-wide list can be timed.

Measured after ANALYZE: ``safety.rates.safety_rates`` (the safety page) for the last 12
months, the whole history, one clinic over 12 months and "possibly related or more" over
12 months, each timed RATE_ROUNDS times after one warm-up; the dashboard's
``safety.selectors.flagged_for`` of a practitioner and of an admin (FLAG_ROUNDS times each);
and, for 200 random patients with side effects (the one with the most included), the
chart header's ``flagged_of_patient`` and the Side effects tab's ``events_of_patient``.
Each sample's queries are counted (CaptureQueriesContext); the results come as a Markdown
table for the README. ``--explain`` also prints the database's plan of each read's queries
for its slowest sample.
"""

from __future__ import annotations

import argparse
import datetime as dt
import random
import sys
import time
from pathlib import Path
from typing import Any

import charting  # bench/ is sys.path[0]: sets up Django on charting's database
from django.db import connection, transaction
from django.db.models import Count, Min

from mesoclinic.accounts.access import workspace_for_membership
from mesoclinic.accounts.models import Clinic, Membership, Organisation, Role, User
from mesoclinic.accounts.services import membership_create
from mesoclinic.core.progress import progress
from mesoclinic.inventory.models import Lot
from mesoclinic.patients.models import Patient
from mesoclinic.safety import catalogue, rules
from mesoclinic.safety.models import (
    ActionTaken,
    AdverseEvent,
    AdverseEventVisit,
    Outcome,
    Relation,
    Reporter,
)
from mesoclinic.safety.rates import RatesQuery, RatesReport, safety_rates
from mesoclinic.safety.selectors import (
    events_of_patient,
    flagged_for,
    flagged_of_patient,
)
from mesoclinic.treatments.models import Injection, SessionStatus, TreatmentSession

NOW = charting.NOW
SEED = 2027
SHARE = 0.06  # of the current signed sessions, followed by a side effect
WORSE_LOT_SHARE = 0.25  # ... and of the worse lot's sessions
RESOLVED_SHARE = 0.90
GRADES = {1: 70, 2: 29, 3: 1}  # weights: about 1 % grade 3 (serious)
# Weights per catalogue term (a term not listed here gets DEFAULT_TERM_WEIGHT).
TERM_WEIGHTS = {
    "erythema": 30,
    "pruritus": 18,
    "papules": 14,
    "pain": 16,
    "burning": 4,
    "edema": 3,
    "frontal_edema": 1.5,
    "hematoma": 4,
    "headache": 4,
    "infection": 0.2,
    "urticaria": 1,
    "angioedema": 0.05,
    "necrosis": 0.03,
    "scarring": 0.03,
    "hair_loss": 1.5,
    "vasovagal": 1.5,
    "other": 0.7,
}
DEFAULT_TERM_WEIGHT = 0.5
RELATIONS = {
    Relation.UNRELATED: 5,
    Relation.UNLIKELY: 12,
    Relation.POSSIBLE: 45,
    Relation.PROBABLE: 30,
    Relation.CERTAIN: 8,
}
REPORTERS = {Reporter.PATIENT: 55, Reporter.PRACTITIONER: 40, Reporter.STAFF: 5}
ACTIONS = [
    [ActionTaken.NONE],
    [ActionTaken.NONE],
    [ActionTaken.COLD_COMPRESS],
    [ActionTaken.TOPICAL],
    [ActionTaken.ORAL_MEDICATION],
    [ActionTaken.COLD_COMPRESS, ActionTaken.ORAL_MEDICATION],
]
BATCH = 2000  # events per transaction
PERIOD_DAYS = 365  # the safety page's default period (safety.views.DEFAULT_PERIOD_DAYS)
RATE_ROUNDS = 7
FLAG_ROUNDS = 50
PATIENT_SAMPLES = 200
ADMIN_EMAIL = f"admin@{charting.SLUG}.test"


def arguments() -> argparse.Namespace:
    """charting.py's own options (``--injections``, ``--quick``, ``--fresh``, ``--explain``),
    so both scripts measure the same build."""
    return charting.arguments()


# --- The charting history ----------------------------------------------------------------------


def charting_build(args: argparse.Namespace) -> dict[str, Any]:
    """charting.py's kept build of ``args.injections`` lines (built first when missing, of
    another size, or ``--fresh``; the side effects are then added again)."""
    return charting.ensure_build(args, on_rebuild=lambda: marker_file().unlink(missing_ok=True))


# --- The side effects --------------------------------------------------------------------------


def marker_file() -> Path:
    path = charting.results_file()
    return path.with_name(path.name.replace("charting-build-", "safety-build-", 1))


def load_marker() -> dict[str, Any] | None:
    return charting.read_json(marker_file())


def save_marker(data: dict[str, Any]) -> None:
    charting.write_json(marker_file(), data)


def side_effects(organisation: Organisation, built: dict[str, Any]) -> dict[str, Any]:
    """Add the side effects once: skipped when the marker matches this charting build and
    the organisation has that many events; a partial set (an interrupted run) is removed
    and written again."""
    marker = load_marker()
    existing = AdverseEvent.objects.filter(organisation=organisation).count()
    if (
        marker is not None
        and marker.get("charting_build_seconds") == built["build_seconds"]
        and marker.get("events") == existing
        and existing > 0
    ):
        return marker
    marker_file().unlink(missing_ok=True)
    if existing:
        with transaction.atomic():
            AdverseEventVisit.objects.filter(organisation=organisation).delete()
            AdverseEvent.objects.filter(organisation=organisation).delete()
    stages = charting.Stages()
    began = time.perf_counter()
    made = stages.run("side effects", lambda: add_side_effects(organisation))
    stages.run("analyze", charting.analyze)
    marker = {
        "charting_injections": built["injections_requested"],
        "charting_build_seconds": built["build_seconds"],
        "seed": SEED,
        **made,
        "build_seconds": time.perf_counter() - began,
        "stages": stages.seconds,
    }
    save_marker(marker)
    return marker


def pick_worse_lot(organisation: Organisation, rng: random.Random) -> Lot:
    """An ordinary lot (not one of the popular ones, not recalled)."""
    lots = list(
        Lot.objects.filter(organisation=organisation, recalled_at__isnull=True)
        .exclude(lot_number__endswith="-0000")  # the popular lots: each product's first
        .select_related("product")
        .order_by("pk")
    )
    return rng.choice(lots)


def add_side_effects(organisation: Organisation) -> dict[str, Any]:
    rng = random.Random(SEED)
    terms = list(catalogue.terms())
    term_cum = charting._cumulative([TERM_WEIGHTS.get(t.code, DEFAULT_TERM_WEIGHT) for t in terms])
    version = catalogue.catalogue_version()
    tz = {c.pk: c.tzinfo for c in Clinic.objects.filter(organisation=organisation)}
    worse = pick_worse_lot(organisation, rng)
    worse_sessions = set(
        Injection.objects.filter(organisation=organisation, lot=worse).values_list(
            "session_id", flat=True
        )
    )
    sessions = list(
        TreatmentSession.objects.filter(
            organisation=organisation, status=SessionStatus.SIGNED, superseded_at__isnull=True
        )
        .order_by("pk")
        .values_list(
            "pk",
            "appointment_id",
            "patient_id",
            "clinic_id",
            "practitioner_id",
            "appointment__starts_at",
        )
    )
    chosen = [
        s for s in sessions if rng.random() < (WORSE_LOT_SHARE if s[0] in worse_sessions else SHARE)
    ]
    batches = range(0, len(chosen), BATCH)
    label = f"Recording {len(chosen)} side effects"
    for start in progress(batches, total=len(batches), label=label):
        with transaction.atomic():
            plans = [
                _event(rng, organisation, s, terms, term_cum, version, tz)
                for s in chosen[start : start + BATCH]
            ]
            events = AdverseEvent.objects.bulk_create([e for e, _a in plans], batch_size=500)
            AdverseEventVisit.objects.bulk_create(
                (
                    AdverseEventVisit(organisation=organisation, event=e, appointment_id=a)
                    for e, (_e, a) in zip(events, plans, strict=True)
                ),
                batch_size=1000,
            )
    worse_chosen = sum(1 for s in chosen if s[0] in worse_sessions)
    worse_current = sum(1 for s in sessions if s[0] in worse_sessions)
    return {
        "sessions": len(sessions),
        "events": len(chosen),
        "worse_lot": f"{worse.lot_number} ({worse.product.name})",
        "worse_lot_sessions": worse_current,
        "worse_lot_events": worse_chosen,
    }


def _event(
    rng: random.Random,
    organisation: Organisation,
    session: tuple[int, int, int, int, int, dt.datetime],
    terms: list[catalogue.Term],
    term_cum: list[float],
    version: str,
    tz: dict[int, Any],
) -> tuple[AdverseEvent, int]:
    """One side effect after ``session``, with its flags derived as the services do."""
    _pk, appointment_id, patient_id, clinic_id, practitioner_id, starts_at = session
    term = rng.choices(terms, cum_weights=term_cum)[0]
    grade = rng.choices(list(GRADES), weights=list(GRADES.values()))[0]
    if term.code == "vasovagal":
        after = dt.timedelta(minutes=rng.randrange(5, 40))
    else:
        after = dt.timedelta(minutes=rng.randrange(60, 10 * 60))
    # The history ends the evening before NOW: an onset never lies ahead of it.
    onset = min(starts_at + after, NOW - dt.timedelta(hours=1))
    recorded = min(onset + dt.timedelta(hours=rng.choice([1, 3, 18])), NOW)
    serious = rules.is_serious(term=term, grade=grade, criteria=())
    expected_end = rules.expected_end(term=term, onset_at=onset)
    event = AdverseEvent(
        organisation=organisation,
        patient_id=patient_id,
        clinic_id=clinic_id,
        term=term.code,
        term_text="Dizziness and nausea" if term.requires_text else "",
        onset_at=onset,
        reported_by=rng.choices(list(REPORTERS), weights=list(REPORTERS.values()))[0],
        grade=grade,
        serious_criteria=[],
        relation=rng.choices(list(RELATIONS), weights=list(RELATIONS.values()))[0],
        actions=[str(a) for a in rng.choice(ACTIONS)],
        responsible_id=practitioner_id,
        is_serious=serious,
        expected_end_at=expected_end,
        serious_flagged_at=recorded if serious else None,
        catalogue_version=version,
        recorded_by_id=practitioner_id,
    )
    # The daily check flags an event still open past its expected course the next morning.
    check = None if expected_end is None else expected_end + dt.timedelta(hours=rng.randrange(24))
    if rng.random() < RESOLVED_SHARE:
        hours = term.expected_course_hours or 24 * rng.randrange(5, 60)
        ended = min(onset + dt.timedelta(hours=hours * rng.uniform(0.3, 1.3)), NOW)
        event.outcome = Outcome.RESOLVED
        if term.code == "scarring":
            event.outcome = Outcome.RESOLVED_WITH_SEQUELAE
            event.sequelae = "A small scar at the injection site."
        event.resolved_on = ended.astimezone(tz[clinic_id]).date()
        if check is not None and check < ended:
            event.prolonged_flagged_at = check
        if serious:
            event.reviewed_at = min(recorded + dt.timedelta(days=1), NOW)
            event.reviewed_by_id = practitioner_id
            event.review_note = "Reviewed: next session postponed until resolved."
    elif check is not None and check < NOW:
        event.prolonged_flagged_at = check
    return event, appointment_id


def admin_membership(organisation: Organisation) -> Membership:
    """An admin of the bench organisation (added once)."""
    membership = (
        Membership.objects.filter(organisation=organisation, user__email=ADMIN_EMAIL)
        .select_related("user", "organisation")
        .first()
    )
    if membership is None:
        with transaction.atomic():
            user = User.objects.create_user(
                email=ADMIN_EMAIL, password=None, full_name="Bench Admin"
            )
            membership_create(
                user=user,
                organisation=organisation,
                role=Role.ADMIN,
                default_clinic=None,
                acting_user=None,
            )
        return admin_membership(organisation)
    return membership


# --- Measuring ---------------------------------------------------------------------------------


def sample_patients(organisation: Organisation) -> tuple[list[Patient], int]:
    """PATIENT_SAMPLES random patients with side effects, the one with most first; and how
    many that one has."""
    per_patient = list(
        AdverseEvent.objects.filter(organisation=organisation)
        .values("patient_id")
        .annotate(n=Count("pk"))
        .order_by("-n", "patient_id")
        .values_list("patient_id", "n")
    )
    busiest, most = per_patient[0]
    rest = sorted(p for p, _n in per_patient[1:])
    ids = [busiest, *random.Random(11).sample(rest, min(PATIENT_SAMPLES - 1, len(rest)))]
    patients = Patient.objects.in_bulk(ids)
    return [patients[i] for i in ids], most


def rows_of(report: RatesReport) -> int:
    return sum(len(table) for _key, _label, table in report.tables())


def measure(organisation: Organisation) -> tuple[list[charting.Read], dict[str, Any]]:
    practitioner_ws = charting.practitioner_workspace(organisation)
    admin_ws = workspace_for_membership(admin_membership(organisation))
    clinic = Clinic.objects.filter(organisation=organisation).order_by("pk").first()
    assert clinic is not None
    end = NOW.astimezone(clinic.tzinfo).date()
    start = end - dt.timedelta(days=PERIOD_DAYS)
    first_day = TreatmentSession.objects.filter(organisation=organisation).aggregate(
        d=Min("performed_on")
    )["d"]
    years = (end - first_day).days / 365.25
    queries = [
        ("safety rates, 12 months (`safety_rates`)", RatesQuery(start=start, end=end)),
        (
            f"safety rates, whole history ({years:.0f} years)",
            RatesQuery(start=first_day, end=end),
        ),
        ("safety rates, one clinic, 12 months", RatesQuery(start=start, end=end, clinic=clinic)),
        (
            "safety rates, possibly related or more, 12 months",
            RatesQuery(start=start, end=end, related_only=True),
        ),
    ]
    reads: list[charting.Read] = []
    reports: dict[str, RatesReport] = {}
    for name, query in progress(queries, total=len(queries), label="Timing the safety rates"):
        read = charting.Read(name)
        reports[name] = safety_rates(organisation=organisation, query=query)  # warm-up
        for _round in range(RATE_ROUNDS):
            read.time(lambda q=query: rows_of(safety_rates(organisation=organisation, query=q)))
        reads.append(read)

    for name, ws in (
        ("dashboard flags, a practitioner's (`flagged_for`)", practitioner_ws),
        ("dashboard flags, an admin's (`flagged_for`)", admin_ws),
    ):
        read = charting.Read(name)
        flagged_for(workspace=ws, now=NOW)  # warm-up
        for _round in range(FLAG_ROUNDS):
            read.time(lambda ws=ws: len(flagged_for(workspace=ws, now=NOW)))
        reads.append(read)

    patients, most = sample_patients(organisation)
    header = charting.Read("chart header flags (`flagged_of_patient`)")
    tab = charting.Read("chart's Side effects tab (`events_of_patient`)")
    flagged_of_patient(patient_id=patients[-1].pk, now=NOW)  # warm-up
    events_of_patient(patient=patients[-1])
    label = f"Timing the side effects of {len(patients)} patients"
    for patient in progress(patients, total=len(patients), label=label):
        header.time(lambda p=patient: len(flagged_of_patient(patient_id=p.pk, now=NOW)))
        tab.time(lambda p=patient: len(events_of_patient(patient=p)))
    reads += [header, tab]

    twelve = reports[queries[0][0]]
    facts = {
        "busiest_events": most,
        "busiest_tab_rows": tab.rows[0],
        "twelve_sessions": twelve.overall.sessions,
        "twelve_per_100": twelve.overall.per_100,
        "highlighted_lots": [r.label for r in twelve.by_lot if r.highlight],
        "highlighted_practitioners": [r.label for r in twelve.by_practitioner if r.highlight],
    }
    return reads, facts


def counts(organisation: Organisation) -> dict[str, int]:
    events = AdverseEvent.objects.filter(organisation=organisation)
    open_events = events.filter(outcome=Outcome.ONGOING)
    return {
        "sessions": TreatmentSession.objects.filter(
            organisation=organisation, status=SessionStatus.SIGNED, superseded_at__isnull=True
        ).count(),
        "events": events.count(),
        "links": AdverseEventVisit.objects.filter(organisation=organisation).count(),
        "serious": events.filter(is_serious=True).count(),
        "open": open_events.count(),
        "prolonged": open_events.filter(expected_end_at__lt=NOW).count(),
        "unreviewed": open_events.filter(is_serious=True, reviewed_at__isnull=True).count(),
    }


def main() -> None:
    args = arguments()
    built = charting_build(args)
    organisation = Organisation.objects.get(slug=charting.SLUG)
    marker = side_effects(organisation, built)
    admin_membership(organisation)
    charting.analyze()
    size = counts(organisation)
    reads, facts = measure(organisation)

    vendor = connection.vendor
    print(
        f"\n{vendor}: {size['sessions']:,} current signed sessions, {size['events']:,} side "
        f"effects ({size['events'] / size['sessions'] * 100:.1f} per 100 sessions; "
        f"{size['serious']:,} serious, {size['open']:,} open: {size['prolonged']:,} past their "
        f"expected course, {size['unreviewed']:,} serious not reviewed), {size['links']:,} "
        f"visit links"
    )
    charting_stages = ", ".join(f"{k} {v:.0f} s" for k, v in built["stages"].items())
    stages = ", ".join(f"{k} {v:.0f} s" for k, v in marker["stages"].items())
    print(
        f"build: charting {built['build_seconds']:.0f} s ({charting_stages}); side effects "
        f"{marker['build_seconds']:.0f} s ({stages})"
    )
    print(
        f"worse lot {marker['worse_lot']}: {marker['worse_lot_events']:,} of "
        f"{marker['worse_lot_sessions']:,} sessions; 12 months: {facts['twelve_sessions']:,} "
        f"sessions, {facts['twelve_per_100']:.1f} per 100, highlighted lots "
        f"{', '.join(facts['highlighted_lots']) or 'none'}, practitioners "
        f"{', '.join(facts['highlighted_practitioners']) or 'none'}; busiest patient: "
        f"{facts['busiest_events']} side effects ({facts['busiest_tab_rows']} on the tab)\n"
    )
    charting.print_table(reads, explain_slowest=args.explain)


if __name__ == "__main__":
    try:
        main()
    except KeyboardInterrupt:
        print(
            "\nInterrupted: the next run adds the side effects again (a charting build "
            "interrupted is redone from nothing).",
            file=sys.stderr,
        )
        sys.exit(130)
