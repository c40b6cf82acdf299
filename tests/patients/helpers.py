"""Helpers shared by the patient page tests and the API tests."""

from __future__ import annotations

import datetime as dt
import html
import re
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from django.test import Client
from django.urls import reverse

from mesoclinic.core.models import AuditEvent
from mesoclinic.patients.models import Patient


def _state() -> tuple[int, int, list[dict[str, Any]]]:
    return (
        Patient.objects.count(),
        AuditEvent.objects.count(),
        list(Patient.objects.order_by("pk").values()),
    )


@contextmanager
def nothing_written() -> Iterator[None]:
    """Assert the block creates no patient, changes none and records no audit event."""
    before = _state()
    yield
    after = _state()
    assert after[0] == before[0], "a patient was created"
    assert after[1] == before[1], "an audit event was recorded"
    assert after[2] == before[2], "a patient was changed"


def new_events(since_id: int, **filters: Any) -> list[AuditEvent]:
    return list(AuditEvent.objects.filter(pk__gt=since_id, **filters).order_by("pk"))


def last_event_id() -> int:
    event = AuditEvent.objects.order_by("-pk").first()
    return event.pk if event is not None else 0


def years_ago(years: int) -> dt.date:
    today = dt.date.today()
    return today.replace(year=today.year - years, day=min(today.day, 28))


def assert_login_redirect(response: Any, path: str) -> None:
    assert response.status_code == 302
    assert response.url.startswith(reverse("login") + "?next=")
    assert path in response.url.replace("%2F", "/")


def field_errors(response: Any, field: str) -> str:
    """The text of the error list shown under ``field`` on a form page ("" when none)."""
    content = response.content.decode()
    match = re.search(
        rf'<ul class="errorlist" id="id_{field}_error">(.*?)</ul>', content, flags=re.S
    )
    return html.unescape(re.sub(r"<[^>]+>", " ", match.group(1))) if match else ""


def page_text(response: Any) -> str:
    return html.unescape(re.sub(r"<[^>]+>", " ", response.content.decode()))


def form_data(**overrides: Any) -> dict[str, Any]:
    """A valid patient form submission; ``None`` leaves a field out."""
    data: dict[str, Any] = {
        "given_name": "Jane",
        "family_name": "Doe",
        "date_of_birth": "1990-06-01",
        "sex_at_birth": "female",
        "email": "jane@example.com",
        "phone": "+44 7700 900456",
        "address": "2 Low Road\nLeeds",
        "preferred_clinic": "",
    }
    data.update(overrides)
    return {key: value for key, value in data.items() if value is not None}


def post_form(client: Client, url: str, **overrides: Any) -> Any:
    return client.post(url, form_data(**overrides))
