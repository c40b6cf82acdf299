from __future__ import annotations

from typing import Any

from django.apps import AppConfig
from django.db import connections
from django.db.models.signals import post_migrate


def install_audit_triggers_after_migrate(sender: AppConfig, using: str, **kwargs: Any) -> None:
    """Put the audit trail's append-only triggers back after every ``migrate``.

    Migration 0002 creates them once; a later migration that rebuilds the table on SQLite
    drops them silently, and the SQLite DELETE trigger follows AUDIT_SQLITE_REFUSES_DELETE,
    which can change after 0002 ran.
    """
    from mesoclinic.core.triggers import install_audit_triggers

    install_audit_triggers(connections[using])


class CoreConfig(AppConfig):
    name = "mesoclinic.core"
    label = "core"
    verbose_name = "Core"

    def ready(self) -> None:
        post_migrate.connect(
            install_audit_triggers_after_migrate,
            sender=self,
            dispatch_uid="mesoclinic.core.audit_triggers",
        )
