"""German formatting of dates and numbers for templates, registered once in the factory."""

from __future__ import annotations

from datetime import date, datetime

from flask import Flask
from flask_babel import format_date, format_datetime, format_decimal, get_timezone


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


def local_today() -> date:
    """Today's date where the users are (Europe/Berlin), not on the server's clock."""
    return datetime.now(get_timezone()).date()


def register_filters(app: Flask) -> None:
    """Make the formatters available as Jinja filters."""
    for func in (datum, monat, zeitpunkt, zahl):
        app.add_template_filter(func)
