"""The report as HTML (preview) and as PDF/UA-1 (WeasyPrint), from one template.

WeasyPrint is imported only when a PDF is made: it takes about a second to import, and
ordinary pages never need it.
"""

from __future__ import annotations

import logging
from typing import Any

from flask import render_template
from flask_babel import lazy_gettext as _l
from markupsafe import Markup

from hki import PROJECT_ROOT
from hki.reports.charts import field_bars
from hki.reports.data import ReportData
from hki.vocab import Status

STATIC = PROJECT_ROOT / "static"
STYLESHEET = STATIC / "css" / "report.css"

#: What each status means, for the annex (``status.md`` §2).
MEANINGS = {
    Status.NOT_STARTED: _l("Beschlossen, aber noch keine Aktivität."),
    Status.PLANNED: _l("Vorbereitung läuft: Konzept, Förderantrag, Abstimmung, Ausschreibung."),
    Status.IN_PROGRESS: _l("Die Umsetzung hat begonnen und liegt im Zeitplan."),
    Status.DELAYED: _l("Hinter dem geplanten Zeitraum oder gefährdet; mit Begründung."),
    Status.ONGOING: _l("Umgesetzt und in den Regelbetrieb übergegangen, ohne Enddatum."),
    Status.COMPLETED: _l("Befristete Maßnahme beendet, Ergebnis erbracht."),
    Status.ON_HOLD: _l("Bewusst pausiert, kann wieder aufgenommen werden; mit Begründung."),
    Status.DISCONTINUED: _l("Wird nicht umgesetzt oder endgültig beendet; mit Begründung."),
}


class RenderError(RuntimeError):
    """WeasyPrint reported a problem that would make the PDF inaccessible."""


def render_html(report: ReportData, *, stylesheet: str | None = None,
                preview_bar: Markup | None = None) -> str:
    """The report's HTML; ``stylesheet`` is linked for the browser preview."""
    context: dict[str, Any] = {
        "r": report, "statuses": list(Status), "chart": field_bars(report),
        "vocabulary": list(MEANINGS.items()), "stylesheet": stylesheet,
        "preview_bar": preview_bar,
    }
    return render_template("reports/report.html", **context)


class _Collect(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


def render_pdf(report: ReportData) -> bytes:
    """The report as a tagged PDF/UA-1 (see :func:`render_pdf_pages`)."""
    return render_pdf_pages(report)[0]


def render_pdf_pages(report: ReportData) -> tuple[bytes, int]:
    """The report as a tagged PDF/UA-1 with the vendored DejaVu fonts embedded, and its pages.

    WeasyPrint logs (and does not raise) what breaks accessibility, such as a missing
    language or image description; such a log is turned into an error here.
    """
    from weasyprint import CSS, HTML
    from weasyprint.text.fonts import FontConfiguration

    fonts = FontConfiguration()
    css = CSS(filename=str(STYLESHEET), font_config=fonts)
    collect = _Collect()
    logger = logging.getLogger("weasyprint")
    logger.addHandler(collect)
    try:
        document = HTML(string=render_html(report), base_url=str(STATIC)).render(
            stylesheets=[css], font_config=fonts, pdf_variant="pdf/ua-1")
        pdf = document.write_pdf(pdf_variant="pdf/ua-1")
    finally:
        logger.removeHandler(collect)
    if collect.messages or not isinstance(pdf, bytes):
        raise RenderError("; ".join(collect.messages) or "WeasyPrint lieferte kein PDF.")
    return pdf, len(document.pages)
