"""PDF responses (core/pdf.py): the PDF inline or as a download, and a 503 that names the
missing library when WeasyPrint cannot run."""

from __future__ import annotations

from mesoclinic.core.pdf import html_to_pdf, pdf_response


def test_a_pdf_is_sent_inline_or_as_a_download():
    inline = pdf_response(lambda: html_to_pdf("<p>Hello</p>"), filename="a.pdf")
    assert inline.status_code == 200
    assert inline["Content-Type"] == "application/pdf"
    assert inline["Content-Disposition"] == 'inline; filename="a.pdf"'
    assert inline.content.startswith(b"%PDF-")
    download = pdf_response(lambda: b"%PDF-1.7", filename="b.pdf", download=True)
    assert download["Content-Disposition"] == 'attachment; filename="b.pdf"'


def test_without_pango_the_answer_says_what_is_missing():
    def missing() -> bytes:
        raise OSError("cannot load library 'libpango-1.0-0'")

    response = pdf_response(missing, filename="a.pdf")
    assert response.status_code == 503
    assert b"Pango" in response.content
