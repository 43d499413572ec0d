"""Account verbs."""
import hashlib
import secrets
from dataclasses import dataclass
from datetime import timedelta

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import func, select, update

from ..addresses import address_problem
from ..clock import as_utc, now_utc
from ..contact import ContactError, normalise_email, normalise_phone
from ..extensions import db
from .hashing import check_against_nobody, hash_password
from .models import ROLES, Address, Invitation, PasswordReset, SignUpConfirmation, User
from .passwords import password_problem
from .sessions import end_all_sessions


class AccountError(ValueError):
    """An account cannot be created or used as asked."""


class WeakPassword(AccountError):
    """The new password is too short, too common or too easy to guess for this account."""


def check_new_password(password, *, email):
    """Raise ``WeakPassword`` with the reason when ``password`` may not be chosen."""
    problem = password_problem(password, email=email)
    if problem:
        raise WeakPassword(problem)


class WrongPassword(AccountError):
    """The current password typed to confirm a change is not the account's."""


class AddressNotFound(LookupError):
    """No saved address with this id belongs to this user."""


def _find_user(email):
    """The user with this e-mail address (any case, spaces around ignored), or None."""
    return db.session.scalars(
        select(User).where(func.lower(User.email) == (email or "").strip().lower())
    ).one_or_none()


def authenticate(email, password):
    """The active, confirmed user with this e-mail and password, else None (the same answer for
    every failure).

    The same work is done whatever the reason: when there is no such account the password is
    checked against a dummy hash of the same cost, and a suspended or unconfirmed account's
    password is checked before it is refused; so the time taken does not tell whether an
    account exists.
    """
    user = _find_user(email)
    if user is None:
        check_against_nobody(password or "")
        return None
    if not user.check_password(password or "") or not user.active or not user.is_confirmed:
        return None
    return user


def create_user(*, email, name, password, role="customer", village_id=None):
    """Add a confirmed user (the office, an invitation, ``flask user create``, the demo): village
    members must name their village, others must not.

    An unconfirmed sign-up for the same address gives way: whoever makes a confirmed account
    speaks for the address (an invitation's link proved it), and an unconfirmed account holds
    nothing (it never signed in).
    """
    if role not in ROLES:
        raise AccountError(_("Unknown role %(role)s.", role=role))
    if (role == "village_member") != (village_id is not None):
        raise AccountError(_("A village member belongs to exactly one village; other roles to none."))
    email = normalise_email(email).lower()
    check_new_password(password, email=email)
    existing = _find_user(email)
    if existing is not None and existing.is_confirmed:
        raise AccountError(_("An account for %(email)s exists already.", email=email))
    if existing is not None:
        db.session.delete(existing)
        db.session.flush()
    user = User(email=email, name=name, role=role, village_id=village_id,
                email_confirmed_at=now_utc())
    user.set_password(password)
    db.session.add(user)
    db.session.flush()
    return user


def _token_hash(token):
    return hashlib.sha256(token.encode()).hexdigest()


# --- sign up -------------------------------------------------------------------------------------

@dataclass(frozen=True)
class SignUp:
    """What a sign-up came to; the page answers the same whatever ``kind`` is.

    ``kind``: ``"new"`` (an unconfirmed account was opened: mail ``token``), ``"unconfirmed"``
    (the address has an unconfirmed account: mail a new ``token``), ``"exists"`` (a confirmed
    account: tell its owner someone tried), ``"suspended"`` (mail nothing).
    """

    kind: str
    user: User
    token: str | None = None


def sign_up(*, email, name, password, hours):
    """A buyer asks for an account; return a ``SignUp`` saying what to mail.

    Raises ``WeakPassword`` or ``ContactError`` for a form that cannot be used. Otherwise the
    password is hashed whether or not the address has an account (the same work either way),
    and an address without an account gets an unconfirmed one. The confirmation link carries
    this sign-up's name and password hash, so that opening it is what sets them.
    """
    email = normalise_email(email).lower()
    check_new_password(password, email=email)
    password_hash = hash_password(password)
    user = _find_user(email)
    if user is None:
        user = User(email=email, name=name, role="customer", password_hash=password_hash)
        db.session.add(user)
        db.session.flush()
        kind = "new"
    elif user.is_confirmed:
        return SignUp("exists" if user.active else "suspended", user)
    elif not user.active:
        return SignUp("suspended", user)
    else:
        kind = "unconfirmed"
    token = secrets.token_urlsafe(32)
    db.session.add(SignUpConfirmation(
        user_id=user.id, token_hash=_token_hash(token), name=name, password_hash=password_hash,
        expires_at=now_utc() + timedelta(hours=hours)))
    db.session.flush()
    return SignUp(kind, user, token)


def find_sign_up_confirmation(token):
    """The open confirmation for ``token``, or raise ``AccountError`` saying why it cannot be
    used."""
    confirmation = db.session.scalars(
        select(SignUpConfirmation).where(SignUpConfirmation.token_hash == _token_hash(token or ""))
    ).one_or_none()
    if confirmation is None:
        raise AccountError(_("This confirmation link is not valid. Sign up again to get a new one."))
    user = db.session.get(User, confirmation.user_id)
    if confirmation.used_at is not None or user.is_confirmed:
        raise AccountError(_("This confirmation link has been used already. Sign in instead."))
    if as_utc(confirmation.expires_at) < now_utc():
        raise AccountError(_("This confirmation link has expired. Sign up again to get a new one."))
    if not user.active:
        raise AccountError(_("This confirmation link is not valid. Sign up again to get a new one."))
    return confirmation


def _spend_sign_up_confirmations(user_id, now):
    """Close every open confirmation link of this user."""
    db.session.execute(
        update(SignUpConfirmation)
        .where(SignUpConfirmation.user_id == user_id, SignUpConfirmation.used_at.is_(None))
        .values(used_at=now).execution_options(synchronize_session=False))


def confirm_sign_up(token):
    """Activate the account of an open confirmation link with the name and password typed on
    that sign-up; return the user. Every link of the account is spent (a conditional UPDATE:
    two requests racing with one link cannot both succeed)."""
    confirmation = find_sign_up_confirmation(token)
    now = now_utc()
    spent = db.session.execute(
        update(SignUpConfirmation)
        .where(SignUpConfirmation.id == confirmation.id, SignUpConfirmation.used_at.is_(None))
        .values(used_at=now).execution_options(synchronize_session=False))
    if spent.rowcount != 1:
        raise AccountError(_("This confirmation link has been used already. Sign in instead."))
    _spend_sign_up_confirmations(confirmation.user_id, now)
    user = db.session.get(User, confirmation.user_id)
    user.name = confirmation.name
    user.password_hash = confirmation.password_hash
    user.email_confirmed_at = now
    end_all_sessions(user)
    db.session.flush()
    return user


def invite_member(*, village_id, email, name, invited_by, days):
    """Create an invitation for a village member; return ``(invitation, token)``.

    Only the hash of the token is stored; the token goes out in the e-mailed link.
    """
    email = normalise_email(email).lower()
    existing = _find_user(email)
    if existing is not None and existing.is_confirmed:  # an unconfirmed one gives way (create_user)
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
    if as_utc(invitation.expires_at) < now_utc():
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
    if not user.is_confirmed:
        raise AccountError(_("This account is not confirmed yet: its owner has not opened the "
                             "link we e-mailed."))
    user.role = role
    db.session.flush()
    return user


# --- password reset ------------------------------------------------------------------------------

def request_password_reset(email, *, minutes):
    """Open a reset link for the active account with this e-mail; return ``(user, token)``.

    Returns ``None`` when there is no such active account: the caller answers the same either way,
    so that nobody learns which addresses have accounts. Only the token's hash is stored.
    An unconfirmed account gets a link too: the link goes to the address, so using it proves
    the address and confirms the account (``reset_password``).
    """
    user = _find_user(email)
    if user is None or not user.active:
        return None
    token = secrets.token_urlsafe(32)
    db.session.add(PasswordReset(user_id=user.id, token_hash=_token_hash(token),
                                 expires_at=now_utc() + timedelta(minutes=minutes)))
    db.session.flush()
    return user, token


def find_password_reset(token):
    """The open reset for ``token``, or raise ``AccountError`` saying why it cannot be used."""
    reset = db.session.scalars(
        select(PasswordReset).where(PasswordReset.token_hash == _token_hash(token or ""))
    ).one_or_none()
    if reset is None:
        raise AccountError(_("This password-reset link is not valid. Ask for a new one."))
    if reset.used_at is not None:
        raise AccountError(_("This password-reset link has been used already. Ask for a new one."))
    if as_utc(reset.expires_at) < now_utc():
        raise AccountError(_("This password-reset link has expired. Ask for a new one."))
    user = db.session.get(User, reset.user_id)
    if user is None or not user.active:
        raise AccountError(_("This password-reset link is not valid. Ask for a new one."))
    return reset


def reset_password(token, password):
    """Set a new password through an open reset link; return the user.

    The link is spent, and so is every other open link of the same user. Spending is a
    conditional UPDATE, so two requests racing with one link cannot both succeed.
    """
    reset = find_password_reset(token)
    user = db.session.get(User, reset.user_id)
    check_new_password(password, email=user.email)
    now = now_utc()
    spent = db.session.execute(
        update(PasswordReset)
        .where(PasswordReset.id == reset.id, PasswordReset.used_at.is_(None))
        .values(used_at=now).execution_options(synchronize_session=False))
    if spent.rowcount != 1:
        raise AccountError(_("This password-reset link has been used already. Ask for a new one."))
    db.session.execute(
        update(PasswordReset)
        .where(PasswordReset.user_id == reset.user_id, PasswordReset.used_at.is_(None))
        .values(used_at=now).execution_options(synchronize_session=False))
    user.set_password(password)
    if not user.is_confirmed:  # the link reached the address: that confirms it
        user.email_confirmed_at = now
        _spend_sign_up_confirmations(user.id, now)
    end_all_sessions(user)  # whoever knew the old password is signed out everywhere
    db.session.flush()
    return user


def change_password(user, *, current_password, new_password):
    """A signed-in person changes their password; every other session of theirs ends.

    Raises ``WrongPassword`` when ``current_password`` is wrong, ``WeakPassword`` when the new one
    may not be chosen; nothing changes then.
    """
    if not user.check_password(current_password or ""):
        raise WrongPassword(_("Your current password is not correct."))
    check_new_password(new_password, email=user.email)
    if user.check_password(new_password):
        raise WeakPassword(_("Choose a password different from the current one."))
    user.set_password(new_password)
    end_all_sessions(user)
    db.session.flush()
    return user


# --- saved addresses -----------------------------------------------------------------------------

#: Enough for home, work and family; stops a script from filling the table.
MAX_ADDRESSES = 20


def add_address(user, data, *, default=False):
    """Save a shipping address for ``user``; ``data`` is ``AddressForm.address()``.

    The phone is stored as E.164 (``+6281234567890``); every place must be on the list, each in
    the one above it, and the postal code one of the district's (``AccountError`` otherwise).
    It becomes the default address when ``default`` is asked, or when the buyer has none yet.
    """
    count = db.session.scalar(select(func.count()).where(Address.user_id == user.id))
    if count >= MAX_ADDRESSES:
        raise AccountError(_("You can save at most %(count)d addresses. Delete one first.",
                             count=MAX_ADDRESSES))
    address = Address(user_id=user.id, **_address_values(data))
    db.session.add(address)
    db.session.flush()
    has_default = db.session.scalar(select(func.count()).where(
        Address.user_id == user.id, Address.is_default, Address.id != address.id))
    if default or not has_default:
        _make_default(user, address)
    return address


def update_address(user, address_id, data, *, default=None):
    """Change one of ``user``'s saved addresses (checked as ``add_address`` checks); with
    ``default`` True or False, make it the default address or not. ``AddressNotFound`` if the
    address is not theirs."""
    address = _own_address(user, address_id)
    for name, value in _address_values(data).items():
        setattr(address, name, value)
    if default:
        _make_default(user, address)
    elif default is not None:
        address.is_default = False
    db.session.flush()
    return address


def set_default_address(user, address_id):
    """Make one of ``user``'s saved addresses the one checkout fills in; ``AddressNotFound`` if
    it is not theirs."""
    address = _own_address(user, address_id)
    _make_default(user, address)
    return address


def delete_address(user, address_id):
    """Delete one of ``user``'s saved addresses; ``AddressNotFound`` if it is not theirs.
    Deleting the default leaves the buyer without one until they choose another."""
    db.session.delete(_own_address(user, address_id))
    db.session.flush()


def _own_address(user, address_id):
    address = db.session.scalars(
        select(Address).where(Address.id == address_id, Address.user_id == user.id)
    ).one_or_none()
    if address is None:
        raise AddressNotFound(address_id)
    return address


def _address_values(data):
    """The columns of a saved address from ``AddressForm.address()``, checked."""
    try:
        phone = normalise_phone(data["phone"])
    except ContactError:
        raise AccountError(_("Enter an Indonesian phone number, e.g. 0812 3456 7890.")) from None
    problem = address_problem(data)
    if problem:
        raise AccountError(problem)
    return dict(name=data["name"], phone=phone, province=data["province"], regency=data["regency"],
                regency_code=data["regency_code"], district=data["district"],
                village_ward=data["village_ward"], postal_code=data["postal_code"], street=data["street"])


def _make_default(user, address):
    """``address`` becomes ``user``'s only default. The user's row is locked first, so that two
    requests at once cannot leave two defaults (the partial unique index would refuse that)."""
    db.session.execute(select(User.id).where(User.id == user.id).with_for_update())
    db.session.execute(update(Address).where(
        Address.user_id == user.id, Address.is_default, Address.id != address.id).values(is_default=False))
    address.is_default = True
    db.session.flush()


def set_optional_mail(user, wanted):
    """Whether ``user`` takes mail that is not about an order in progress (``mailing.OPTIONAL_KINDS``)."""
    user.optional_mail = bool(wanted)
    db.session.flush()


def office_addresses():
    """Where the office's notices go: ``OFFICE_EMAIL`` if set, else every active verifier and admin."""
    configured = [a.strip() for a in current_app.config["OFFICE_EMAIL"].split(",") if a.strip()]
    if configured:
        return configured
    return list(db.session.scalars(select(User.email).where(
        User.role.in_(("verifier", "admin")), User.active).order_by(User.id)))


def users_for_office():
    """Every account, by role and e-mail (the admins' users page)."""
    return db.session.scalars(select(User).order_by(User.role, User.email)).all()


def village_members(village_id):
    return db.session.scalars(select(User).where(User.village_id == village_id).order_by(User.name)).all()
