"""PDF pages: HTML rendered by WeasyPrint, sent inline or as a download."""

from __future__ import annotations

from collections.abc import Callable

from django.http import HttpResponse
from django.utils.translation import gettext as _


def html_to_pdf(html: str) -> bytes:
    """The PDF of ``html`` (WeasyPrint). Raises OSError when the Pango library is missing."""
    import weasyprint

    return bytes(weasyprint.HTML(string=html).write_pdf())


def pdf_response(
    render: Callable[[], bytes], *, filename: str, download: bool = False
) -> HttpResponse:
    """The PDF that ``render`` makes, or a 503 that says what the server lacks (Pango)."""
    try:
        pdf = render()
    except OSError:  # WeasyPrint needs Pango; say so rather than fail with a 500
        return HttpResponse(
            _("PDFs need the Pango library on the server (Debian: libpango-1.0-0)."),
            status=503,
            content_type="text/plain; charset=utf-8",
        )
    response = HttpResponse(pdf, content_type="application/pdf")
    disposition = "attachment" if download else "inline"
    response["Content-Disposition"] = f'{disposition}; filename="{filename}"'
    return response
