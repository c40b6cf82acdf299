"""/api/v1/consents: the organisation's consent texts, signatures and withdrawals."""

from __future__ import annotations

import base64
import binascii
import datetime as dt
from typing import Any

from django.core.exceptions import PermissionDenied
from django.http import HttpRequest
from ninja import Query, Router, Schema
from pydantic import ConfigDict, Field, field_validator

from mesoclinic.accounts.access import Workspace, request_workspace
from mesoclinic.patients import validators
from mesoclinic.patients.models import ConsentTemplate, SignedConsent
from mesoclinic.patients.selectors import (
    consent_template_get,
    patient_get,
    patient_get_for_chart,
    signed_consent_get,
)
from mesoclinic.patients.services import (
    consent_sign,
    consent_templates_current,
    consent_withdraw,
)

router = Router()
PNG_DATA_URL = "data:image/png;base64,"


class _Strict(Schema):
    model_config = ConfigDict(extra="forbid")


class TemplateOut(Schema):
    id: int
    code: str
    version: int
    title: str
    body: str
    body_sha256: str


class ConsentIn(_Strict):
    patient_id: int
    template_id: int
    signed_name: str = Field(max_length=10_000)
    signature: str = Field(max_length=400_000, description="The drawn signature as a PNG data URL")

    @field_validator("signed_name")
    @classmethod
    def _name(cls, value: str) -> str:
        return validators.clean_name(value, label="Name")

    @field_validator("signature")
    @classmethod
    def _signature(cls, value: str) -> str:
        try:
            if not value.startswith(PNG_DATA_URL):
                raise ValueError
            base64.b64decode(value[len(PNG_DATA_URL) :], validate=True)
        except (ValueError, binascii.Error):
            raise ValueError(
                "Send the signature as a PNG data URL (data:image/png;base64,...)."
            ) from None
        return value


class WithdrawIn(_Strict):
    reason: str = Field(min_length=1, max_length=5000)


class ConsentOut(Schema):
    id: int
    patient_id: int
    template: TemplateOut
    body_sha256: str
    signed_name: str
    signed_at: dt.datetime
    witnessed_by: str
    withdrawn_at: dt.datetime | None
    withdrawal_reason: str

    @staticmethod
    def of(consent: SignedConsent) -> dict[str, Any]:
        return {
            "id": consent.pk,
            "patient_id": consent.patient_id,
            "template": consent.template,
            "body_sha256": consent.body_sha256,
            "signed_name": consent.signed_name,
            "signed_at": consent.signed_at,
            "witnessed_by": consent.witnessed_by.email,
            "withdrawn_at": consent.withdrawn_at,
            "withdrawal_reason": consent.withdrawal_reason,
        }


def _writer(request: HttpRequest) -> Workspace:
    workspace = request_workspace(request)
    if not workspace.can_write:
        raise PermissionDenied("Your role is read-only.")
    return workspace


@router.get("/templates", response=list[TemplateOut], summary="The current consent texts")
def list_templates(request: HttpRequest) -> list[ConsentTemplate]:
    return consent_templates_current(organisation=request_workspace(request).organisation)


class ListParams(Schema):
    patient_id: int


@router.get("", response=list[ConsentOut], summary="A patient's signed consents (audited)")
def list_consents(request: HttpRequest, params: Query[ListParams]) -> list[dict[str, Any]]:
    patient = patient_get_for_chart(
        workspace=request_workspace(request), patient_id=params.patient_id
    )
    consents = patient.consents.select_related("template", "witnessed_by").order_by("-signed_at")
    return [ConsentOut.of(c) for c in consents]


@router.post("", response={201: ConsentOut}, summary="Record a patient's signature")
def sign_consent(request: HttpRequest, payload: ConsentIn) -> dict[str, Any]:
    workspace = _writer(request)
    patient = patient_get(workspace=workspace, patient_id=payload.patient_id)
    template = consent_template_get(workspace=workspace, template_id=payload.template_id)
    consent = consent_sign(
        patient=patient,
        template=template,
        signed_name=payload.signed_name,
        signature_png=base64.b64decode(payload.signature[len(PNG_DATA_URL) :]),
        acting_user=workspace.user,
    )
    return ConsentOut.of(consent)


@router.post("/{int:consent_id}/withdraw", response=ConsentOut, summary="Withdraw a consent")
def withdraw_consent(request: HttpRequest, consent_id: int, payload: WithdrawIn) -> dict[str, Any]:
    workspace = _writer(request)
    consent = signed_consent_get(workspace=workspace, consent_id=consent_id)
    return ConsentOut.of(
        consent_withdraw(consent=consent, reason=payload.reason, acting_user=workspace.user)
    )
