"""Months and days as NTT reads them, in SQL and in Python.

Times are stored in UTC; a month or a day is cut in WITA (Asia/Makassar, UTC+8 all year: no
daylight saving). A DATE column (a payout's ``paid_on``) already holds a WITA date and is cut as
it is. The SQL functions compile for PostgreSQL and SQLite, so a report groups by month in the
database (``GROUP BY``) on both.
"""
from datetime import date, datetime, timedelta, timezone

from sqlalchemy import String
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.expression import FunctionElement

from .clock import WITA


class wita_month(FunctionElement):  # noqa: N801 - reads as a SQL function
    """``YYYY-MM`` of a stored UTC timestamp, in WITA."""

    type = String()
    inherit_cache = True


@compiles(wita_month, "postgresql")
def _wita_month_postgresql(element, compiler, **kw):
    (moment,) = element.clauses
    return f"to_char(({compiler.process(moment, **kw)}) AT TIME ZONE 'Asia/Makassar', 'YYYY-MM')"


@compiles(wita_month)
def _wita_month_sqlite(element, compiler, **kw):
    # SQLite keeps UTC as text; WITA never shifts, so a fixed offset is exact.
    (moment,) = element.clauses
    return f"strftime('%Y-%m', {compiler.process(moment, **kw)}, '+8 hours')"


class date_month(FunctionElement):  # noqa: N801 - reads as a SQL function
    """``YYYY-MM`` of a DATE column (a date that is already a WITA date)."""

    type = String()
    inherit_cache = True


@compiles(date_month, "postgresql")
def _date_month_postgresql(element, compiler, **kw):
    (day,) = element.clauses
    return f"to_char({compiler.process(day, **kw)}, 'YYYY-MM')"


@compiles(date_month)
def _date_month_sqlite(element, compiler, **kw):
    (day,) = element.clauses
    return f"strftime('%Y-%m', {compiler.process(day, **kw)})"


def month_bounds(year, month):
    """The UTC instants where a WITA month starts and the next one starts."""
    start = datetime(year, month, 1, tzinfo=WITA)
    after = datetime(year + month // 12, month % 12 + 1, 1, tzinfo=WITA)
    return start.astimezone(timezone.utc), after.astimezone(timezone.utc)


def day_bounds(first, last):
    """The UTC instants where WITA day ``first`` starts and the day after ``last`` starts."""
    start = datetime(first.year, first.month, first.day, tzinfo=WITA)
    after = datetime(last.year, last.month, last.day, tzinfo=WITA) + timedelta(days=1)
    return start.astimezone(timezone.utc), after.astimezone(timezone.utc)


def month_keys(first, last):
    """``YYYY-MM`` of every month from the one of date ``first`` to the one of ``last``."""
    keys, year, month = [], first.year, first.month
    while (year, month) <= (last.year, last.month):
        keys.append(f"{year:04d}-{month:02d}")
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return keys


def months_before(day, count):
    """The first day of the month ``count`` months before the month of ``day``."""
    index = day.year * 12 + day.month - 1 - count
    return date(index // 12, index % 12 + 1, 1)
