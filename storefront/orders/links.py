"""A guest's private link to an order: a token the buyer holds, of which the shop keeps a hash."""
import base64
import hashlib
import hmac

from flask import current_app


def access_token_hash(token):
    return hashlib.sha256((token or "").encode()).hexdigest()


def order_link_token(idempotency_key):
    """The private link's token, derived from the checkout's idempotency key with the app's
    secret, so every submit of one checkout (double click, retry, back button) can open the
    order, not only the one whose answer the browser kept."""
    secret = current_app.secret_key
    secret = secret.encode() if isinstance(secret, str) else secret
    digest = hmac.new(secret, b"order-link\0" + idempotency_key.encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest[:24]).decode()
