"""Sign-in throttling that a stranger cannot turn against an account's owner.

A plain "five failures lock the account" lets anyone lock anyone out, and many Indonesian
mobile users share one public address (carrier NAT). So failures are counted where they come
from, after OWASP's "device cookies"
(https://owasp.org/www-community/Slow_Down_Online_Guessing_Attacks_with_Device_Cookies):

- A browser that signed in to an account before holds a **device cookie** for it: signed by
  the app, naming the account (a hash of its e-mail address) and a random nonce. Its failures
  are counted for that cookie alone (``RATELIMIT_SIGN_IN_DEVICE``), and nothing counted
  elsewhere stops it: strangers' failures, from any address, never keep the owner's own
  browsers out.
- Every other browser is **unknown**. Its failures are counted per account *and* address
  (``RATELIMIT_SIGN_IN_ACCOUNT_IP``: one address guessing one account), per account over every
  address (``RATELIMIT_SIGN_IN_ACCOUNT``: slows a guessing attack spread over many addresses,
  without touching trusted browsers), and per address over every account
  (``RATELIMIT_SIGN_IN_IP``: one address trying many accounts; generous, for carrier NAT).

Only a wrong e-mail-or-password answer counts. A form refused for its content (no password,
not an e-mail address, an expired CSRF token) never does. Limits are moving windows: the next
attempt is allowed as soon as the oldest failure leaves the window, so an attack is slowed
down, never answered with a long lock-out. Accounts are named by a hash of the typed address,
so an address without an account is counted exactly like one with an account: the limits tell
nobody which addresses have accounts. The counts live in the limiter's storage (Redis when
``REDIS_URL`` is set, shared by every worker; memory otherwise).

A successful sign-in, a confirmed sign-up, an accepted invitation, a completed password reset
and a password change (each proves the password or the mailbox) give the browser a fresh
device cookie for that account, with a new nonce. So an owner kept out of a new browser by an
attack can get in through the password-reset mail.
"""
import hashlib
import math
import secrets
import time
from dataclasses import dataclass

from flask import after_this_request, current_app, request
from flask_limiter.util import get_remote_address
from itsdangerous import BadSignature, URLSafeSerializer
from limits import parse_many

from .. import clock
from ..ratelimit import limiter

DEVICE_COOKIE = "device"
#: The cookie is only needed where passwords are typed.
DEVICE_COOKIE_PATH = "/masuk"
#: How long a browser stays trusted for an account after proving the password there.
DEVICE_DAYS = 365
#: Accounts remembered per browser (a family sharing a phone); the oldest is forgotten first.
DEVICE_ACCOUNTS = 5
_SALT = "device-cookie"


def account_key(email):
    """The account as counters and device cookies name it: a hash of the typed address,
    normalised as sign-in looks it up (no addresses in Redis or in cookies)."""
    return hashlib.sha256((email or "").strip().lower().encode()).hexdigest()[:32]


def _serializer():
    # Signed with SECRET_KEY; read with it or an earlier key during a rotation (newest last).
    keys = [*(current_app.config.get("SECRET_KEY_FALLBACKS") or ()), current_app.secret_key]
    return URLSafeSerializer(keys, salt=_SALT)


def _device_entries():
    """This browser's valid device-cookie entries: ``[account_key, nonce, issued_at]``, newest
    first. A missing, forged or malformed cookie gives none."""
    raw = request.cookies.get(DEVICE_COOKIE)
    if not raw:
        return []
    try:
        entries = _serializer().loads(raw)
    except BadSignature:
        return []
    if not isinstance(entries, list):
        return []
    oldest = int(clock.now_utc().timestamp()) - DEVICE_DAYS * 86400
    return [entry for entry in entries
            if isinstance(entry, list) and len(entry) == 3
            and isinstance(entry[0], str) and isinstance(entry[1], str)
            and isinstance(entry[2], int) and entry[2] > oldest][:DEVICE_ACCOUNTS]


def trusted_device(email):
    """The nonce of this browser's device cookie for the account ``email``, or None."""
    key = account_key(email)
    return next((nonce for account, nonce, _ in _device_entries() if account == key), None)


def remember_device(email):
    """Give this browser a fresh device cookie for the account ``email`` (on this response),
    after it proved the password or the mailbox. Other accounts' entries are kept."""
    key = account_key(email)
    entries = [entry for entry in _device_entries() if entry[0] != key][:DEVICE_ACCOUNTS - 1]
    entries.insert(0, [key, secrets.token_urlsafe(16), int(clock.now_utc().timestamp())])
    value = _serializer().dumps(entries)

    @after_this_request
    def set_cookie(response):
        response.set_cookie(DEVICE_COOKIE, value, max_age=DEVICE_DAYS * 86400,
                            path=DEVICE_COOKIE_PATH, httponly=True, samesite="Lax",
                            secure=bool(current_app.config.get("SESSION_COOKIE_SECURE")))
        return response


@dataclass(frozen=True)
class SignInAttempt:
    """Who is trying to sign in to which account, as the counters see it."""

    account: str
    address: str
    #: The nonce of this browser's device cookie for the account; None for an unknown browser.
    device: str | None

    @classmethod
    def from_request(cls, email):
        return cls(account_key(email), get_remote_address() or "", trusted_device(email))

    def counters(self):
        """``(config name, scope, key)`` of each counter this attempt is checked and counted on."""
        if self.device:
            return [("RATELIMIT_SIGN_IN_DEVICE", "sign-in-device", self.device)]
        return [("RATELIMIT_SIGN_IN_ACCOUNT_IP", "sign-in-account-ip",
                 f"{self.account}:{self.address}"),
                ("RATELIMIT_SIGN_IN_ACCOUNT", "sign-in-account", self.account),
                ("RATELIMIT_SIGN_IN_IP", "sign-in-ip", self.address)]


def _limits(attempt):
    """Each limit of each counter, with the identifiers the limiter's storage keys it by."""
    prefix = current_app.config.get("RATELIMIT_KEY_PREFIX", "")
    for name, scope, key in attempt.counters():
        for item in parse_many(current_app.config[name]):
            yield item, (prefix, scope, key)


def _enabled():
    return bool(current_app.config.get("RATELIMIT_ENABLED", True))


def seconds_to_wait(attempt):
    """0 when ``attempt`` may go ahead; else about how many seconds until it may."""
    if not _enabled():
        return 0
    strategy = limiter.limiter
    wait = 0
    for item, identifiers in _limits(attempt):
        if not strategy.test(item, *identifiers):
            reset_at = strategy.get_window_stats(item, *identifiers).reset_time
            # The storage's clock may not be ours (tests move it); never more than the window.
            left = min(item.get_expiry(), max(1, math.ceil(reset_at - time.time())))
            wait = max(wait, left)
    return wait


def count_failure(attempt):
    """Count a wrong e-mail-or-password answer on every counter of ``attempt``."""
    if not _enabled():
        return
    strategy = limiter.limiter
    for item, identifiers in _limits(attempt):
        strategy.hit(item, *identifiers)
