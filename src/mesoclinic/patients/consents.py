"""The consent templates mesoclinic ships (data): one text per treatment, with its title."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

TEXTS = Path(__file__).resolve().parent / "consent_texts"


@dataclass(frozen=True)
class ShippedConsent:
    code: str
    title: str

    @property
    def body(self) -> str:
        return (TEXTS / f"{self.code}.txt").read_text(encoding="utf-8").strip()


SHIPPED: tuple[ShippedConsent, ...] = (
    ShippedConsent("hair_mesotherapy", "Hair mesotherapy"),
    ShippedConsent("prp", "Platelet-rich plasma (PRP)"),
    ShippedConsent("aesthetic_mesotherapy", "Mesotherapy of the face or body"),
    ShippedConsent("photography", "Photographs of the scalp"),
)
