"""The report as HTML (preview) and as PDF/UA-1 (WeasyPrint), from one template.

WeasyPrint is imported only when a PDF is made: it takes about a second to import, and
ordinary pages never need it.
"""

from __future__ import annotations

import logging
from pathlib import Path
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


def _cached_page_references(pdf: Any) -> tuple[bytes, ...]:
    """``pydyf.PDF.page_references``, rebuilt only when the page list has grown.

    pydyf 0.13 builds the tuple of every page reference on each access, and WeasyPrint's
    PDF/UA tagging reads it once per tagged element: quadratic, 5–6 s of a 300-page report.
    Pages are only ever appended (``PDF.add_page``), so the length of ``Kids`` tells whether
    the cached tuple is still right; the result is equal to pydyf's own.
    """
    kids = pdf.pages["Kids"]
    cached = pdf.__dict__.get("_hki_page_references")
    if cached is None or cached[0] != len(kids):
        cached = (len(kids), tuple(f"{number} 0 R".encode("ascii") for number in kids[::3]))
        pdf.__dict__["_hki_page_references"] = cached
    return cached[1]  # type: ignore[no-any-return]


def speed_up_pydyf() -> None:
    """Install :func:`_cached_page_references` (idempotent; see there for why)."""
    import pydyf

    pdf_class: Any = pydyf.PDF
    if "_hki_original_references" not in pdf_class.__dict__:
        pdf_class._hki_original_references = pdf_class.page_references
        pdf_class.page_references = property(_cached_page_references)


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
    """The report as a tagged PDF/UA-1 (see :func:`pdf_from_html`)."""
    return pdf_from_html(render_html(report))[0]


def render_pdf_pages(report: ReportData) -> tuple[bytes, int]:
    """The report as a tagged PDF/UA-1, and its number of pages."""
    return pdf_from_html(render_html(report))


def own_files_only() -> Any:
    """A WeasyPrint URL fetcher for the app's own static files and ``data:`` URLs only.

    WeasyPrint's default fetches any URL (``http://``, ``file:///etc/…``). All text in a
    report is escaped today, but one template change would let a measure's title load a
    remote image or a local file into a PDF; refusing here makes that a render error.
    """
    from urllib.parse import unquote, urlsplit

    from weasyprint.urls import URLFetcher

    root = STATIC.resolve()

    class OwnFilesOnly(URLFetcher):  # type: ignore[misc]
        def fetch(self, url: str, headers: Any = None) -> Any:
            parts = urlsplit(url)
            if parts.scheme == "data" or (
                    parts.scheme == "file" and not parts.netloc
                    and Path(unquote(parts.path)).resolve().is_relative_to(root)):
                return super().fetch(url, headers)
            raise ValueError(f"Nur eigene Dateien gehören in einen Bericht: {url[:100]}")

    return OwnFilesOnly(allowed_protocols=("file", "data"))


def pdf_from_html(html: str) -> tuple[bytes, int]:
    """The report's HTML as a tagged PDF/UA-1 with the vendored DejaVu fonts embedded.

    WeasyPrint logs (and does not raise) what breaks accessibility, such as a missing
    language or image description; such a log is turned into an error here.
    """
    from weasyprint import CSS, HTML
    from weasyprint.text.fonts import FontConfiguration

    speed_up_pydyf()
    fonts = FontConfiguration()
    fetcher = own_files_only()
    css = CSS(filename=str(STYLESHEET), font_config=fonts, url_fetcher=fetcher)
    collect = _Collect()
    logger = logging.getLogger("weasyprint")
    logger.addHandler(collect)
    try:
        document = HTML(string=html, base_url=str(STATIC), url_fetcher=fetcher).render(
            stylesheets=[css], font_config=fonts, pdf_variant="pdf/ua-1")
        pdf = document.write_pdf(pdf_variant="pdf/ua-1")
    finally:
        logger.removeHandler(collect)
    if collect.messages or not isinstance(pdf, bytes):
        raise RenderError("; ".join(collect.messages) or "WeasyPrint lieferte kein PDF.")
    return pdf, len(document.pages)
