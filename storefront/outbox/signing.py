"""Signatures on outgoing webhook calls, in Stripe's scheme, and the check a receiver makes.

Each call carries ``X-Desa-Signature: t=<unix seconds>,v1=<hex>`` where ``<hex>`` is
HMAC-SHA256 with the village's secret over ``"<t>.<raw body>"``. The timestamp is signed too,
so a recorded call cannot be replayed later than ``tolerance`` seconds. ``X-Desa-Event-Id``
repeats the body's ``id``: the same event sent twice has the same id.

This module needs only the standard library, so a village can copy :func:`verify` as it is.
"""
import hashlib
import hmac
import secrets
import time

SIGNATURE_HEADER = "X-Desa-Signature"
EVENT_ID_HEADER = "X-Desa-Event-Id"
EVENT_TYPE_HEADER = "X-Desa-Event-Type"
SCHEME = "v1"
SECRET_PREFIX = "whsec_"
#: How old a signature a receiver accepts by default, in seconds (Stripe uses the same).
DEFAULT_TOLERANCE = 300


class SignatureError(ValueError):
    """The signature header is missing, malformed, too old, or does not match the body."""


def new_secret():
    """A fresh signing secret: ``whsec_`` and 32 random bytes, URL-safe."""
    return SECRET_PREFIX + secrets.token_urlsafe(32)


def _as_bytes(value):
    return value.encode("utf-8") if isinstance(value, str) else bytes(value)


def compute_signature(payload, secret, timestamp):
    """Hex HMAC-SHA256 of ``"<timestamp>.<payload>"`` under ``secret``."""
    signed = str(int(timestamp)).encode("ascii") + b"." + _as_bytes(payload)
    return hmac.new(_as_bytes(secret), signed, hashlib.sha256).hexdigest()


def signature_header(payload, secret, timestamp=None):
    """The value of ``X-Desa-Signature`` for ``payload`` (the exact bytes sent)."""
    timestamp = int(time.time() if timestamp is None else timestamp)
    return f"t={timestamp},{SCHEME}={compute_signature(payload, secret, timestamp)}"


def webhook_headers(payload, secret, event_id, event_type, timestamp=None):
    """Every header of a webhook call except transport ones."""
    return {
        "Content-Type": "application/json; charset=utf-8",
        SIGNATURE_HEADER: signature_header(payload, secret, timestamp),
        EVENT_ID_HEADER: event_id,
        EVENT_TYPE_HEADER: event_type,
    }


def parse_header(header):
    """``(timestamp, [v1 signatures])`` from a header value; raises SignatureError."""
    if not header:
        raise SignatureError("no signature header")
    timestamp, signatures = None, []
    for item in header.split(","):
        key, sep, value = item.strip().partition("=")
        if not sep:
            continue
        if key == "t":
            try:
                timestamp = int(value)
            except ValueError:
                raise SignatureError("the timestamp is not a number") from None
        elif key == SCHEME:
            signatures.append(value.strip())
    if timestamp is None:
        raise SignatureError("the header has no timestamp")
    if not signatures:
        raise SignatureError(f"the header has no {SCHEME} signature")
    return timestamp, signatures


def verify(payload, header, secret, tolerance=DEFAULT_TOLERANCE, now=None):
    """Check a webhook call as its receiver: True, or raise :class:`SignatureError`.

    ``payload`` is the raw request body (bytes, before any JSON parsing), ``header`` the value
    of ``X-Desa-Signature``, ``secret`` the village's ``whsec_...`` secret. A signature older
    (or further in the future) than ``tolerance`` seconds is refused; ``tolerance=None`` skips
    that check. Several ``v1=`` entries are allowed; one matching is enough.
    """
    timestamp, signatures = parse_header(header)
    expected = compute_signature(payload, secret, timestamp)
    if not any(hmac.compare_digest(expected, candidate) for candidate in signatures):
        raise SignatureError("the signature does not match the body")
    if tolerance is not None:
        current = time.time() if now is None else now
        if abs(current - timestamp) > tolerance:
            raise SignatureError("the signature is too old (or its clock is off)")
    return True
