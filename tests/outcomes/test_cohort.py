"""Cohorts of courses (outcomes/cohort.py): who is in them, what is counted, how a course's
review is paired with its baseline, and the de-identified rows.

The clock is Wednesday 2 December 2026 in London (``calendar``); courses start on 5 January
2026 unless a test says otherwise, with a baseline that day and a 6-month review.
"""

from __future__ import annotations

import datetime as dt

import pytest

from mesoclinic.outcomes import cohort, measures
from mesoclinic.outcomes.models import ReviewPoint
from mesoclinic.scheduling.models import CourseSession, CourseStatus, SessionStatus
from tests.outcomes.factories import patient_on, visit

DENSITY = measures.get("density_per_cm2")


def outcomes(world, **filters):
    return cohort.cohort_outcomes(
        organisation_id=world.acme.pk,
        cohort=cohort.CohortFilter(**filters),
        measure=DENSITY,
        threshold_percent=10,
    )


def done_session(world, course, position=1):
    day = course.start_on + dt.timedelta(days=14 * (position - 1))
    CourseSession.objects.create(
        organisation=world.acme,
        course=course,
        position=position,
        phase="induction",
        number_in_phase=position,
        earliest_on=day,
        target_on=day,
        latest_on=day,
        status=SessionStatus.DONE,
        done_on=day,
    )


def test_counts_follow_the_courses_status_and_whether_they_started(world, calendar):
    hair = calendar.hair
    done_session(
        world,
        patient_on(world, hair, "A", baseline=150, month_6=160, status=CourseStatus.COMPLETED),
    )
    done_session(world, patient_on(world, hair, "B", baseline=140, status=CourseStatus.CANCELLED))
    patient_on(world, hair, "C", baseline=None, status=CourseStatus.CANCELLED)  # never started
    patient_on(world, hair, "D", baseline=None)
    result = outcomes(world, protocol_id=hair.protocol_id)
    counts = result.counts
    assert (counts.patients, counts.courses) == (4, 4)
    assert (counts.started, counts.patients_started, counts.not_started) == (2, 2, 2)
    # Dropped out: stopped after starting; C was cancelled before its first session.
    assert (counts.completed, counts.dropped_out, counts.active) == (1, 1, 1)
    assert counts.with_baseline == 2
    six = result.at(ReviewPoint.MONTH_6)
    assert six.change is not None and six.change.n == 1
    assert six.change.change_interval is None  # one pair: counts, no interval


def test_only_courses_with_both_baseline_and_review_are_paired(world, calendar):
    hair = calendar.hair
    patient_on(world, hair, "A", baseline=150, month_6=165)
    patient_on(world, hair, "B", baseline=140, month_6=147)
    patient_on(world, hair, "C", baseline=160)  # no review yet
    course = patient_on(world, hair, "D", baseline=None)
    visit(
        world,
        course.patient,
        point="month_6",
        day=dt.date(2026, 7, 6),
        course=course,
        density_per_cm2=200,
    )  # a review without a baseline
    result = cohort.cohort_outcomes(
        organisation_id=world.acme.pk,
        cohort=cohort.CohortFilter(protocol_id=hair.protocol_id),
        measure=DENSITY,
        threshold_percent=10,
        distribution_at=ReviewPoint.MONTH_6,
    )
    six = result.at(ReviewPoint.MONTH_6)
    assert six.change is not None
    assert six.change.n == 2
    assert six.change.mean_change == pytest.approx(11.0)  # (+15 + 7) / 2
    assert sorted(result.distribution) == pytest.approx([5.0, 10.0])  # +7/140, +15/150


def test_a_course_has_one_visit_per_review_point(world, calendar):
    from django.db import IntegrityError, transaction

    from mesoclinic.core.errors import DomainError
    from mesoclinic.outcomes.models import OutcomeVisit

    course = patient_on(world, calendar.hair, "A", baseline=150, month_6=160)
    with pytest.raises(DomainError) as refused:
        visit(
            world,
            course.patient,
            point="month_6",
            day=dt.date(2026, 7, 20),
            course=course,
            density_per_cm2=170,
        )
    assert "already has its 6 months review" in refused.value.message
    # The database holds the line too (the pairing in SQL counts on it).
    first = OutcomeVisit.objects.get(course=course, point="month_6")
    with pytest.raises(IntegrityError), transaction.atomic():
        OutcomeVisit.objects.create(
            organisation=world.acme,
            patient=course.patient,
            clinic=world.acme_city,
            course=course,
            point="month_6",
            measured_on=first.measured_on,
            recorded_by=world.paul,
        )


def test_the_sums_made_by_the_database_give_the_same_statistics_as_the_pairs(world, calendar):
    from mesoclinic.outcomes import stats

    pairs = [(150, 165), (140, 147), (160, 160), (130, 120), (0, 12), (155, 171.5)]
    for n, (before, after) in enumerate(pairs):
        patient_on(world, calendar.hair, f"P{n}", baseline=before, month_6=after)
    six = outcomes(world).at(ReviewPoint.MONTH_6)
    expected = stats.paired_change(pairs)
    assert six.change is not None and expected is not None
    assert six.change.n == expected.n == 6
    for name in (
        "mean_baseline",
        "mean_follow_up",
        "mean_change",
        "sd_change",
        "mean_percent_change",
    ):
        assert getattr(six.change, name) == pytest.approx(getattr(expected, name), rel=1e-9)
    assert six.change.n_percent == expected.n_percent == 5  # the 0 baseline has no percentage
    assert six.change.change_interval.low == pytest.approx(expected.change_interval.low)
    assert six.change.percent_change_interval.high == pytest.approx(
        expected.percent_change_interval.high
    )
    reference = stats.responders(pairs, threshold_percent=10)
    assert (six.responders.responders, six.responders.n, six.responders.excluded) == (
        reference.responders,
        reference.n,
        reference.excluded,
    )


def test_lower_is_better_measures_count_decreases_as_responders(world, calendar):
    shedding = measures.get("count_60s")
    for n, (before, after) in enumerate(((60, 40), (50, 48), (40, 44))):
        patient_on(
            world, calendar.hair, f"S{n}", baseline=before, month_6=after, measure="count_60s"
        )
    result = cohort.cohort_outcomes(
        organisation_id=world.acme.pk,
        cohort=cohort.CohortFilter(),
        measure=shedding,
        threshold_percent=10,
    )
    six = result.at(ReviewPoint.MONTH_6)
    assert six.responders is not None
    assert (six.responders.responders, six.responders.n) == (1, 3)  # only -33 % reaches -10 %


@pytest.mark.parametrize(
    ("filters", "expected"),
    [
        ({"sex": "male"}, ["Man"]),
        ({"sex": "female"}, ["Early", "Woman"]),
        ({"stage_scale": "ludwig", "stage": "II"}, ["Woman"]),
        ({"started_from": dt.date(2026, 3, 1)}, ["Man", "Woman"]),
        ({"started_to": dt.date(2026, 2, 1)}, ["Early"]),
        ({"formulation": "Multivitamin cocktail"}, ["Early", "Man", "Woman"]),
        ({"formulation": "Autologous platelet-rich plasma"}, []),
    ],
)
def test_filters_select_the_courses(world, calendar, filters, expected):
    hair = calendar.hair
    patient_on(world, hair, "Early", baseline=150, start_on=dt.date(2026, 1, 5))
    patient_on(
        world, hair, "Woman", baseline=150, stage=("ludwig", "II"), start_on=dt.date(2026, 3, 2)
    )
    patient_on(
        world,
        hair,
        "Man",
        baseline=150,
        sex="male",
        stage=("norwood", "IV"),
        start_on=dt.date(2026, 4, 6),
    )
    courses = cohort.courses_of_cohort(
        organisation_id=world.acme.pk, cohort=cohort.CohortFilter(**filters)
    )
    assert sorted(c.patient.given_name for c in courses.select_related("patient")) == expected


def test_a_practitioner_filter_keeps_their_courses(world, calendar):
    from tests.conftest import make_patient
    from tests.outcomes.factories import course_row

    patient = make_patient(world.acme, world.fiona, given_name="Alma", family_name="Alice")
    course_row(world, patient, calendar.hair, practitioner=world.alice)
    patient_on(world, calendar.hair, "Paula", baseline=150)
    courses = cohort.courses_of_cohort(
        organisation_id=world.acme.pk, cohort=cohort.CohortFilter(practitioner_id=world.alice.pk)
    )
    assert [c.patient.given_name for c in courses.select_related("patient")] == ["Alma"]


def test_another_organisations_courses_are_never_in_a_cohort(world, calendar):
    patient_on(world, calendar.hair, "A", baseline=150, month_6=160)
    result = cohort.cohort_outcomes(
        organisation_id=world.other.pk,
        cohort=cohort.CohortFilter(),
        measure=DENSITY,
        threshold_percent=10,
    )
    assert result.counts.courses == 0
    assert all(p.change is None for p in result.points)


def test_two_protocols_are_compared_point_by_point(world, calendar):
    for name, (before, after) in zip("ABC", ((150, 165), (140, 147), (160, 160)), strict=True):
        patient_on(world, calendar.hair, name, baseline=before, month_6=after)
    for name, (before, after) in zip("DE", ((150, 150), (140, 138)), strict=True):
        patient_on(world, calendar.prp, name, baseline=before, month_6=after)
    first = outcomes(world, protocol_id=calendar.hair.protocol_id)
    second = outcomes(world, protocol_id=calendar.prp.protocol_id)
    row = next(p for p in cohort.compare(first, second).points if p.point == ReviewPoint.MONTH_6)
    assert row.change_difference is not None
    # Hair: +15, +7, 0 (mean 22/3); PRP: 0, -2 (mean -1).
    assert row.change_difference.estimate == pytest.approx(22 / 3 + 1)
    assert row.change_difference.interval is not None
    assert row.responder_difference is not None
    assert row.responder_difference.estimate == pytest.approx(1 / 3)  # 1/3 vs 0/2


def test_the_deidentified_rows_count_days_from_baseline_and_band_ages(world, calendar):
    patient_on(world, calendar.hair, "A", baseline=150, month_6=160, stage=("ludwig", "II"))
    for name in "BCDE":
        patient_on(world, calendar.hair, name, baseline=140)
    patient_on(world, calendar.hair, "F", baseline=None)  # no baseline: left out
    rows = list(
        cohort.deidentified_rows(organisation_id=world.acme.pk, cohort=cohort.CohortFilter())
    )
    header, body = rows[0], rows[1:]
    assert header == cohort.CSV_HEADER
    assert len(body) == 6
    # Numbers stay numbers; rows come in subject order (the codes are random per export).
    assert [r[0] for r in body] == sorted(r[0] for r in body)
    a_rows = [r for r in body if r[4] == "ludwig II"]
    assert [(r[6], r[7], r[8], r[9]) for r in a_rows] == [
        ("baseline", 0, "density_per_cm2", 150.0),
        ("month_6", 182, "density_per_cm2", 160.0),
    ]
    subject, _protocol, sex, band = a_rows[0][:4]
    assert str(subject).startswith("S") and sex == "female" and band == "40-44"


def test_a_cohort_too_small_to_hide_its_patients_is_not_exported(world, calendar):
    for name in "ABCD":
        patient_on(world, calendar.hair, name, baseline=150)
    with pytest.raises(cohort.TooFewToExport):
        cohort.deidentified_rows(organisation_id=world.acme.pk, cohort=cohort.CohortFilter())


@pytest.mark.parametrize(
    ("born", "band"),
    [
        (dt.date(1936, 1, 4), "90+"),
        (dt.date(1936, 1, 5), "90+"),  # 90 on the baseline's day
        (dt.date(1936, 1, 6), "85-89"),  # 90 the day after
        (dt.date(2006, 1, 5), "20-24"),
    ],
)
def test_ages_are_banded_and_the_oldest_together(born, band):
    assert cohort._age_band(born, dt.date(2026, 1, 5)) == band
