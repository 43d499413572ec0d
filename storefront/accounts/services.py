"""Account verbs."""
from sqlalchemy import func, select

from ..contact import normalise_email
from ..extensions import db
from .models import ROLES, User


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
        raise AccountError(f"unknown role {role!r} (one of {', '.join(ROLES)})")
    if (role == "village_member") != (village_id is not None):
        raise AccountError("a village member belongs to exactly one village; other roles to none")
    if len(password or "") < 12:
        raise AccountError("the password must be at least 12 characters")
    email = normalise_email(email).lower()
    if db.session.scalar(select(func.count()).where(func.lower(User.email) == email)):
        raise AccountError(f"an account for {email} exists already")
    user = User(email=email, name=name, role=role, village_id=village_id)
    user.set_password(password)
    db.session.add(user)
    db.session.flush()
    return user
