"""German formatting of dates and numbers for templates, registered once in the factory."""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

from flask import Flask
from flask_babel import format_date, format_datetime, format_decimal, get_timezone

from hki.text import absaetze, einzeilig, vorlage


def datum(value: date | None) -> str:
    """Format a date as TT.MM.JJJJ (DIN 5008); empty for no date."""
    return "" if value is None else format_date(value, "dd.MM.yyyy")


def monat(value: date | None) -> str:
    """Format a date as MM/JJJJ, for timeframes planned by month."""
    return "" if value is None else format_date(value, "MM/yyyy")


def zeitpunkt(value: datetime | None) -> str:
    """Format a stored UTC timestamp in Berlin time as TT.MM.JJJJ, HH:MM Uhr."""
    return "" if value is None else format_datetime(value, "dd.MM.yyyy, HH:mm 'Uhr'")


def zahl(value: float | int | None) -> str:
    """Format a number with German separators (1.234,5); whole numbers without decimals."""
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    try:
        return str(format_decimal(value, format="#,##0.##"))
    except ArithmeticError:  # beyond Babel's decimal precision (or NaN): say it plainly
        return f"{value:.4g}".replace(".", ",")


def zahl1(value: float | None) -> str:
    """Format a share or average with one decimal (12,5); empty for none."""
    return "" if value is None else str(format_decimal(round(value, 1), format="#,##0.0"))


def local_zone() -> ZoneInfo:
    """The users' time zone as a ``ZoneInfo``.

    Babel hands out a pytz zone, which gives a wrong offset (LMT) when put into a
    datetime with ``replace(tzinfo=…)`` or ``combine``; ``ZoneInfo`` does not.
    """
    return ZoneInfo(str(get_timezone()))


def local_today() -> date:
    """Today's date where the users are (Europe/Berlin), not on the server's clock."""
    return datetime.now(get_timezone()).date()


def register_filters(app: Flask) -> None:
    """Make the formatters, and the shapers of typed text (hki.text), Jinja filters."""
    for func in (datum, monat, zeitpunkt, zahl, zahl1, absaetze, einzeilig, vorlage):
        app.add_template_filter(func)
