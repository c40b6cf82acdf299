"""Forms for an outcome visit (its measurements, stage and landmark), photo uploads and
the cohort page's filter. They turn raw input into clean values within each measure's
plausible range; the services check what needs the patient and the course."""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Any

from django import forms
from django.utils.translation import gettext_lazy as _

from mesoclinic.accounts.models import Clinic, User
from mesoclinic.core.forms import EARLIEST_DATE, LATEST_DATE
from mesoclinic.outcomes import measures, photography
from mesoclinic.outcomes.models import (
    FOLLOW_UP_POINTS,
    Landmark,
    OutcomePhoto,
    OutcomeVisit,
    ReviewPoint,
)
from mesoclinic.outcomes.services import STAGE_SCALES, MeasurementInput, VisitInput
from mesoclinic.patients.models import SexAtBirth
from mesoclinic.protocols.models import Protocol
from mesoclinic.scheduling.models import Course

if TYPE_CHECKING:
    from django_stubs_ext import StrOrPromise

NEW_LANDMARK = "new"

# The measures grouped as the visit form shows them.
GROUPS: tuple[tuple[StrOrPromise, tuple[str, ...]], ...] = (
    (
        _("At the target area (the landmark)"),
        (
            "target_area_count",
            "density_per_cm2",
            "terminal_count",
            "vellus_count",
            "shaft_width_um",
            "thin_hair_percent",
        ),
    ),
    (_("Shedding"), ("count_60s", "pull_test_hairs")),
    (_("Assessments"), ("investigator_global", "self_assessment", "satisfaction")),
)


def _stage_choices() -> list[tuple[str, Any]]:
    choices: list[tuple[str, Any]] = [("", _("Not staged at this visit"))]
    for scale in STAGE_SCALES.values():
        choices.append(
            (
                scale.name,
                [(f"{scale.code}:{code}", f"{scale.name} {label}") for code, label in scale.grades],
            )
        )
    return choices


def _value_field(measure: measures.Measure) -> forms.Field:
    unit = f" ({measure.unit})" if measure.unit else ""
    suffix = f" {measure.unit}" if measure.unit else ""
    if measure.wording:
        return forms.TypedChoiceField(
            label=measure.label,
            required=False,
            coerce=int,
            empty_value=None,
            choices=[("", _("Not asked"))]
            + [
                (n, f"{'+' if n > 0 else ''}{n} {text}")
                for n, text in zip(
                    range(int(measure.minimum), int(measure.maximum) + 1),
                    measure.wording,
                    strict=True,
                )
            ],
            help_text=measure.help,
        )
    step = "1" if measure.decimals == 0 else f"{10**-measure.decimals:.{measure.decimals}f}"
    return forms.FloatField(
        label=f"{measure.label}{unit}",
        required=False,
        min_value=measure.minimum,
        max_value=measure.maximum,
        help_text=measure.help,
        widget=forms.NumberInput(
            attrs={
                "step": step,
                "min": measure.minimum,
                "max": measure.maximum,
                "inputmode": "decimal",
            }
        ),
        error_messages={
            "min_value": _("%(label)s must be at least %(limit)s.")
            % {"label": measure.short_label, "limit": measure.format(measure.minimum) + suffix},
            "max_value": _("%(label)s must be at most %(limit)s.")
            % {"label": measure.short_label, "limit": measure.format(measure.maximum) + suffix},
        },
    )


class VisitForm(forms.Form):
    point = forms.ChoiceField(label=_("Visit"), choices=ReviewPoint.choices)
    measured_on = forms.DateField(
        label=_("Date"),
        widget=forms.DateInput(
            attrs={"type": "date", "min": EARLIEST_DATE.isoformat(), "max": LATEST_DATE.isoformat()}
        ),
    )
    clinic = forms.ModelChoiceField(label=_("Clinic"), queryset=Clinic.objects.none())
    course = forms.ModelChoiceField(
        label=_("Course"),
        queryset=Course.objects.none(),
        required=False,
        empty_label=_("Not part of a course"),
        help_text=_("Reviews are compared with this course's baseline."),
    )
    stage = forms.ChoiceField(label=_("Hair-loss stage seen today"), required=False)
    landmark = forms.ChoiceField(
        label=_("Target area landmark"),
        required=False,
        help_text=_("The marked spot the 1 cm2 circle is centred on, measured again each visit."),
    )
    landmark_name = forms.CharField(label=_("New landmark's name"), required=False, max_length=80)
    landmark_description = forms.CharField(label=_("Where it is"), required=False, max_length=300)
    landmark_from_glabella_mm = forms.IntegerField(
        label=_("Distance behind the glabella (mm)"), required=False, min_value=0, max_value=400
    )
    landmark_from_midline_mm = forms.IntegerField(
        label=_("Distance from the midline (mm, negative to the left)"),
        required=False,
        min_value=-200,
        max_value=200,
    )
    landmark_tattooed = forms.BooleanField(label=_("Marked with a dot tattoo"), required=False)
    notes = forms.CharField(
        label=_("Notes"), required=False, max_length=4000, widget=forms.Textarea(attrs={"rows": 3})
    )
    version = forms.IntegerField(required=False, widget=forms.HiddenInput)

    def __init__(
        self,
        *args: Any,
        clinics: Any,
        courses: list[Course],
        landmarks: list[Landmark],
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.fields["clinic"].queryset = clinics  # type: ignore[attr-defined]
        self.fields["course"].queryset = Course.objects.filter(  # type: ignore[attr-defined]
            pk__in=[c.pk for c in courses]
        ).select_related("protocol_version")
        self.fields["course"].label_from_instance = lambda c: (  # type: ignore[attr-defined]
            f"{c.protocol_version.name} · {c.start_on:%d %b %Y} · {c.get_status_display()}"
        )
        self.fields["stage"].choices = _stage_choices()  # type: ignore[attr-defined]
        self.landmarks = {str(lm.pk): lm for lm in landmarks}
        self.fields["landmark"].choices = (  # type: ignore[attr-defined]
            [("", _("None"))]
            + [
                (str(lm.pk), f"{lm.name} ({lm.position_text()})" if lm.position_text() else lm.name)
                for lm in landmarks
            ]
            + [(NEW_LANDMARK, _("A new landmark (describe it below)"))]
        )
        for measure in measures.MEASURES:
            self.fields[f"m_{measure.code}"] = _value_field(measure)
            self.fields[f"method_{measure.code}"] = forms.ChoiceField(
                label=_("Method"),
                required=False,
                choices=[(m.value, measures.METHOD_LABELS[m]) for m in measure.methods],
            )
            self.fields[f"device_{measure.code}"] = forms.CharField(
                label=_("Device"), required=False, max_length=120
            )

    @classmethod
    def initial_for(cls, visit: OutcomeVisit) -> dict[str, Any]:
        initial: dict[str, Any] = {
            "point": visit.point,
            "measured_on": visit.measured_on,
            "clinic": visit.clinic_id,
            "course": visit.course_id,
            "stage": f"{visit.stage_scale}:{visit.stage}" if visit.stage else "",
            "landmark": str(visit.landmark_id or ""),
            "notes": visit.notes,
            "version": visit.version,
        }
        for m in visit.measurements.all():
            initial[f"m_{m.measure}"] = int(m.value) if m.definition.decimals == 0 else m.value
            initial[f"method_{m.measure}"] = m.method
            initial[f"device_{m.measure}"] = m.device
        return initial

    @staticmethod
    def carry_over(previous: OutcomeVisit | None) -> dict[str, Any]:
        """From the patient's previous visit: its landmark, methods and devices (the same
        spot and instrument make numbers comparable)."""
        if previous is None:
            return {}
        initial: dict[str, Any] = {"landmark": str(previous.landmark_id or "")}
        for m in previous.measurements.all():
            initial[f"method_{m.measure}"] = m.method
            initial[f"device_{m.measure}"] = m.device
        return initial

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("landmark") == NEW_LANDMARK and not (data.get("landmark_name") or "").strip():
            self.add_error("landmark_name", _("Name the new landmark (e.g. vertex target area)."))
        stage = data.get("stage") or ""
        if stage:
            scale, _sep, grade = stage.partition(":")
            data["stage_scale"], data["stage_grade"] = scale, grade
        else:
            data["stage_scale"], data["stage_grade"] = "", ""
        return data

    def groups(self) -> list[tuple[StrOrPromise, list[dict[str, Any]]]]:
        """The measure fields in display groups, each with its method and device fields."""
        return [
            (
                title,
                [
                    {
                        "measure": measures.get(code),
                        "value": self[f"m_{code}"],
                        "method": self[f"method_{code}"],
                        "device": self[f"device_{code}"],
                    }
                    for code in codes
                ],
            )
            for title, codes in GROUPS
        ]

    def measurement_inputs(
        self, *, photo: OutcomePhoto | None = None, visit: OutcomeVisit | None = None
    ) -> list[MeasurementInput]:
        """The numbers entered. A number from an automatic analysis is linked to ``photo``
        (the close-up just analysed) or, when a visit is corrected without a new analysis,
        keeps the photo it was read from while its method stays automatic."""
        linked = {
            m.measure: m.photo
            for m in (visit.measurements.all() if visit is not None else ())
            if m.photo_id is not None
        }
        items = []
        for measure in measures.MEASURES:
            value = self.cleaned_data.get(f"m_{measure.code}")
            if value is None:
                continue
            method = self.cleaned_data.get(f"method_{measure.code}") or ""
            items.append(
                MeasurementInput(
                    measure=measure.code,
                    value=float(value),
                    method=method,
                    device=self.cleaned_data.get(f"device_{measure.code}") or "",
                    photo=(photo or linked.get(measure.code))
                    if method == measures.Method.TRICHOSCOPY_AUTO
                    else None,
                )
            )
        return items

    def new_landmark(self) -> dict[str, Any] | None:
        if self.cleaned_data.get("landmark") != NEW_LANDMARK:
            return None
        return {
            "name": self.cleaned_data["landmark_name"],
            "description": self.cleaned_data.get("landmark_description") or "",
            "from_glabella_mm": self.cleaned_data.get("landmark_from_glabella_mm"),
            "from_midline_mm": self.cleaned_data.get("landmark_from_midline_mm"),
            "tattooed": bool(self.cleaned_data.get("landmark_tattooed")),
        }

    def visit_input(
        self,
        *,
        landmark: Landmark | None,
        photo: OutcomePhoto | None = None,
        visit: OutcomeVisit | None = None,
    ) -> VisitInput:
        data = self.cleaned_data
        chosen = data.get("landmark") or ""
        if landmark is None and chosen not in ("", NEW_LANDMARK):
            landmark = self.landmarks.get(chosen)
        return VisitInput(
            point=data["point"],
            measured_on=data["measured_on"],
            clinic=data["clinic"],
            course=data.get("course"),
            stage_scale=data["stage_scale"],
            stage=data["stage_grade"],
            landmark=landmark,
            notes=data.get("notes") or "",
            measurements=self.measurement_inputs(photo=photo, visit=visit),
        )


class PhotoForm(forms.Form):
    view = forms.ChoiceField(
        label=_("View"), choices=[(v.code, v.label) for v in photography.VIEWS]
    )
    image = forms.FileField(label=_("Photo"))
    caption = forms.CharField(label=_("Caption"), required=False, max_length=200)
    um_per_px = forms.FloatField(
        label=_("Calibration (micrometres per pixel)"),
        required=False,
        min_value=0.01,
        max_value=100,
        help_text=_("For trichoscopy close-ups: from the device profile or a ruler image."),
    )


class RemovePhotoForm(forms.Form):
    reason = forms.CharField(label=_("Why is it removed?"), min_length=5, max_length=500)


class CohortForm(forms.Form):
    protocol = forms.ModelChoiceField(
        label=_("Protocol"),
        queryset=Protocol.objects.none(),
        required=False,
        empty_label=_("All protocols"),
    )
    compare_with = forms.ModelChoiceField(
        label=_("Compare with"),
        queryset=Protocol.objects.none(),
        required=False,
        empty_label=_("No comparison"),
    )
    formulation = forms.ChoiceField(label=_("Formulation"), required=False)
    practitioner = forms.ModelChoiceField(
        label=_("Practitioner"),
        queryset=User.objects.none(),
        required=False,
        empty_label=_("All practitioners"),
    )
    sex = forms.ChoiceField(
        label=_("Sex at birth"),
        required=False,
        choices=[("", _("All"))] + [c for c in SexAtBirth.choices if c[0] != "unknown"],
    )
    stage = forms.ChoiceField(label=_("Stage at baseline"), required=False)
    started_from = forms.DateField(
        label=_("Courses started from"),
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}),
    )
    started_to = forms.DateField(
        label=_("to"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    measure = forms.ChoiceField(
        label=_("Measure"),
        choices=[(code, measures.get(code).label) for code in measures.CHANGE_MEASURES],
        initial="density_per_cm2",
    )
    threshold_percent = forms.FloatField(
        label=_("Responder: change of at least (%)"),
        initial=10,
        min_value=0.1,
        max_value=1000,
        help_text=_("In the better direction of the measure (e.g. +10 % density)."),
    )
    point = forms.ChoiceField(label=_("Distribution at"), required=False)

    def __init__(
        self, *args: Any, protocols: Any, practitioners: Any, formulations: list[str], **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        self.fields["protocol"].queryset = protocols  # type: ignore[attr-defined]
        self.fields["compare_with"].queryset = protocols  # type: ignore[attr-defined]
        self.fields["practitioner"].queryset = practitioners  # type: ignore[attr-defined]
        self.fields["practitioner"].label_from_instance = lambda u: u.full_name  # type: ignore[attr-defined]
        self.fields["formulation"].choices = [("", _("All formulations"))] + [  # type: ignore[attr-defined]
            (name, name) for name in formulations
        ]
        self.fields["stage"].choices = [("", _("Any stage")), *_stage_choices()[1:]]  # type: ignore[attr-defined]
        self.fields["point"].choices = [(p.value, p.label) for p in FOLLOW_UP_POINTS]  # type: ignore[attr-defined]

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        start, end = data.get("started_from"), data.get("started_to")
        if start and end and start > end:
            self.add_error("started_to", _("The end of the period is before its start."))
        for name in ("started_from", "started_to"):
            day = data.get(name)
            if day is not None and not dt.date(1900, 1, 1) <= day <= dt.date(2100, 12, 31):
                self.add_error(name, _("Enter a date between 1900 and 2100."))
        first, second = data.get("protocol"), data.get("compare_with")
        if second is not None and first is None:
            self.add_error("protocol", _("Choose the protocol to compare."))
        elif second is not None and first == second:
            self.add_error("compare_with", _("Choose a different protocol to compare with."))
        return data
