"""RFC 9457 problem details (``application/problem+json``) for every API error."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from typing import Any

from django.http import HttpResponse

PROBLEM_CONTENT_TYPE = "application/problem+json"


def problem(
    *,
    status: int,
    title: str,
    detail: str = "",
    errors: Iterable[Mapping[str, str]] = (),
    **extra: Any,
) -> HttpResponse:
    body: dict[str, Any] = {"type": "about:blank", "title": title, "status": status}
    if detail:
        body["detail"] = detail
    error_list = list(errors)
    if error_list:
        body["errors"] = error_list
    body.update(extra)
    return HttpResponse(
        json.dumps(body, ensure_ascii=False, default=str),
        status=status,
        content_type=PROBLEM_CONTENT_TYPE,
    )


_SKIP_LOC = {"body", "query", "path", "payload", "form", "header", "cookie"}


def field_errors(errors: Iterable[Mapping[str, Any]]) -> list[dict[str, str]]:
    """Turn ninja/pydantic error entries into ``{"field": ..., "message": ...}`` items."""
    result = []
    for error in errors:
        raw = [str(part) for part in error.get("loc", ())]
        # A multipart file is reported at ("file", <name>): the first part says where.
        raw = raw[1:] if raw[:1] == ["file"] else raw
        loc = [part for part in raw if part not in _SKIP_LOC]
        message = str(error.get("msg", "Invalid value"))
        if message.startswith("Value error, "):
            message = message[len("Value error, ") :]
        if error.get("type") == "missing":
            message = "This field is required."
        elif error.get("type") == "extra_forbidden":
            message = "Unknown field."
        result.append({"field": ".".join(loc) or "body", "message": message})
    return result
