"""``mesoclinic send_reminders [--dry-run]``: send the reminders and recalls due now.

Run it from cron every minute or few; overlapping runs are safe (scheduling.reminders).
Prints one line, ``sent 3, failed 0, skipped 1, stuck 0``, and exits 1 when a message
failed, so cron's mail or a monitor notices.
"""

from __future__ import annotations

import sys
from argparse import ArgumentParser
from typing import Any

from django.core.management.base import BaseCommand

from mesoclinic.scheduling.reminders import Action, plan_messages, send_due_messages


class Command(BaseCommand):
    help = "Send the appointment reminders and maintenance recalls that are due."

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument(
            "--dry-run",
            action="store_true",
            help="List what would be sent, without claiming or sending anything.",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if options["dry_run"]:
            self._dry_run()
            return
        report = send_due_messages()
        self.stdout.write(str(report))
        if report.failed:
            sys.exit(1)

    def _dry_run(self) -> None:
        counts = dict.fromkeys(Action, 0)
        for planned in plan_messages():
            counts[planned.action] += 1
            if planned.action in (Action.SEND, Action.RETRY):
                due = planned.due
                retry = " (retry)" if planned.action == Action.RETRY else ""
                # The record number, not the email address: cron output is mailed and kept.
                self.stdout.write(
                    f"would send {due.kind} {due.key} to {due.patient.mrn}"
                    f" at {due.clinic.name}{retry}"
                )
        would_send = counts[Action.SEND] + counts[Action.RETRY]
        skipped = counts[Action.DONE] + counts[Action.BUSY] + counts[Action.GAVE_UP]
        self.stdout.write(
            f"dry run: would send {would_send}, skipped {skipped}, stuck {counts[Action.STUCK]}"
        )
