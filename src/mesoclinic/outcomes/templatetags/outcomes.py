"""Template helpers for outcome pages."""

from __future__ import annotations

from typing import Any

from django import template

from mesoclinic.outcomes import measures
from mesoclinic.outcomes.models import Measurement

register = template.Library()


@register.filter
def measurement_text(m: Measurement) -> str:
    """'Density 152.0 hairs/cm2': the short label, the value at its precision, the unit."""
    return f"{m.definition.short_label} {value_text(m.definition, m.value)}"


def value_text(measure: measures.Measure, value: float) -> str:
    """A value as shown: "163.0 hairs/cm2", or for a 7-point score "+1 (slightly increased)"."""
    text = measure.format(value)
    if measure.wording:
        index = int(value - measure.minimum)
        if 0 <= index < len(measure.wording):
            return f"{text} ({measure.wording[index].lower()})"
    return f"{text} {measure.unit}".strip()


@register.filter
def measurement_value(m: Measurement) -> str:
    return value_text(m.definition, m.value)


@register.filter
def point_value(point: object, measure: measures.Measure) -> str:
    """A progress point's value (anything with ``.value``) shown for ``measure``."""
    return value_text(measure, point.value)  # type: ignore[attr-defined]


@register.filter
def method_label(code: str) -> str:
    try:
        return measures.METHOD_LABELS[measures.Method(code)]
    except ValueError:
        return code


@register.filter
def get_item(mapping: Any, key: Any) -> Any:
    return mapping.get(key) if mapping else None
