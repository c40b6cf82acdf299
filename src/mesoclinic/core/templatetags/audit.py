from __future__ import annotations

from django import template

from mesoclinic.core import audit

register = template.Library()


@register.filter
def action_label(action: str) -> str:
    """The human label of an audit action name (the name itself when unknown)."""
    return audit.action_label(action)
