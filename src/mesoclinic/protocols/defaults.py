"""The protocol templates mesoclinic ships, read from ``defaults/protocols.json`` (data)."""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

DEFAULTS_FILE = Path(__file__).resolve().parent / "defaults" / "protocols.json"


@cache
def shipped_protocols() -> tuple[dict[str, Any], ...]:
    """Every shipped template as a dict of ProtocolVersion field values plus ``code``."""
    data = json.loads(DEFAULTS_FILE.read_text(encoding="utf-8"))
    return tuple(data["protocols"])
