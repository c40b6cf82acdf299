"""Demo outcome visits: a baseline before each demo course's first session and the reviews
whose dates have passed, with measurements and, for a few patients, standardized photos
(drawn here: a skin-coloured field with dark strokes for hairs, more strokes for a higher
density), all written through the services.

The numbers are demo noise around a small average change that is the same for every
protocol: the demo must not suggest that one protocol works better than another.
"""

from __future__ import annotations

import datetime as dt
import io
import math
import random

from PIL import Image, ImageDraw, ImageFilter

from mesoclinic.accounts.models import User
from mesoclinic.core.errors import DomainError
from mesoclinic.outcomes.models import ReviewPoint
from mesoclinic.outcomes.services import (
    MeasurementInput,
    VisitInput,
    landmark_create,
    outcome_photo_add,
    outcome_visit_record,
)
from mesoclinic.scheduling.models import Course, CourseSession, CourseStatus, SessionStatus
from mesoclinic.treatments.images import prepare_photo

# Courses whose visits also get photos (the first ones, the portal patient's among them).
WITH_PHOTOS = 6
PHOTO_VIEWS = ("vertex", "frontal", "trichoscopy")
DEVICE = "Demo dermatoscope 20x"
UM_PER_PX = 4.0


def _values(rng: random.Random, base: dict[str, float], months: float) -> dict[str, float]:
    """One visit's numbers: the patient's baseline moved by noise and a small drift."""
    drift = 1 + rng.gauss(0.015, 0.05) * min(months, 6) / 3
    density = max(40.0, min(320.0, base["density"] * drift + rng.gauss(0, 4)))
    width = max(20.0, min(110.0, base["width"] * (1 + rng.gauss(0.01, 0.03))))
    terminal_share = max(0.5, min(0.97, base["terminal_share"] + rng.gauss(0.005, 0.03)))
    return {
        "target_area_count": round(density),
        "density_per_cm2": round(density, 1),
        "terminal_count": round(density * terminal_share),
        "vellus_count": round(density * (1 - terminal_share)),
        "shaft_width_um": round(width, 1),
        "thin_hair_percent": round(100 * (1 - terminal_share), 1),
        "count_60s": max(0, round(base["shed"] * (1 - rng.gauss(0.05, 0.15)))),
        "pull_test_hairs": max(0, min(12, round(base["pull"] + rng.gauss(0, 1)))),
    }


def _scores(rng: random.Random, months: float) -> dict[str, float]:
    if months == 0:
        return {"satisfaction": rng.randint(3, 6)}
    return {
        "self_assessment": rng.choice([-1, 0, 0, 1, 1, 1, 2]),
        "investigator_global": rng.choice([-1, 0, 0, 0, 1, 1, 2]),
        "satisfaction": rng.randint(4, 9),
    }


def scalp_image(rng: random.Random, *, density: float, close_up: bool) -> bytes:
    """A drawn stand-in for a scalp photo (JPEG): strokes for hairs over a skin tone."""
    width, height = (640, 480)
    skin = (rng.randint(196, 228), rng.randint(160, 188), rng.randint(140, 164))
    image = Image.new("RGB", (width, height), skin)
    draw = ImageDraw.Draw(image)
    hairs = int(density * (1.2 if close_up else 3.5))
    colour = (rng.randint(30, 60), rng.randint(22, 40), rng.randint(15, 30))
    for _ in range(hairs):
        x, y = rng.uniform(0, width), rng.uniform(0, height)
        angle = rng.gauss(-math.pi / 3, 0.35)
        length = rng.uniform(40, 110) if close_up else rng.uniform(15, 45)
        thick = rng.choice([2, 3, 3, 4]) if close_up else 1
        draw.line(
            (x, y, x + length * math.cos(angle), y + length * math.sin(angle)),
            fill=colour,
            width=thick,
        )
    image = image.filter(ImageFilter.GaussianBlur(0.6))
    out = io.BytesIO()
    image.save(out, format="JPEG", quality=85)
    return out.getvalue()


def _review_points(course: Course, baseline: dt.date, today: dt.date) -> list[tuple[str, dt.date]]:
    done = dict(
        CourseSession.objects.filter(course=course, status=SessionStatus.DONE)
        .order_by("position")
        .values_list("position", "done_on")
    )
    points: list[tuple[str, dt.date]] = []
    for position, point in ((3, ReviewPoint.AFTER_SESSION_3), (6, ReviewPoint.AFTER_SESSION_6)):
        day = done.get(position)
        if day is not None:
            points.append((point, day))
    for days, point in (
        (91, ReviewPoint.MONTH_3),
        (182, ReviewPoint.MONTH_6),
        (365, ReviewPoint.MONTH_12),
    ):
        day = baseline + dt.timedelta(days=days)
        if day <= today:
            points.append((point, day))
    return sorted(points, key=lambda p: p[1])


def seed_outcomes(*, rng: random.Random, organisation_id: int, today: dt.date) -> int:
    """Outcome visits for the organisation's courses that have started. Returns how many
    visits were recorded; a visit the services refuse is skipped."""
    courses = list(
        Course.objects.filter(organisation_id=organisation_id, start_on__lte=today)
        .select_related("patient", "clinic", "practitioner")
        .order_by("patient_id", "pk")
    )
    recorded = 0
    for index, course in enumerate(courses):
        by: User = course.practitioner
        baseline_day = course.start_on - dt.timedelta(days=rng.choice([0, 3, 7]))
        base = {
            "density": rng.gauss(150, 28),
            "width": rng.gauss(62, 9),
            "terminal_share": rng.uniform(0.7, 0.9),
            "shed": rng.randint(15, 90),
            "pull": rng.randint(2, 9),
        }
        landmark = course.patient.landmarks.first() or landmark_create(
            patient=course.patient,
            name="Vertex target area",
            description="Leading edge of the thinning, marked with a dot tattoo",
            from_glabella_mm=rng.randint(150, 200),
            from_midline_mm=rng.choice([-10, 0, 10]),
            tattooed=True,
            acting_user=by,
        )
        male = course.patient.sex_at_birth == "male"
        scale = "norwood" if male else "ludwig"
        stage = rng.choice(["III vertex", "IV"] if male else ["I", "II"])
        # A course that was stopped has no review after it stopped.
        last_day = (
            course.cancelled_at.date()
            if course.status == CourseStatus.CANCELLED and course.cancelled_at
            else today
        )
        visits = [(ReviewPoint.BASELINE.value, baseline_day)] + [
            (p, d) for p, d in _review_points(course, baseline_day, last_day)
        ]
        for point, day in visits:
            months = (day - baseline_day).days / 30.4
            values = {**_values(rng, base, months), **_scores(rng, months)}
            try:
                visit = outcome_visit_record(
                    patient=course.patient,
                    data=VisitInput(
                        point=point,
                        measured_on=day,
                        clinic=course.clinic,
                        course=course,
                        stage_scale=scale,
                        stage=stage,
                        landmark=landmark,
                        measurements=tuple(
                            MeasurementInput(
                                measure=code,
                                value=value,
                                device=DEVICE if code in _IMAGE_MEASURES else "",
                            )
                            for code, value in values.items()
                        ),
                    ),
                    acting_user=by,
                )
            except DomainError:
                continue
            recorded += 1
            if index < WITH_PHOTOS:
                for view in PHOTO_VIEWS:
                    close_up = view == "trichoscopy"
                    outcome_photo_add(
                        visit=visit,
                        view=view,
                        photo=prepare_photo(
                            scalp_image(rng, density=values["density_per_cm2"], close_up=close_up),
                            max_bytes=10_000_000,
                        ),
                        um_per_px=UM_PER_PX if close_up else None,
                        acting_user=by,
                    )
    return recorded


_IMAGE_MEASURES = frozenset(
    {
        "target_area_count",
        "density_per_cm2",
        "terminal_count",
        "vellus_count",
        "shaft_width_um",
        "thin_hair_percent",
    }
)
