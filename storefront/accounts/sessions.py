"""The life of a signed-in session: a fresh one at sign-in, revocation at sign-out and password
change, idle and absolute timeouts.

Flask keeps the session in a signed cookie, so the server cannot forget a cookie it issued.
Instead each user holds a random ``session_token`` that is part of the id Flask-Login stores
(``User.get_id()`` is ``"id:token"``, in the session and in the remember-me cookie). The user
loader accepts a cookie only while its token is the user's current one; replacing the token
(``end_all_sessions``) makes every earlier cookie of that user worthless on every device.

Timeouts use two times kept in the signed session: when the person signed in (``_auth_at``)
and when they were last seen (``_seen_at``), both in whole seconds since the epoch. The sign-in
time is also appended to the stored id (``"id:token:signed_in_at"``), which Flask-Login copies
into the remember-me cookie: so that cookie, too, stops working at the absolute limit.
"""
import secrets
from datetime import timedelta

from flask import current_app, flash, session
from flask_babel import gettext as _
from flask_login import current_user, login_user, logout_user

from .. import clock
from ..extensions import db
from .models import User

#: Session keys that survive sign-in: harmless for a fixation attacker to have planted.
#: (Guest checkout keeps its orders' private tokens here; the guest cart and the chosen
#: language live in cookies of their own.)
KEPT_AT_SIGN_IN = ("order_tokens",)
#: Roles whose idle timeout is the short, staff one.
STAFF_ROLES = ("village_member", "verifier", "admin")
#: ``_seen_at`` is rewritten at most this often, so that not every request sets a cookie.
SEEN_RESOLUTION_SECONDS = 60


def _now():
    return int(clock.now_utc().timestamp())  # tests patch clock.now_utc


def _absolute_seconds():
    return int(current_app.config["SESSION_ABSOLUTE_HOURS"]) * 3600


def _signed_in_at(user_id):
    """The sign-in time kept in a stored id, or None (an id without one is refused)."""
    stamp = str(user_id or "").split(":")
    return int(stamp[2]) if len(stamp) == 3 and stamp[2].isdigit() else None


def load_user(user_id):
    """Flask-Login's user loader: the active user whose current session token the cookie holds,
    signed in less than the absolute limit ago."""
    user_part, token, signed_in_at = (str(user_id).split(":") + ["", ""])[:3]
    if not user_part.isdigit() or not token or not signed_in_at.isdigit():
        return None
    if _now() - int(signed_in_at) >= _absolute_seconds():
        return None
    user = db.session.get(User, int(user_part))
    if user is None or not user.active or not user.session_token_matches(token):
        return None
    return user


def _stamp(now, signed_in_at=None):
    """A new session identifier, the sign-in time and a fresh last-seen time."""
    session["_sid"] = secrets.token_urlsafe(16)
    session["_auth_at"] = now if signed_in_at is None else signed_in_at
    session["_seen_at"] = now


def start_session(user, *, remember=False):
    """Sign ``user`` in with a brand-new session: nothing but harmless keys is carried over
    from the anonymous one (no session fixation), and it gets a new identifier."""
    kept = {key: session[key] for key in KEPT_AT_SIGN_IN if key in session}
    session.clear()
    session.update(kept)
    login_user(user, remember=remember, fresh=True)
    now = _now()
    session["_user_id"] = f"{user.get_id()}:{now}"  # Flask-Login writes this to remember-me
    _stamp(now)


def end_all_sessions(user):
    """Make every session and remember-me cookie of ``user`` worthless. The caller commits."""
    user.rotate_session_token()
    db.session.flush()


def sign_out_here():
    """Drop this browser's session and remember-me cookie (the server side is
    ``end_all_sessions``)."""
    session.clear()
    logout_user()  # after clear(): it marks the remember-me cookie for deletion in the session


def idle_limit_seconds(user):
    """How long ``user`` may stay idle: short for office and village roles, longer for buyers."""
    key = ("SESSION_IDLE_MINUTES_STAFF" if user.role in STAFF_ROLES
           else "SESSION_IDLE_MINUTES_CUSTOMER")
    return int(current_app.config[key]) * 60


def enforce_timeouts():
    """``before_request``: sign out a session that was idle or has lived too long."""
    now = _now()
    absolute = _absolute_seconds()
    signed_in_at = _signed_in_at(session.get("_user_id"))
    # Before current_user: the user loader would quietly refuse an expired id.
    if signed_in_at is not None and now - signed_in_at >= absolute:
        sign_out_here()
        flash(_("For your security you were signed out %(hours)d hours after signing in. "
                "Please sign in again.", hours=absolute // 3600), "warning")
        return
    if not current_user.is_authenticated:
        return
    auth_at, seen_at = session.get("_auth_at"), session.get("_seen_at")
    if not isinstance(auth_at, int) or not isinstance(seen_at, int):
        # Restored from the remember-me cookie: a session begins, as old as that sign-in.
        _stamp(now, signed_in_at=_signed_in_at(session.get("_user_id")))
        return
    idle = idle_limit_seconds(current_user)
    if now - auth_at >= absolute:
        sign_out_here()
        flash(_("For your security you were signed out %(hours)d hours after signing in. "
                "Please sign in again.", hours=absolute // 3600), "warning")
    elif now - seen_at >= idle:
        sign_out_here()
        flash(_("You were signed out after %(minutes)d minutes without activity. "
                "Please sign in again.", minutes=idle // 60), "warning")
    elif now - seen_at >= SEEN_RESOLUTION_SECONDS:
        session["_seen_at"] = now


def init_app(app):
    """Register the timeout check; the remember-me cookie lives as long as a session may."""
    app.config.setdefault("REMEMBER_COOKIE_DURATION",
                          timedelta(hours=int(app.config["SESSION_ABSOLUTE_HOURS"])))
    app.before_request(enforce_timeouts)
