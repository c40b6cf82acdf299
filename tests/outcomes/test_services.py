"""Recording and correcting outcome visits, landmarks and photos through the services:
what is stored, what is refused (with the field, and nothing written), and the audit.

The clock is Wednesday 2 December 2026 in London; Rita (born 14 March 1985) has a hair
course from 5 January 2026 (``rita_course``).
"""

from __future__ import annotations

import datetime as dt

import pytest

from mesoclinic.core.errors import Conflict, DomainError
from mesoclinic.core.models import AuditEvent
from mesoclinic.outcomes.models import Measurement, OutcomePhoto, OutcomeVisit
from mesoclinic.outcomes.services import (
    MeasurementInput,
    VisitInput,
    landmark_create,
    outcome_photo_add,
    outcome_photo_analyse,
    outcome_photo_remove,
    outcome_visit_record,
    outcome_visit_update,
)
from mesoclinic.scheduling.models import CourseSession, SessionStatus
from mesoclinic.treatments.images import prepare_photo
from tests.outcomes.conftest import FakeResult
from tests.outcomes.factories import course_row, jpeg, visit
from tests.treatments.test_images import jpeg_with_exif

BASELINE_DAY = dt.date(2026, 1, 5)


def data(world, **overrides) -> VisitInput:
    fields = {
        "point": "baseline",
        "measured_on": BASELINE_DAY,
        "clinic": world.acme_city,
        "measurements": (MeasurementInput(measure="density_per_cm2", value=150),),
    }
    fields.update(overrides)
    return VisitInput(**fields)


def nothing_written(before: tuple[int, int, int]) -> bool:
    return before == counts()


def counts() -> tuple[int, int, int]:
    return (OutcomeVisit.objects.count(), Measurement.objects.count(), AuditEvent.objects.count())


# --- Recording ------------------------------------------------------------------------------


def test_a_baseline_is_stored_with_each_number_its_method_and_device(world, rita, rita_course):
    recorded = outcome_visit_record(
        patient=rita,
        data=data(
            world,
            course=rita_course,
            stage_scale="ludwig",
            stage="II",
            measurements=(
                MeasurementInput(
                    measure="density_per_cm2",
                    value=151.5,
                    method="trichoscopy_manual",
                    device="FotoFinder 20x",
                ),
                MeasurementInput(measure="shaft_width_um", value=58.2),
                MeasurementInput(measure="self_assessment", value=0),
            ),
        ),
        acting_user=world.paul,
    )
    rows = {m.measure: m for m in recorded.measurements.all()}
    assert set(rows) == {"density_per_cm2", "shaft_width_um", "self_assessment"}
    assert rows["density_per_cm2"].value == 151.5
    assert rows["density_per_cm2"].device == "FotoFinder 20x"
    # A measure recorded without a method gets the measure's first method.
    assert rows["shaft_width_um"].method == "trichoscopy_manual"
    for row in rows.values():
        assert (row.patient_id, row.course_id, row.point) == (rita.pk, rita_course.pk, "baseline")
    event = AuditEvent.objects.get(action="outcome_visit.record")
    assert event.patient_id == rita.pk
    assert event.changes["measurement.density_per_cm2"]["new"]["value"] == 151.5
    assert event.changes["stage"]["new"] == "II"


def test_any_measure_can_be_left_out(world, rita):
    recorded = outcome_visit_record(
        patient=rita, data=data(world, point="other", measurements=()), acting_user=world.paul
    )
    assert recorded.measurements.count() == 0


@pytest.mark.parametrize(
    ("measure", "value", "message"),
    [
        ("density_per_cm2", -1, "between 0.0 and 1000.0 hairs/cm2"),
        ("density_per_cm2", 1000.1, "between 0.0 and 1000.0 hairs/cm2"),
        ("shaft_width_um", 4.9, "between 5.0 and 200.0 um"),
        ("shaft_width_um", 200.5, "between 5.0 and 200.0 um"),
        ("target_area_count", 12.5, "whole number"),
        ("self_assessment", 4, "between -3 and +3"),
        ("satisfaction", 11, "between 0 and 10"),
        ("thin_hair_percent", 101, "between 0.0 and 100.0 %"),
        ("density_per_cm2", float("nan"), "Enter a number"),
    ],
)
def test_an_implausible_number_is_refused_on_its_field(world, rita, measure, value, message):
    before = counts()
    with pytest.raises(DomainError) as refused:
        outcome_visit_record(
            patient=rita,
            data=data(world, measurements=(MeasurementInput(measure=measure, value=value),)),
            acting_user=world.paul,
        )
    assert refused.value.field == measure
    assert message in refused.value.message
    assert nothing_written(before)


@pytest.mark.parametrize("value", [0, 1000, 5, 200])
def test_the_limits_themselves_are_accepted(world, rita, value):
    measure = "shaft_width_um" if value in (5, 200) else "density_per_cm2"
    outcome_visit_record(
        patient=rita,
        data=data(world, point="other", measurements=(MeasurementInput(measure, value),)),
        acting_user=world.paul,
    )


def test_a_visit_before_birth_is_refused(world, rita):
    with pytest.raises(DomainError) as refused:
        outcome_visit_record(
            patient=rita, data=data(world, measured_on=dt.date(1985, 3, 13)), acting_user=world.paul
        )
    assert refused.value.field == "measured_on"
    assert "before the patient's date of birth (1985-03-14)" in refused.value.message


def test_a_visit_in_the_future_is_refused_but_today_is_not(world, rita, fixed_clock):
    today = dt.date(2026, 12, 2)
    with pytest.raises(DomainError) as refused:
        outcome_visit_record(
            patient=rita,
            data=data(world, measured_on=today + dt.timedelta(days=1)),
            acting_user=world.paul,
        )
    assert refused.value.field == "measured_on"
    assert "future" in refused.value.message
    outcome_visit_record(patient=rita, data=data(world, measured_on=today), acting_user=world.paul)


@pytest.mark.parametrize(
    ("items", "field", "message"),
    [
        ((MeasurementInput("hair_colour", 1),), "measurements", "Unknown measure"),
        (
            (MeasurementInput("density_per_cm2", 100), MeasurementInput("density_per_cm2", 110)),
            "density_per_cm2",
            "entered twice",
        ),
        (
            (MeasurementInput("density_per_cm2", 100, method="patient"),),
            "density_per_cm2",
            "is not measured by",
        ),
    ],
)
def test_unknown_repeated_or_wrongly_measured_numbers_are_refused(
    world, rita, items, field, message
):
    with pytest.raises(DomainError) as refused:
        outcome_visit_record(
            patient=rita, data=data(world, measurements=items), acting_user=world.paul
        )
    assert refused.value.field == field
    assert message in refused.value.message


def test_a_stage_must_belong_to_its_scale(world, rita):
    with pytest.raises(DomainError) as refused:
        outcome_visit_record(
            patient=rita,
            data=data(world, stage_scale="ludwig", stage="VII"),
            acting_user=world.paul,
        )
    assert refused.value.field == "stage"


def test_only_clinicians_record_outcomes(world, rita):
    for person in (world.fiona, world.audrey, world.oscar):
        with pytest.raises(DomainError):
            outcome_visit_record(patient=rita, data=data(world), acting_user=person)
    assert OutcomeVisit.objects.count() == 0


# --- Courses and baselines --------------------------------------------------------------------


def test_a_course_has_one_baseline(world, rita, rita_course):
    visit(world, rita, point="baseline", day=BASELINE_DAY, course=rita_course, density_per_cm2=150)
    with pytest.raises(DomainError) as refused:
        visit(world, rita, point="baseline", day=BASELINE_DAY, course=rita_course)
    assert refused.value.field == "point"
    assert "already has a baseline, measured on 2026-01-05" in refused.value.message


def test_a_baseline_after_the_first_session_is_refused(world, rita, rita_course):
    CourseSession.objects.create(
        organisation=world.acme,
        course=rita_course,
        position=1,
        phase="induction",
        number_in_phase=1,
        earliest_on=BASELINE_DAY,
        target_on=BASELINE_DAY,
        latest_on=BASELINE_DAY,
        status=SessionStatus.DONE,
        done_on=dt.date(2026, 1, 6),
    )
    with pytest.raises(DomainError) as refused:
        visit(world, rita, point="baseline", day=dt.date(2026, 1, 7), course=rita_course)
    assert "before the first session, which was on 2026-01-06" in refused.value.message
    # The day of the first session itself is still a baseline (measured before injecting).
    visit(world, rita, point="baseline", day=dt.date(2026, 1, 6), course=rita_course)


def test_a_review_cannot_be_dated_before_its_baseline(world, rita, rita_course):
    visit(world, rita, point="baseline", day=BASELINE_DAY, course=rita_course)
    with pytest.raises(DomainError) as refused:
        visit(world, rita, point="month_3", day=dt.date(2026, 1, 4), course=rita_course)
    assert refused.value.field == "measured_on"


def test_another_patients_course_or_landmark_is_refused(world, calendar, rita, rita_course):
    from tests.conftest import make_patient

    other = make_patient(world.acme, world.fiona, given_name="Olga", family_name="Other")
    other_course = course_row(world, other, calendar.hair)
    with pytest.raises(DomainError) as refused:
        outcome_visit_record(
            patient=rita, data=data(world, course=other_course), acting_user=world.paul
        )
    assert refused.value.field == "course"
    mark = landmark_create(patient=other, name="Vertex", acting_user=world.paul)
    with pytest.raises(DomainError) as refused:
        outcome_visit_record(patient=rita, data=data(world, landmark=mark), acting_user=world.paul)
    assert refused.value.field == "landmark"


def test_another_organisations_clinic_is_refused(world, rita):
    with pytest.raises(DomainError) as refused:
        outcome_visit_record(
            patient=rita, data=data(world, clinic=world.other_clinic), acting_user=world.paul
        )
    assert refused.value.field == "clinic"


# --- Corrections ------------------------------------------------------------------------------


def test_a_correction_keeps_old_and_new_values_in_the_audit(world, rita, rita_course):
    recorded = visit(
        world,
        rita,
        point="baseline",
        day=BASELINE_DAY,
        course=rita_course,
        density_per_cm2=150,
        shaft_width_um=60,
    )
    corrected = outcome_visit_update(
        visit=recorded,
        data=data(
            world,
            course=rita_course,
            measurements=(
                MeasurementInput("density_per_cm2", 155),
                MeasurementInput("count_60s", 40),
            ),
        ),
        expected_version=1,
        acting_user=world.alice,
    )
    assert corrected.version == 2
    values = dict(corrected.measurements.values_list("measure", "value"))
    assert values == {"density_per_cm2": 155, "count_60s": 40}
    event = AuditEvent.objects.get(action="outcome_visit.update")
    assert event.changes["measurement.density_per_cm2"]["old"]["value"] == 150
    assert event.changes["measurement.density_per_cm2"]["new"]["value"] == 155
    assert event.changes["measurement.shaft_width_um"]["new"] is None
    assert event.changes["measurement.count_60s"]["old"] is None


def test_a_correction_moves_the_copies_of_point_and_course_with_the_visit(world, rita, rita_course):
    recorded = visit(world, rita, point="other", day=dt.date(2026, 7, 1), density_per_cm2=160)
    outcome_visit_update(
        visit=recorded,
        data=data(
            world,
            point="month_6",
            measured_on=dt.date(2026, 7, 1),
            course=rita_course,
            measurements=(MeasurementInput("density_per_cm2", 160),),
        ),
        expected_version=None,
        acting_user=world.paul,
    )
    row = Measurement.objects.get(visit=recorded)
    assert (row.point, row.course_id) == ("month_6", rita_course.pk)


def test_a_stale_correction_is_refused(world, rita):
    recorded = visit(world, rita, point="other", day=BASELINE_DAY, density_per_cm2=150)
    outcome_visit_update(
        visit=recorded, data=data(world, point="other"), expected_version=1, acting_user=world.paul
    )
    with pytest.raises(Conflict):
        outcome_visit_update(
            visit=recorded,
            data=data(world, point="other"),
            expected_version=1,
            acting_user=world.alice,
        )


# --- Landmarks ----------------------------------------------------------------------------


def test_a_landmark_is_named_once_per_patient(world, rita):
    mark = landmark_create(
        patient=rita,
        name="Vertex target",
        from_glabella_mm=180,
        from_midline_mm=-10,
        tattooed=True,
        acting_user=world.paul,
    )
    assert (
        mark.position_text() == "180 mm behind the glabella, 10 mm left of the midline, dot tattoo"
    )
    with pytest.raises(Conflict):
        landmark_create(patient=rita, name="Vertex target", acting_user=world.paul)
    with pytest.raises(DomainError):
        landmark_create(patient=rita, name="  ", acting_user=world.paul)


# --- Photos -------------------------------------------------------------------------------


def test_a_photo_is_stored_without_its_metadata(world, rita):
    recorded = visit(world, rita, point="baseline", day=BASELINE_DAY)
    photo = outcome_photo_add(
        visit=recorded,
        view="vertex",
        photo=prepare_photo(jpeg_with_exif(), max_bytes=10_000_000),
        acting_user=world.paul,
    )
    from PIL import Image

    with photo.image.open("rb") as handle, Image.open(handle) as stored:
        assert not stored.getexif()
    assert photo.image.name.startswith(f"photos/{world.acme.pk}/outcomes/")
    assert AuditEvent.objects.filter(action="outcome_photo.add", patient=rita).exists()


def test_a_photo_needs_a_known_view_and_a_sensible_calibration(world, rita):
    recorded = visit(world, rita, point="baseline", day=BASELINE_DAY)
    prepared = prepare_photo(jpeg(), max_bytes=10_000_000)
    with pytest.raises(DomainError) as refused:
        outcome_photo_add(visit=recorded, view="selfie", photo=prepared, acting_user=world.paul)
    assert refused.value.field == "view"
    with pytest.raises(DomainError) as refused:
        outcome_photo_add(
            visit=recorded, view="trichoscopy", photo=prepared, um_per_px=0, acting_user=world.paul
        )
    assert refused.value.field == "um_per_px"
    assert OutcomePhoto.objects.count() == 0


def test_a_removed_photo_leaves_a_reason_and_its_hash_and_loses_its_files(
    world, rita, django_capture_on_commit_callbacks
):
    recorded = visit(world, rita, point="baseline", day=BASELINE_DAY)
    photo = outcome_photo_add(
        visit=recorded,
        view="vertex",
        photo=prepare_photo(jpeg(), max_bytes=10**7),
        acting_user=world.paul,
    )
    storage, name = photo.image.storage, photo.image.name
    with pytest.raises(DomainError):
        outcome_photo_remove(photo=photo, reason="no", acting_user=world.paul)
    with django_capture_on_commit_callbacks(execute=True):
        outcome_photo_remove(photo=photo, reason="Another patient's scalp", acting_user=world.paul)
    assert not storage.exists(name)
    event = AuditEvent.objects.get(action="outcome_photo.remove")
    assert event.changes["sha256"]["old"] == photo.sha256
    assert event.changes["reason"]["new"] == "Another patient's scalp"


# --- The trichoscopy hook -----------------------------------------------------------------


def close_up(world, rita, *, um_per_px=2.5, view="trichoscopy") -> OutcomePhoto:
    recorded = visit(world, rita, point="baseline", day=BASELINE_DAY)
    return outcome_photo_add(
        visit=recorded,
        view=view,
        photo=prepare_photo(jpeg(), max_bytes=10**7),
        um_per_px=um_per_px,
        acting_user=world.paul,
    )


def test_without_the_library_the_analysis_says_to_enter_numbers_by_hand(world, rita, monkeypatch):
    from mesoclinic.outcomes import trichoscopy_hook

    monkeypatch.setattr(trichoscopy_hook, "_library", lambda: None)
    photo = close_up(world, rita)
    with pytest.raises(DomainError) as refused:
        outcome_photo_analyse(photo=photo, acting_user=world.paul)
    assert "enter the numbers by hand" in refused.value.message


def test_the_analysis_keeps_its_findings_and_overlay_but_writes_no_measurement(
    world, rita, fake_library
):
    photo = close_up(world, rita)
    findings = outcome_photo_analyse(photo=photo, acting_user=world.paul)
    photo.refresh_from_db()
    assert photo.analysis["count"] == 42
    assert photo.analysis["library_version"] == "0.test"
    assert photo.analysis["thin_hair_percent"] == 25.0  # one of four widths under 30 um
    assert photo.overlay.name.endswith(".png")
    assert findings.prefill() == {
        "target_area_count": 42,
        "density_per_cm2": 168.0,
        "terminal_count": 39,
        "vellus_count": 3,
        "shaft_width_um": 50.0,
        "thin_hair_percent": 25.0,
    }
    assert Measurement.objects.count() == 0
    assert AuditEvent.objects.filter(action="outcome_photo.analyse").count() == 1


def test_only_calibrated_close_ups_are_analysed(world, rita, fake_library):
    with pytest.raises(DomainError) as refused:
        outcome_photo_analyse(photo=close_up(world, rita, view="vertex"), acting_user=world.paul)
    assert refused.value.field == "photo"
    photo = close_up_again(world, rita)
    with pytest.raises(DomainError) as refused:
        outcome_photo_analyse(photo=photo, acting_user=world.paul)
    assert refused.value.field == "um_per_px"


def close_up_again(world, rita) -> OutcomePhoto:
    recorded = visit(world, rita, point="other", day=BASELINE_DAY)
    return outcome_photo_add(
        visit=recorded,
        view="trichoscopy",
        photo=prepare_photo(jpeg(), max_bytes=10**7),
        acting_user=world.paul,
    )


# --- Found in review ------------------------------------------------------------------------


def test_a_baseline_cannot_come_after_its_courses_reviews(world, rita, rita_course):
    visit(
        world,
        rita,
        point="month_3",
        day=dt.date(2026, 4, 6),
        course=rita_course,
        density_per_cm2=150,
    )
    with pytest.raises(DomainError) as refused:
        visit(world, rita, point="baseline", day=dt.date(2026, 4, 20), course=rita_course)
    assert refused.value.field == "measured_on"
    assert "already has a review on 2026-04-06" in refused.value.message
    baseline = visit(world, rita, point="baseline", day=dt.date(2026, 4, 6), course=rita_course)
    with pytest.raises(DomainError):
        outcome_visit_update(
            visit=baseline,
            data=data(world, course=rita_course, measured_on=dt.date(2026, 5, 1)),
            expected_version=1,
            acting_user=world.paul,
        )


def test_a_photo_removed_twice_is_refused_the_second_time(world, rita):
    recorded = visit(world, rita, point="baseline", day=BASELINE_DAY)
    photo = outcome_photo_add(
        visit=recorded,
        view="vertex",
        photo=prepare_photo(jpeg(), max_bytes=10**7),
        acting_user=world.paul,
    )
    stale = OutcomePhoto.objects.get(pk=photo.pk)
    outcome_photo_remove(photo=photo, reason="Another patient's scalp", acting_user=world.paul)
    with pytest.raises(DomainError) as refused:
        outcome_photo_remove(photo=stale, reason="Another patient's scalp", acting_user=world.paul)
    assert "already been removed" in refused.value.message
    assert AuditEvent.objects.filter(action="outcome_photo.remove").count() == 1


def test_a_new_analysis_without_an_overlay_forgets_the_old_one(
    world, rita, fake_library, django_capture_on_commit_callbacks
):
    photo = close_up(world, rita)
    outcome_photo_analyse(photo=photo, acting_user=world.paul)
    photo.refresh_from_db()
    storage, old = photo.overlay.storage, photo.overlay.name
    del fake_library.render_overlay
    with django_capture_on_commit_callbacks(execute=True):
        outcome_photo_analyse(photo=photo, acting_user=world.paul)
    photo.refresh_from_db()
    assert not photo.overlay
    assert not storage.exists(old)


@pytest.mark.parametrize(
    "broken",
    [
        lambda image, um_per_px, roi=None: [][1],  # a bug in the library
        lambda image, um_per_px, roi=None: FakeResult(density_per_cm2=float("nan")),
        lambda image, um_per_px, roi=None: FakeResult(count=-1),
    ],
)
def test_a_failing_analysis_is_a_message_not_a_crash(world, rita, fake_library, broken):
    fake_library.analyze = broken
    photo = close_up(world, rita)
    with pytest.raises(DomainError) as refused:
        outcome_photo_analyse(photo=photo, acting_user=world.paul)
    assert refused.value.field == "photo"
    photo.refresh_from_db()
    assert photo.analysis is None


def test_a_library_that_cannot_be_imported_counts_as_absent(monkeypatch):
    import importlib

    from mesoclinic.outcomes import trichoscopy_hook

    def broken_import(name, *args):
        raise ImportError("No module named 'skimage'")

    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: object())
    monkeypatch.setattr(importlib, "import_module", broken_import)
    assert trichoscopy_hook.available() is False


def test_progress_compares_each_course_with_its_own_baseline(world, calendar, rita, rita_course):
    from mesoclinic.outcomes.selectors import progress_of

    second = course_row(world, rita, calendar.prp, start_on=dt.date(2026, 8, 3))
    visit(world, rita, point="baseline", day=BASELINE_DAY, course=rita_course, density_per_cm2=150)
    visit(
        world, rita, point="baseline", day=dt.date(2026, 8, 3), course=second, shaft_width_um=60
    )  # this course's baseline has no density
    visit(
        world, rita, point="month_3", day=dt.date(2026, 11, 2), course=second, density_per_cm2=170
    )
    visit(
        world,
        rita,
        point="month_6",
        day=dt.date(2026, 7, 6),
        course=rita_course,
        density_per_cm2=165,
    )
    density = next(s for s in progress_of(rita).series if s.measure.code == "density_per_cm2")
    changes = {p.day: p.change for p in density.points}
    assert changes[dt.date(2026, 7, 6)] == 15  # course 1 against its baseline
    assert changes[dt.date(2026, 11, 2)] is None  # course 2 has no density baseline
