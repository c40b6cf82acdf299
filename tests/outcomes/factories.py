"""Small factories for outcome tests: courses written as rows (a cohort test needs dozens
without booking each through the calendar), visits through the real service."""

from __future__ import annotations

import datetime as dt
import io
from typing import Any

from PIL import Image

from mesoclinic.outcomes.models import OutcomeVisit
from mesoclinic.outcomes.services import MeasurementInput, VisitInput, outcome_visit_record
from mesoclinic.patients.models import Patient
from mesoclinic.protocols.models import ProtocolVersion
from mesoclinic.scheduling.models import Course, CourseStatus
from mesoclinic.screening.models import Screening
from tests.conftest import make_patient


def course_row(
    world: Any,
    patient: Patient,
    version: ProtocolVersion,
    *,
    start_on: dt.date = dt.date(2026, 1, 5),
    status: str = CourseStatus.ACTIVE,
    practitioner: Any = None,
) -> Course:
    """A course row (no appointments) of ``version`` for ``patient``, screened eligible."""
    screening = Screening.objects.create(
        organisation=world.acme,
        patient=patient,
        screened_on=start_on,
        screened_by=world.paul,
        protocol_kind=version.kind,
        protocol_version=version,
        ingredients=version.ingredient_codes,
        outcome="eligible",
        rule_set_version="2026-11-1",
        facts={},
        decision={"reasons": []},
    )
    return Course.objects.create(
        organisation=world.acme,
        patient=patient,
        protocol_version=version,
        clinic=world.acme_city,
        practitioner=practitioner or world.paul,
        screening=screening,
        start_on=start_on,
        induction_sessions=6,
        status=status,
        created_by=world.paul,
    )


def visit(
    world: Any,
    patient: Patient,
    *,
    point: str,
    day: dt.date,
    course: Course | None = None,
    by: Any = None,
    stage: tuple[str, str] = ("", ""),
    **values: float,
) -> OutcomeVisit:
    """An outcome visit at Acme City through ``outcome_visit_record``; ``values`` are
    measure codes with their numbers (default methods)."""
    return outcome_visit_record(
        patient=patient,
        data=VisitInput(
            point=point,
            measured_on=day,
            clinic=world.acme_city,
            course=course,
            stage_scale=stage[0],
            stage=stage[1],
            measurements=tuple(MeasurementInput(measure=k, value=v) for k, v in values.items()),
        ),
        acting_user=by or world.paul,
    )


def patient_on(
    world: Any,
    version: ProtocolVersion,
    name: str,
    *,
    baseline: float | None,
    month_6: float | None = None,
    status: str = CourseStatus.ACTIVE,
    sex: str = "female",
    measure: str = "density_per_cm2",
    stage: tuple[str, str] = ("", ""),
    start_on: dt.date = dt.date(2026, 1, 5),
) -> Course:
    """A new patient with a course of ``version``, a baseline and a 6-month value."""
    patient = make_patient(
        world.acme, world.fiona, given_name=name, family_name="Cohort", sex_at_birth=sex
    )
    course = course_row(world, patient, version, status=status, start_on=start_on)
    if baseline is not None:
        visit(
            world,
            patient,
            point="baseline",
            day=start_on,
            course=course,
            stage=stage,
            **{measure: baseline},
        )
    if month_6 is not None:
        visit(
            world,
            patient,
            point="month_6",
            day=start_on + dt.timedelta(days=182),
            course=course,
            **{measure: month_6},
        )
    return course


def jpeg(width: int = 64, height: int = 48, colour: tuple[int, int, int] = (120, 90, 60)) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (width, height), colour).save(buffer, format="JPEG")
    return buffer.getvalue()
