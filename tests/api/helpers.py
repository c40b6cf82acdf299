"""Helpers for calling the JSON API as a persona."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

from django.test import Client

from tests.patients.helpers import (  # noqa: F401  (re-exported for the API tests)
    last_event_id,
    new_events,
    nothing_written,
    years_ago,
)

PATIENTS = "/api/v1/patients"


def patient_url(patient_id: int) -> str:
    return f"{PATIENTS}/{patient_id}"


class ApiClient:
    """A Django test client that sends ``Authorization: Bearer TOKEN`` (or nothing)."""

    def __init__(self, token: str | None = None, *, header: str | None = None) -> None:
        self.client = Client()
        if header is not None:
            self.headers = {"HTTP_AUTHORIZATION": header}
        elif token is not None:
            self.headers = {"HTTP_AUTHORIZATION": f"Bearer {token}"}
        else:
            self.headers = {}

    def get(self, path: str, params: dict[str, Any] | None = None, **extra: Any) -> Any:
        return self.client.get(path, params or {}, **self.headers, **extra)

    def _send(
        self, method: str, path: str, payload: Any, body: bytes | str | None, content_type: str
    ) -> Any:
        data = body if body is not None else json.dumps(payload, default=str)
        return getattr(self.client, method)(
            path, data=data, content_type=content_type, **self.headers
        )

    def post(
        self,
        path: str,
        payload: Any = None,
        *,
        body: bytes | str | None = None,
        content_type: str = "application/json",
    ) -> Any:
        return self._send("post", path, payload, body, content_type)

    def patch(
        self,
        path: str,
        payload: Any = None,
        *,
        body: bytes | str | None = None,
        content_type: str = "application/json",
    ) -> Any:
        return self._send("patch", path, payload, body, content_type)

    def put(self, path: str, payload: Any = None) -> Any:
        return self._send("put", path, payload, None, "application/json")

    def delete(self, path: str) -> Any:
        return self.client.delete(path, **self.headers)


def new_patient(**overrides: Any) -> dict[str, Any]:
    """A valid POST /patients body; ``None`` values leave the key out."""
    payload: dict[str, Any] = {
        "given_name": "Jane",
        "family_name": "Doe",
        "date_of_birth": "1990-06-01",
        "sex_at_birth": "female",
        "email": "jane@example.com",
        "phone": "+44 7700 900456",
        "address": "2 Low Road\nLeeds",
    }
    payload.update(overrides)
    return {key: value for key, value in payload.items() if value is not None}


def problem(response: Any, status: int) -> dict[str, Any]:
    """Assert ``response`` is an RFC 9457 problem with ``status``; return its body."""
    assert response.status_code == status, response.content[:500]
    assert response["Content-Type"] == "application/problem+json"
    body = json.loads(response.content)
    assert body["status"] == status
    assert isinstance(body["title"], str) and body["title"]
    assert body["type"] == "about:blank"
    return body


def field_messages(body: dict[str, Any], field: str) -> list[str]:
    """The messages of ``body``'s ``errors`` list for ``field`` (each item checked)."""
    errors = body.get("errors")
    assert isinstance(errors, list) and errors, body
    for item in errors:
        assert set(item) == {"field", "message"}, item
        assert isinstance(item["field"], str) and isinstance(item["message"], str)
    return [item["message"] for item in errors if item["field"] == field]


def future_date() -> str:
    return (dt.date.today() + dt.timedelta(days=2)).isoformat()
