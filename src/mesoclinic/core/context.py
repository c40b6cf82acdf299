"""Where the current action comes from (source IP, web/api/cli), for the audit trail.

Services take the acting user explicitly; the request's network origin is carried in a
context variable set by ``RequestContextMiddleware`` so services need no request object.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass


@dataclass(frozen=True)
class Origin:
    source_ip: str | None
    via: str  # "web", "api" or "cli"


_CLI = Origin(source_ip=None, via="cli")
_current: ContextVar[Origin] = ContextVar("mesoclinic_origin", default=_CLI)


def current_origin() -> Origin:
    return _current.get()


@contextmanager
def origin(value: Origin) -> Iterator[None]:
    token = _current.set(value)
    try:
        yield
    finally:
        _current.reset(token)
