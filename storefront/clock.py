"""Time: stored in UTC, shown and reasoned about in Asia/Makassar (WITA)."""
from datetime import datetime, timezone
from zoneinfo import ZoneInfo

WITA = ZoneInfo("Asia/Makassar")


def now_utc():
    """The current instant, timezone-aware. Tests patch this one function."""
    return datetime.now(timezone.utc)


def today_wita():
    """Today's date in NTT; papers expire against this date, not the server's."""
    return now_utc().astimezone(WITA).date()


def as_utc(moment):
    """A stored time, timezone-aware: SQLite hands back naive datetimes, stored as UTC."""
    if moment is None or moment.tzinfo is not None:
        return moment
    return moment.replace(tzinfo=timezone.utc)


def to_wita(moment):
    """Convert a stored UTC time for display."""
    return None if moment is None else as_utc(moment).astimezone(WITA)
