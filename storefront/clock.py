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


def to_wita(moment):
    """Convert a stored UTC time (naive values are taken as UTC) for display."""
    if moment is None:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return moment.astimezone(WITA)
