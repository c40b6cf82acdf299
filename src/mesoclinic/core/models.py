"""Base models and the audit trail."""

from __future__ import annotations

from typing import Any, ClassVar

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class TimeStampedModel(models.Model):
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        abstract = True


class AppendOnlyError(Exception):
    """Raised when code tries to change or remove an audit event."""


class AuditEventQuerySet(models.QuerySet["AuditEvent"]):
    def update(self, **kwargs: Any) -> int:
        raise AppendOnlyError("Audit events are append-only; they cannot be updated.")

    def delete(self) -> tuple[int, dict[str, int]]:
        raise AppendOnlyError("Audit events are append-only; they cannot be deleted.")


class AuditEvent(models.Model):
    """One thing somebody did: a write, a chart read, a sign-in.

    Rows are append-only, three times over:

    - the model refuses ``save()`` of an existing row and ``delete()``;
    - its queryset, which is both the default and the base manager (so Django's internal
      ``_base_manager`` paths are covered too), refuses ``update()`` and ``delete()``;
    - database triggers (core/triggers.py, created by migration 0002 and again after every
      ``migrate``) refuse UPDATE and DELETE from any client: on PostgreSQL always, on
      SQLite DELETE unless AUDIT_SQLITE_REFUSES_DELETE is False (only the test suite,
      whose flush empties SQLite tables with DELETE).
    """

    organisation = models.ForeignKey(
        "accounts.Organisation", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    # Kept verbatim so the row still says who acted if the account is later renamed.
    actor_email = models.CharField(max_length=254, blank=True)
    action = models.CharField(max_length=64)
    object_type = models.CharField(max_length=64, blank=True)
    object_id = models.CharField(max_length=64, blank=True)
    object_repr = models.CharField(max_length=200, blank=True)
    patient = models.ForeignKey(
        "patients.Patient", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    occurred_at = models.DateTimeField(db_index=True)
    source_ip = models.GenericIPAddressField(null=True, blank=True)
    via = models.CharField(max_length=16, blank=True, help_text=_("web, api or cli"))
    # {"field": {"old": ..., "new": ...}} for updates; {"field": {"new": ...}} for creates.
    changes = models.JSONField(default=dict, blank=True)

    objects: ClassVar[AuditEventQuerySet] = AuditEventQuerySet.as_manager()  # type: ignore[assignment]

    class Meta:
        base_manager_name = "objects"
        ordering = ["-occurred_at", "-id"]
        indexes = [
            models.Index(fields=["organisation", "-occurred_at"], name="audit_org_time_idx"),
            models.Index(fields=["patient", "-occurred_at"], name="audit_patient_time_idx"),
            models.Index(fields=["actor", "-occurred_at"], name="audit_actor_time_idx"),
            models.Index(fields=["action"], name="audit_action_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.occurred_at:%Y-%m-%d %H:%M} {self.actor_email or 'system'} {self.action}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        if self.pk is not None:
            raise AppendOnlyError("Audit events are append-only; they cannot be updated.")
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> tuple[int, dict[str, int]]:
        raise AppendOnlyError("Audit events are append-only; they cannot be deleted.")
