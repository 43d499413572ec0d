"""Rate limits on the doors attackers knock on: sign-in, sign-up, password reset, lost order links.

Sign-in is counted by ``accounts/throttle.py`` (device cookies; failures per account and
address), in the same storage; the rest by Flask-Limiter's decorators on the routes.
Flask-Limiter counts in Redis when ``REDIS_URL`` is set (shared by every gunicorn worker and
server), otherwise in the memory of each process. The limits are configuration, so that tests
and operators can tune them; a limited request gets a friendly 429 page in the visitor's language.
"""
import hashlib

from flask import current_app, render_template, request
from flask_babel import gettext as _
from flask_limiter import Limiter
from flask_limiter.errors import RateLimitExceeded
from flask_limiter.util import get_remote_address

#: Default limits (limits' notation, ``;`` between several); each can be overridden in config.
DEFAULT_LIMITS = {
    #: Failed sign-ins from a browser with a device cookie for the account: that cookie's own
    #: count, the only one such a browser is held to (strangers cannot use it up).
    "RATELIMIT_SIGN_IN_DEVICE": "5/15 minutes",
    #: Failed sign-ins of unknown browsers for one account from one address.
    "RATELIMIT_SIGN_IN_ACCOUNT_IP": "5/15 minutes",
    #: Failed sign-ins of unknown browsers for one account from every address together
    #: (a guessing attack spread over many addresses; ASVS 2.2.1 asks for at most 100 an hour).
    "RATELIMIT_SIGN_IN_ACCOUNT": "10/15 minutes",
    #: Failed sign-ins of unknown browsers from one address, whatever the account. Generous:
    #: a carrier's NAT puts many honest people behind one address.
    "RATELIMIT_SIGN_IN_IP": "20/minute;200/hour",
    #: Password-reset requests from one address, and for one e-mail address.
    "RATELIMIT_RESET_IP": "5/minute;20/hour",
    "RATELIMIT_RESET_EMAIL": "3/hour",
    #: Sign-ups that opened (or tried to open) an account, from one address; a form refused
    #: for its content never counts. Generous for carrier NAT.
    "RATELIMIT_SIGN_UP_IP": "20/hour;100/day",
    #: Sign-ups for one e-mail address: each sends that address a mail.
    "RATELIMIT_SIGN_UP_EMAIL": "3/hour",
    #: Wrong current passwords on the change-password page, per signed-in user.
    "RATELIMIT_PASSWORD_CHANGE_USER": "5/15 minutes",
    #: Requests for a lost order link (``/pesanan/cari``) from one address, and for one e-mail
    #: address (each may send that address a mail).
    "RATELIMIT_ORDER_LINK_IP": "5/minute;20/hour",
    "RATELIMIT_ORDER_LINK_EMAIL": "3/hour",
}

limiter = Limiter(key_func=get_remote_address, strategy="moving-window",
                  headers_enabled=True)


def configured(name):
    """A limit as a callable, read from the app's config at request time."""
    return lambda: current_app.config[name]


def posted_email_key():
    """The posted e-mail address, normalised and hashed (no addresses in Redis); empty skips."""
    email = (request.form.get("email") or "").strip().lower()
    return hashlib.sha256(email.encode()).hexdigest()[:32] if email else ""


def failed_form(response):
    """Count an attempt only when it failed: the form came back with errors (422)."""
    return response.status_code == 422


def accepted_form(response):
    """Count a submission only when the form was accepted (the 303 after it): not one the
    server refused for its content."""
    return response.status_code == 303


def too_many_attempts(retry_after=None):
    """The friendly 429 answer, in the visitor's language (JSON under ``/api/``)."""
    title = _("Too many attempts")
    message = _("You have tried this too often in a short time. For your security, please "
                "wait a few minutes and try again.")
    if request.path.startswith("/api/"):
        response = current_app.make_response(({"error": title, "message": message}, 429))
    else:
        response = current_app.make_response(
            (render_template("errors/error.html", title=title, message=message), 429))
    if retry_after:
        response.headers["Retry-After"] = str(int(retry_after))
    return response


def init_app(app):
    """Bind the limiter: Redis when ``REDIS_URL`` is set, memory otherwise."""
    for name, value in DEFAULT_LIMITS.items():
        app.config.setdefault(name, value)
    app.config["RATELIMIT_STORAGE_URI"] = app.config.get("REDIS_URL") or "memory://"
    if not app.config.get("REDIS_URL") and app.config.get("STOREFRONT_ENV") == "production":
        app.logger.warning("REDIS_URL is not set: rate limits are counted in each process on its own "
                           "(ALLOW_PER_PROCESS_LIMITS); with N workers a limit lets N times as many through.")
    app.config.setdefault("RATELIMIT_KEY_PREFIX", "produkdesa")
    # The limiter is one object shared by every app built in this process (tests): say it each time.
    app.config.setdefault("RATELIMIT_ENABLED", True)
    limiter.init_app(app)

    @app.errorhandler(RateLimitExceeded)
    def too_many_requests(error):
        return too_many_attempts()  # Flask-Limiter adds Retry-After
