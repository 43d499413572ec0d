"""Scans held between two submits of the paper form, so a village on bad signal uploads once.

When the form is refused for something else (a date, the number) but the scan itself was
good, the cleaned file waits in the private scan store (``held/<user id>/``, shared by every
web server), and the form carries only an unguessable token in a hidden field.
A hold belongs to one user of one village and one form (a new paper, or the correction of one
paper); it ends when the paper is saved with it, when it is replaced, or after ``HOLD_HOURS``
(the housekeeping job ``expire_held_scans`` deletes what is left).

Files, not rows: a hold is a file waiting for its paper, and the scans themselves are files.
The file names are digests of the tokens, so a listing of the store gives no token away.
"""
import hashlib
import json
import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from .. import clock
from ..storage import FileMissing, scan_store
from .scans import CleanScan

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
    key: str

    def load(self):
        """The cleaned scan as it was when held (it was cleaned before it was held)."""
        return CleanScan(scan_store().get(self.key), self.content_type, self.extension, self.original_name)


def _folder(user_id):
    return f"held/{int(user_id)}/"


def _keys(user_id, token):
    """The store keys of a hold's file and of its facts."""
    stem = _folder(user_id) + hashlib.sha256(token.encode()).hexdigest()
    return f"{stem}.scan", f"{stem}.json"


def hold_scan(scan, *, user_id, village_id, form, now=None, token=None):
    """Keep the cleaned ``scan`` for ``form`` of this user and village; return the hold's token."""
    now = now or clock.now_utc()
    token = token or secrets.token_urlsafe(32)
    data_key, meta_key = _keys(user_id, token)
    store = scan_store()
    store.put(data_key, scan.data, scan.content_type)
    meta = {"user_id": int(user_id), "village_id": int(village_id), "form": form,
            "original_name": scan.original_name, "content_type": scan.content_type,
            "extension": scan.extension, "size_bytes": len(scan.data),
            "expires_at": (now + timedelta(hours=HOLD_HOURS)).isoformat()}
    # The facts last: a hold without them is never used, only cleaned.
    store.put(meta_key, json.dumps(meta).encode(), "application/json")
    _keep_newest(user_id, keep=meta_key)
    return token


def _keep_newest(user_id, keep):
    holds = [item for item in scan_store().list(_folder(user_id)) if item.key.endswith(".json")]
    # Newest first; the hold just made stays whatever the clock of the store says.
    holds.sort(key=lambda item: (item.key == keep, item.modified), reverse=True)
    for item in holds[MAX_HOLDS_PER_USER:]:
        _delete(item.key)


def find_held_scan(token, *, user_id, village_id, form, now=None):
    """The hold behind ``token`` if it is this user's, for this village and form, and not expired;
    else None (an expired one is deleted on the way)."""
    if not token or not _TOKEN.match(token):
        return None
    data_key, meta_key = _keys(user_id, token)
    store = scan_store()
    try:
        meta = json.loads(store.get(meta_key))
    except (FileMissing, ValueError):
        return None
    try:
        held = HeldScan(token=token, key=data_key, expires_at=datetime.fromisoformat(meta.pop("expires_at")),
                        **meta)
    except (AttributeError, KeyError, TypeError, ValueError):
        _delete(meta_key)
        return None
    if held.expires_at <= (now or clock.now_utc()):
        _delete(meta_key)
        return None
    if (held.user_id, held.village_id, held.form) != (user_id, village_id, form) or not store.exists(data_key):
        return None
    return held


def release_held_scan(token, *, user_id):
    """End a hold (its paper was saved, or another file replaced it)."""
    if token and _TOKEN.match(token):
        _delete(_keys(user_id, token)[1])


def _delete(meta_key):
    store = scan_store()
    store.delete(meta_key)
    store.delete(meta_key.removesuffix(".json") + ".scan")


def expire_held_scans(now=None):
    """Delete every hold past its time, and leftovers of an interrupted hold (housekeeping);
    returns how many holds were deleted."""
    now = now or clock.now_utc()
    store = scan_store()
    files = list(store.list("held/"))
    facts = {item.key for item in files if item.key.endswith(".json")}
    deleted = 0
    for key in sorted(facts):
        try:
            expires_at = datetime.fromisoformat(json.loads(store.get(key))["expires_at"])
        except (FileMissing, ValueError, KeyError, TypeError):
            expires_at = None
        if expires_at is None or expires_at <= now:
            _delete(key)
            deleted += 1
    stale = now - timedelta(hours=HOLD_HOURS)
    for item in files:
        if item.key.endswith(".scan") and item.key.removesuffix(".scan") + ".json" not in facts \
                and item.modified < stale:
            store.delete(item.key)
    return deleted
