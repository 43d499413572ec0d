"""API keys of partners: made, rotated, revoked; checked on every request; limited per key; and
an audit of what each key read.

A key is ``mitra_<10 hex>_<43 random characters>`` (256 random bits). The shop keeps the first
part (``prefix``), to find the key and to name it on the office's pages, and the SHA-256 of the
whole key; the key itself is shown once, when it is made. A slow password hash is not needed: the
secret part is random, not chosen by a person, so nobody can guess it from its hash. The stored
hash is compared with ``hmac.compare_digest``.

Rotation makes a successor with the same limit; the old key keeps working for
``ROTATION_OVERLAP`` (so the partner can switch without a gap), then stops. Revocation stops a key
at once.
"""
import hashlib
import hmac
import math
import secrets
import time
from datetime import timedelta

from flask import current_app
from flask_babel import gettext as _
from limits import RateLimitItemPerMinute
from limits.storage import storage_from_string
from limits.strategies import MovingWindowRateLimiter
from sqlalchemy import select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from .. import clock
from ..extensions import db
from .models import PartnerKey, PartnerRead

KEY_PREFIX = "mitra_"
#: How long a rotated key keeps working beside its successor.
ROTATION_OVERLAP = timedelta(hours=24)
#: A new key's limit unless the office chooses another.
DEFAULT_REQUESTS_PER_MINUTE = 120
#: The most the office may allow one key (a guard against a typo of one zero too many).
MAX_REQUESTS_PER_MINUTE = 6000
#: ``last_used_at`` is written at most this often per key.
LAST_USED_RESOLUTION = timedelta(minutes=1)


class PartnerKeyError(Exception):
    """Something the office can fix: a key that is already revoked, a limit out of range."""


def hash_key(key):
    """Hex SHA-256 of the whole key."""
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


#: ``mitra_`` and 10 hex digits; the secret part follows after one ``_`` (and may hold ``_`` itself).
PREFIX_LENGTH = len(KEY_PREFIX) + 10


def _new_key():
    prefix = KEY_PREFIX + secrets.token_hex(5)
    return prefix, f"{prefix}_{secrets.token_urlsafe(32)}"


def key_prefix(key):
    """The public part of a key as written (its first characters), or None if it cannot be one."""
    key = key or ""
    if len(key) <= PREFIX_LENGTH + 1 or not key.startswith(KEY_PREFIX) or key[PREFIX_LENGTH] != "_":
        return None
    return key[:PREFIX_LENGTH]


def check_limit(requests_per_minute):
    """The limit as a whole number in range, or raise PartnerKeyError."""
    if not isinstance(requests_per_minute, int) or not 1 <= requests_per_minute <= MAX_REQUESTS_PER_MINUTE:
        raise PartnerKeyError(_("The limit must be a whole number from 1 to %(max)d requests a minute.",
                          max=MAX_REQUESTS_PER_MINUTE))
    return requests_per_minute


def issue_key(partner_id, *, requests_per_minute=DEFAULT_REQUESTS_PER_MINUTE, actor_name="", now=None):
    """A new key for the partner: ``(PartnerKey, the key itself)``. The key is not kept: show it
    to the office now, once."""
    check_limit(requests_per_minute)
    prefix, key = _new_key()
    row = PartnerKey(partner_id=partner_id, prefix=prefix, key_hash=hash_key(key),
                     requests_per_minute=requests_per_minute, created_at=now or clock.now_utc(),
                     created_by=actor_name[:160])
    db.session.add(row)
    db.session.flush()
    return row, key


def _key_of(partner_id, key_id):
    row = db.session.scalars(select(PartnerKey).where(PartnerKey.id == key_id, PartnerKey.partner_id == partner_id)
                             .execution_options(populate_existing=True)).one_or_none()
    if row is None:
        raise LookupError(key_id)
    return row


def is_usable(row, now):
    """Not revoked, and not past the end a rotation gave it."""
    return row.revoked_at is None and (row.expires_at is None or clock.as_utc(row.expires_at) > now)


def rotate_key(partner_id, key_id, *, requests_per_minute=None, actor_name="", now=None):
    """A successor for the key (its limit, unless another is given); the old key works for
    ``ROTATION_OVERLAP`` more, or less if it was ending sooner. Returns ``(successor, key)``.
    Raises LookupError for another partner's key, PartnerKeyError for a key that no longer works."""
    now = now or clock.now_utc()
    old = _key_of(partner_id, key_id)
    if not is_usable(old, now):
        raise PartnerKeyError(_("This key no longer works; make a new key instead."))
    successor, key = issue_key(partner_id, requests_per_minute=requests_per_minute or old.requests_per_minute,
                               actor_name=actor_name, now=now)
    end = now + ROTATION_OVERLAP
    if old.expires_at is None or clock.as_utc(old.expires_at) > end:
        old.expires_at = end
    old.replaced_by_id = successor.id
    db.session.flush()
    return successor, key


def revoke_key(partner_id, key_id, now=None):
    """Stop the key at once. Raises LookupError for another partner's key; True if it was on."""
    now = now or clock.now_utc()
    _key_of(partner_id, key_id)
    stopped = db.session.execute(
        update(PartnerKey).where(PartnerKey.id == key_id, PartnerKey.revoked_at.is_(None))
        .values(revoked_at=now).execution_options(synchronize_session=False)).rowcount
    return stopped == 1


# --- on each request --------------------------------------------------------------------------

def bearer_key(header):
    """The key in an ``Authorization: Bearer <key>`` header, or None (no header: anonymous)."""
    if not header:
        return None
    scheme, _sep, value = header.strip().partition(" ")
    return value.strip() if scheme.lower() == "bearer" and value.strip() else ""


def authenticate(key, now=None):
    """The usable ``PartnerKey`` that ``key`` is, or None. Found by its prefix, compared by hash
    in constant time; a revoked or ended key is None like an unknown one."""
    now = now or clock.now_utc()
    prefix = key_prefix(key)
    if prefix is None or len(key) > 120:
        return None
    row = db.session.scalars(select(PartnerKey).where(PartnerKey.prefix == prefix)).one_or_none()
    if row is None or not hmac.compare_digest(row.key_hash, hash_key(key)):
        return None
    return row if is_usable(row, now) else None


def _strategy():
    """This app's counter of key requests, in the rate limits' storage (``RATELIMIT_STORAGE_URI``:
    Redis when ``REDIS_URL`` is set, else this process's memory); made on first use."""
    strategy = current_app.extensions.get("partner_key_limits")
    if strategy is None:
        uri = current_app.config.get("RATELIMIT_STORAGE_URI") or "memory://"
        strategy = current_app.extensions.setdefault(
            "partner_key_limits", MovingWindowRateLimiter(storage_from_string(uri)))
    return strategy


def _limit_item(row):
    return RateLimitItemPerMinute(row.requests_per_minute)


def _identifiers(row):
    # The prefix, not the id: ids come back after a database is emptied (tests), prefixes do not.
    return current_app.config.get("RATELIMIT_KEY_PREFIX", ""), "partner-key", row.prefix


def take_request(row):
    """Count one request of the key; 0 if it may go ahead, else how many seconds until it may.

    Counted in the rate limiter's storage (Redis when ``REDIS_URL`` is set: every worker counts
    together), as a moving window of one minute. Always on: ``RATELIMIT_ENABLED`` turns off the
    limits on people's forms, not a partner's contract."""
    strategy = _strategy()
    item = _limit_item(row)
    if strategy.hit(item, *_identifiers(row)):
        return 0
    reset_at = strategy.get_window_stats(item, *_identifiers(row)).reset_time
    return min(item.get_expiry(), max(1, math.ceil(reset_at - time.time())))


def record_read(row, endpoint, now=None):
    """Count the request in the key's audit (one row per endpoint and hour) and note the key's
    last use. Two statements; concurrent requests add up (an upsert, on both databases)."""
    now = now or clock.now_utc()
    hour = now.replace(minute=0, second=0, microsecond=0)
    insert = pg_insert if db.session.get_bind().dialect.name == "postgresql" else sqlite_insert
    stmt = insert(PartnerRead).values(key_id=row.id, endpoint=endpoint, hour=hour, requests=1, last_at=now)
    db.session.execute(stmt.on_conflict_do_update(
        index_elements=["key_id", "endpoint", "hour"],
        set_={"requests": PartnerRead.requests + 1, "last_at": now}))
    if row.last_used_at is None or clock.as_utc(row.last_used_at) <= now - LAST_USED_RESOLUTION:
        db.session.execute(update(PartnerKey).where(PartnerKey.id == row.id).values(last_used_at=now)
                           .execution_options(synchronize_session=False))
