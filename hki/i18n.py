"""German formatting of dates and numbers for templates, registered once in the factory."""

from __future__ import annotations

import re
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


_GERMAN_DAY = re.compile(r"^(\d{1,2})\.(\d{1,2})\.(\d{4})$", re.ASCII)
_ISO_DAY = re.compile(r"^(\d{4})-(\d{2})-(\d{2})$", re.ASCII)
#: Years any date in hki may fall in: wide enough for old council decisions and long
#: plans, narrow enough that date arithmetic (a day after, a year before) never overflows
#: and a typo such as 0001 or 9999 is caught.
FIRST_YEAR, LAST_YEAR = 1900, 2200


def parse_day(text: str | None) -> date | None:
    """A day as people and browsers give it: TT.MM.JJJJ (also T.M.JJJJ) or JJJJ-MM-TT.

    ASCII digits only, years ``FIRST_YEAR``–``LAST_YEAR``. ``None`` for anything else,
    including impossible days (31.02.2026): the caller says what is wrong in its own words.
    """
    written = (text or "").strip()
    try:
        if match := _GERMAN_DAY.match(written):
            found = date(int(match[3]), int(match[2]), int(match[1]))
        elif match := _ISO_DAY.match(written):
            found = date(int(match[1]), int(match[2]), int(match[3]))
        else:
            return None
    except ValueError:
        return None
    return found if FIRST_YEAR <= found.year <= LAST_YEAR else None


def ascii_int(raw: str | None, digits: int = 9) -> int | None:
    """A whole number written in ASCII digits (at most ``digits``), else ``None``.

    ``str.isdigit`` also accepts "²" and other digits that ``int`` refuses or reads
    differently; this is the one place query strings and forms turn text into numbers.
    """
    text = (raw or "").strip()
    if not text or len(text) > digits or not (text.isascii() and text.isdigit()):
        return None
    return int(text)


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
