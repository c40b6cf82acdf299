"""The aftercare sheet by email (plain text, the PDF attached), at most once per sheet.

It goes through the reminders' claim-then-send machinery (``scheduling.reminders``): the
signature's commit sends it at once, and ``mesoclinic send_reminders`` (cron) retries a
sheet whose first send failed, for ``AFTERCARE_RETRY_DAYS`` after the signature.
"""

from __future__ import annotations

import datetime as dt
import logging

from django.conf import settings
from django.core.mail import EmailMessage
from django.db.models import QuerySet
from django.template.loader import render_to_string
from django.utils.translation import gettext as _

from mesoclinic.core import clock
from mesoclinic.core.pdf import html_to_pdf
from mesoclinic.scheduling.models import MessageKind
from mesoclinic.scheduling.reminders import DueMessage, SendReport, plan_for, send_planned
from mesoclinic.treatments import aftercare
from mesoclinic.treatments.models import AftercareSheet

logger = logging.getLogger(__name__)

# After this long a sheet that could not be sent is no longer useful by email: the
# reactions it describes are over. The chart still shows and prints it.
AFTERCARE_RETRY_DAYS = 3


def aftercare_key(sheet: AftercareSheet) -> str:
    return f"aftercare:{sheet.pk}"


def _due(sheet: AftercareSheet) -> DueMessage:
    session = sheet.session
    return DueMessage(
        kind=MessageKind.AFTERCARE,
        key=aftercare_key(sheet),
        organisation=session.organisation,
        patient=sheet.patient,
        clinic=session.clinic,
        recipient=sheet.patient.email,
        appointment=session.appointment,
        aftercare_sheet=sheet,
    )


def _sheets() -> QuerySet[AftercareSheet]:
    return AftercareSheet.objects.select_related(
        "patient", "session__organisation", "session__clinic", "session__appointment"
    )


def due_aftercare(*, now: dt.datetime) -> list[DueMessage]:
    """Sheets written in the last ``AFTERCARE_RETRY_DAYS`` for patients with an email."""
    since = now - dt.timedelta(days=AFTERCARE_RETRY_DAYS)
    sheets = (
        _sheets()
        .filter(created_at__gte=since, created_at__lte=now)
        .exclude(patient__email="")
        .order_by("created_at", "pk")
    )
    return [_due(sheet) for sheet in sheets]


def send_aftercare(*, sheet_id: int) -> SendReport:
    """Send one sheet now unless it was sent (or is being sent) already."""
    sheet = _sheets().filter(pk=sheet_id).first()
    if sheet is None or not sheet.patient.email:
        return SendReport()
    now = clock.now()
    try:
        return send_planned(plan_for([_due(sheet)], now=now), now=now)
    except Exception:
        # Never let the email turn a committed signature into an error page.
        logger.exception("Could not send aftercare sheet %s", sheet_id)
        return SendReport(failed=1)


def render_pdf(sheet: AftercareSheet) -> bytes:
    """The printable sheet (WeasyPrint). Raises OSError when Pango is missing."""
    html = render_to_string(
        "treatments/aftercare_pdf.html",
        {"sheet": aftercare.sheet_from_json(sheet.content), "evidence": aftercare.EVIDENCE_LABELS},
    )
    return html_to_pdf(html)


def aftercare_email(due: DueMessage) -> EmailMessage:
    sheet_row: AftercareSheet = due.aftercare_sheet
    sheet = aftercare.sheet_from_json(sheet_row.content)
    email = EmailMessage(
        subject=_("Aftercare after your treatment on %(date)s")
        % {"date": sheet.session_date.isoformat()},
        body=aftercare.sheet_text(sheet),
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=[due.recipient],
    )
    try:
        email.attach(
            f"aftercare-{sheet.session_date.isoformat()}.pdf",
            render_pdf(sheet_row),
            "application/pdf",
        )
    except OSError:
        # Without Pango the text alone still carries every instruction.
        logger.warning("Aftercare PDF not attached: Pango is missing")
    return email
