"""Scans held between two submits of the paper form, so a village on bad signal uploads once.

When the form is refused for something else (a date, the number) but the scan itself was
good, the cleaned file waits here, in the private scan store (``SCAN_ROOT/held/<user id>/``,
never under ``static/``), and the form carries only an unguessable token in a hidden field.
A hold belongs to one user of one village and one form (a new paper, or the correction of one
paper); it ends when the paper is saved with it, when it is replaced, or after ``HOLD_HOURS``
(the housekeeping job ``expire_held_scans`` deletes what is left).

Files, not rows: a hold is a file waiting for its paper, and the scans themselves are files.
The file names are digests of the tokens, so a listing of the folder gives no token away.
"""
import hashlib
import json
import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from flask import current_app

from .. import clock
from .scans import CleanScan, scan_root

#: How long a held scan waits for the form to be sent again.
HOLD_HOURS = 24
#: Holds one user may have at once (a new one pushes out the oldest): bounds the disk a
#: member can fill with refused forms.
MAX_HOLDS_PER_USER = 5
_TOKEN = re.compile(r"^[A-Za-z0-9_-]{43}$")  # secrets.token_urlsafe(32)


@dataclass
class HeldScan:
    """A held scan's facts; ``load()`` reads the file."""

    token: str
    user_id: int
    village_id: int
    form: str
    original_name: str
    content_type: str
    extension: str
    size_bytes: int
    expires_at: datetime
    path: Path

    def load(self):
        """The cleaned scan as it was when held (it was cleaned before it was held)."""
        return CleanScan(self.path.read_bytes(), self.content_type, self.extension, self.original_name)


def _folder(user_id):
    return scan_root() / "held" / str(int(user_id))


def _paths(user_id, token):
    digest = hashlib.sha256(token.encode()).hexdigest()
    folder = _folder(user_id)
    return folder / f"{digest}.scan", folder / f"{digest}.json"


def hold_scan(scan, *, user_id, village_id, form, now=None, token=None):
    """Keep the cleaned ``scan`` for ``form`` of this user and village; return the hold's token."""
    now = now or clock.now_utc()
    token = token or secrets.token_urlsafe(32)
    data_path, meta_path = _paths(user_id, token)
    data_path.parent.mkdir(parents=True, exist_ok=True)
    data_path.write_bytes(scan.data)
    meta = {"user_id": int(user_id), "village_id": int(village_id), "form": form,
            "original_name": scan.original_name, "content_type": scan.content_type,
            "extension": scan.extension, "size_bytes": len(scan.data),
            "expires_at": (now + timedelta(hours=HOLD_HOURS)).isoformat()}
    # The facts last: a hold without them is never used, only cleaned.
    meta_path.write_text(json.dumps(meta))
    _keep_newest(user_id)
    return token


def _keep_newest(user_id):
    holds = sorted(_folder(user_id).glob("*.json"), key=lambda p: p.stat().st_mtime_ns, reverse=True)
    for meta_path in holds[MAX_HOLDS_PER_USER:]:
        _delete(meta_path)


def find_held_scan(token, *, user_id, village_id, form, now=None):
    """The hold behind ``token`` if it is this user's, for this village and form, and not expired;
    else None (an expired one is deleted on the way)."""
    if not token or not _TOKEN.match(token):
        return None
    data_path, meta_path = _paths(user_id, token)
    try:
        meta = json.loads(meta_path.read_text())
    except (OSError, ValueError):
        return None
    try:
        held = HeldScan(token=token, path=data_path, expires_at=datetime.fromisoformat(meta.pop("expires_at")),
                        **meta)
    except (KeyError, TypeError, ValueError):
        _delete(meta_path)
        return None
    if held.expires_at <= (now or clock.now_utc()):
        _delete(meta_path)
        return None
    if (held.user_id, held.village_id, held.form) != (user_id, village_id, form) or not data_path.exists():
        return None
    return held


def release_held_scan(token, *, user_id):
    """End a hold (its paper was saved, or another file replaced it)."""
    if token and _TOKEN.match(token):
        _delete(_paths(user_id, token)[1])


def _delete(meta_path):
    meta_path.unlink(missing_ok=True)
    meta_path.with_suffix(".scan").unlink(missing_ok=True)


def expire_held_scans(now=None):
    """Delete every hold past its time, and leftovers of an interrupted hold (housekeeping);
    returns how many holds were deleted."""
    now = now or clock.now_utc()
    root = Path(current_app.config["SCAN_ROOT"]) / "held"  # not scan_root(): nothing is made here
    if not root.exists():
        return 0
    deleted = 0
    for meta_path in root.glob("*/*.json"):
        try:
            expires_at = datetime.fromisoformat(json.loads(meta_path.read_text())["expires_at"])
        except (OSError, ValueError, KeyError, TypeError):
            expires_at = None
        if expires_at is None or expires_at <= now:
            _delete(meta_path)
            deleted += 1
    stale = (now - timedelta(hours=HOLD_HOURS)).timestamp()
    for data_path in root.glob("*/*.scan"):
        if not data_path.with_suffix(".json").exists() and data_path.stat().st_mtime < stale:
            data_path.unlink(missing_ok=True)
    # The users' folders stay (one per member who ever had a hold): removing one could race a
    # hold being written into it.
    return deleted
