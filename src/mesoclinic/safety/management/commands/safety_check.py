"""``mesoclinic safety_check``: raise the side-effect flags that time has made due and
email each responsible practitioner once.

Run it daily from cron (more often does no harm: it is idempotent). It flags open events
past their expected course as prolonged, flags serious events that were never flagged,
then sends the alerts not sent yet through the claim-then-send machinery. Prints one line
and exits 1 when an email failed, so cron's mail or a monitor notices.
"""

from __future__ import annotations

import sys
from typing import Any

from django.core.management.base import BaseCommand

from mesoclinic.core import clock
from mesoclinic.safety.mail import send_alerts
from mesoclinic.safety.services import adverse_events_flag


class Command(BaseCommand):
    help = "Flag side effects that outlast their expected course and email the practitioner."

    def handle(self, *args: Any, **options: Any) -> None:
        now = clock.now()
        flagged = adverse_events_flag(now=now)
        report = send_alerts(now=now)
        self.stdout.write(
            f"flagged {len(flagged.prolonged)} prolonged, {len(flagged.serious)} serious; "
            f"emails {report}"
        )
        if report.failed:
            sys.exit(1)
