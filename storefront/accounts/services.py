"""Account verbs."""
import hashlib
import secrets
from datetime import timedelta, timezone

from flask_babel import gettext as _
from sqlalchemy import func, select

from ..clock import now_utc
from ..contact import normalise_email
from ..extensions import db
from .models import ROLES, Invitation, User


class AccountError(ValueError):
    """An account cannot be created or used as asked."""


def authenticate(email, password):
    """The active user with this e-mail and password, else None (same answer for every failure)."""
    user = db.session.scalars(
        select(User).where(func.lower(User.email) == (email or "").strip().lower())
    ).one_or_none()
    if user is None or not user.active or not user.check_password(password or ""):
        return None
    return user


def create_user(*, email, name, password, role="customer", village_id=None):
    """Add a user; village members must name their village, others must not."""
    if role not in ROLES:
        raise AccountError(_("Unknown role %(role)s.", role=role))
    if (role == "village_member") != (village_id is not None):
        raise AccountError(_("A village member belongs to exactly one village; other roles to none."))
    if len(password or "") < 12:
        raise AccountError(_("The password must be at least 12 characters."))
    email = normalise_email(email).lower()
    if db.session.scalar(select(func.count()).where(func.lower(User.email) == email)):
        raise AccountError(_("An account for %(email)s exists already.", email=email))
    user = User(email=email, name=name, role=role, village_id=village_id)
    user.set_password(password)
    db.session.add(user)
    db.session.flush()
    return user


def _token_hash(token):
    return hashlib.sha256(token.encode()).hexdigest()


def invite_member(*, village_id, email, name, invited_by, days):
    """Create an invitation for a village member; return ``(invitation, token)``.

    Only the hash of the token is stored; the token goes out in the e-mailed link.
    """
    email = normalise_email(email).lower()
    if db.session.scalar(select(func.count()).where(func.lower(User.email) == email)):
        raise AccountError(_("An account for %(email)s exists already.", email=email))
    token = secrets.token_urlsafe(32)
    invitation = Invitation(
        email=email, name=name.strip(), village_id=village_id, token_hash=_token_hash(token),
        invited_by_id=invited_by.id, expires_at=now_utc() + timedelta(days=days))
    db.session.add(invitation)
    db.session.flush()
    return invitation, token


def find_invitation(token):
    """The open invitation for ``token``, or raise ``AccountError`` saying why it cannot be used."""
    invitation = db.session.scalars(
        select(Invitation).where(Invitation.token_hash == _token_hash(token or ""))).one_or_none()
    if invitation is None:
        raise AccountError(_("This invitation link is not valid. Ask the office for a new one."))
    if invitation.accepted_at is not None:
        raise AccountError(_("This invitation has been used already. Sign in instead."))
    expires_at = invitation.expires_at
    if expires_at.tzinfo is None:
        expires_at = expires_at.replace(tzinfo=timezone.utc)
    if expires_at < now_utc():
        raise AccountError(_("This invitation has expired. Ask the office for a new one."))
    return invitation


def accept_invitation(token, *, name, password):
    """Turn an open invitation into a village member's account."""
    invitation = find_invitation(token)
    user = create_user(email=invitation.email, name=name or invitation.name, password=password,
                       role="village_member", village_id=invitation.village_id)
    invitation.accepted_at = now_utc()
    db.session.flush()
    return user


#: Roles the office can hand out on the users page (members come through invitations).
ASSIGNABLE_ROLES = ("customer", "verifier")


def set_user_role(user, role, *, actor):
    """An admin makes a user a verifier, or takes the role back."""
    if actor.role != "admin":
        raise AccountError(_("Only an administrator can change roles."))
    if user.id == actor.id:
        raise AccountError(_("You cannot change your own role."))
    if role not in ASSIGNABLE_ROLES or user.role not in ASSIGNABLE_ROLES:
        raise AccountError(_("Only customers and verifiers can be switched here."))
    user.role = role
    db.session.flush()
    return user
