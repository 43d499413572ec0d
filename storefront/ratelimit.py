"""Rate limits on the doors attackers knock on: sign-in, sign-up, password reset.

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
    #: Every sign-in attempt from one address.
    "RATELIMIT_SIGN_IN_IP": "10/minute;50/hour",
    #: Failed sign-ins for one e-mail address, whatever the source address.
    "RATELIMIT_SIGN_IN_ACCOUNT": "5/15 minutes",
    #: Password-reset requests from one address, and for one e-mail address.
    "RATELIMIT_RESET_IP": "5/minute;20/hour",
    "RATELIMIT_RESET_EMAIL": "3/hour",
    #: New accounts from one address.
    "RATELIMIT_SIGN_UP_IP": "5/hour;20/day",
    #: Wrong current passwords on the change-password page, per signed-in user.
    "RATELIMIT_PASSWORD_CHANGE_USER": "5/15 minutes",
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
        title = _("Too many attempts")
        message = _("You have tried this too often in a short time. For your security, please "
                    "wait a few minutes and try again.")
        if request.path.startswith("/api/"):
            return {"error": title, "message": message}, 429
        return render_template("errors/error.html", title=title, message=message), 429
