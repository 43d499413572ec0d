"""People who sign in: buyers, village members, the office's verifiers, admins."""
import hmac
import secrets

from flask_login import UserMixin
from sqlalchemy import (Boolean, CheckConstraint, DateTime, ForeignKey, Index, Integer, String, false, text,
                        true)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..clock import now_utc
from ..extensions import db
from .hashing import hash_password, password_matches

ROLES = ("customer", "village_member", "verifier", "admin")


class User(UserMixin, db.Model):
    __tablename__ = "users"
    __table_args__ = (
        CheckConstraint(
            "role IN ('customer', 'village_member', 'verifier', 'admin')", name="role_known"),
        CheckConstraint(
            "role <> 'village_member' OR village_id IS NOT NULL", name="member_has_village"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    #: Stored lower-cased; sign-in is by e-mail.
    email: Mapped[str] = mapped_column(String(254), unique=True)
    name: Mapped[str] = mapped_column(String(120))
    password_hash: Mapped[str] = mapped_column(String(256))
    #: One of ``ROLES``.
    role: Mapped[str] = mapped_column(String(20), default="customer")
    #: Set for village members only: the one village whose data they may touch.
    village_id: Mapped[int | None] = mapped_column(ForeignKey("villages.id"), index=True)
    #: A suspended account cannot sign in.
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    #: When the owner of the address proved it. ``None`` (it cannot sign in) for an account
    #: opened on the sign-up page until the link mailed to that address is opened; accounts
    #: made by an invitation, ``flask user create`` or the demo are confirmed at creation
    #: (``services.create_user``). No default: an account is unconfirmed unless said otherwise.
    email_confirmed_at = mapped_column(DateTime(timezone=True))
    created_at = mapped_column(DateTime(timezone=True), default=now_utc)
    #: Random; part of the id kept in the session and the remember-me cookie. Replacing it
    #: (sign-out, password change or reset) makes every earlier cookie of this user worthless.
    session_token: Mapped[str] = mapped_column(String(64), default=lambda: secrets.token_hex(16))
    #: ``id`` or ``en``: the language the person last signed in or signed up with; their mail
    #: is written in it.
    lang: Mapped[str] = mapped_column(String(2), default="id")
    #: Whether the person takes mail that is not about an order in progress (``mailing.OPTIONAL_KINDS``);
    #: mail about their orders, payments and account always comes.
    optional_mail: Mapped[bool] = mapped_column(Boolean, default=True, server_default=true())

    village = relationship("Village", lazy="raise")

    @property
    def audit_name(self):
        """How this person is named in audit rows: name and e-mail, as the office reads them."""
        return f"{self.name} ({self.email})"[:160]

    def get_id(self):
        """The id Flask-Login stores in the session and the remember-me cookie: ``id:token``."""
        if not self.session_token:
            self.session_token = secrets.token_hex(16)
        return f"{self.id}:{self.session_token}"

    def session_token_matches(self, token):
        """Whether ``token`` (from a cookie) is this user's current session token."""
        return bool(self.session_token) and hmac.compare_digest(
            self.session_token.encode(), (token or "").encode())

    def rotate_session_token(self):
        """End every session and remember-me cookie of this user, on every device."""
        self.session_token = secrets.token_hex(16)

    def set_password(self, password):
        self.password_hash = hash_password(password)

    def check_password(self, password):
        return password_matches(self.password_hash, password)

    @property
    def is_active(self):
        return self.active

    @property
    def is_confirmed(self):
        """Whether the owner of the e-mail address has proved it (see ``email_confirmed_at``)."""
        return self.email_confirmed_at is not None

    def has_role(self, *roles):
        return self.role in roles

    def __repr__(self):
        return f"<User {self.email} {self.role}>"


class Invitation(db.Model):
    """An invitation for a village member: a link that works once, until it expires."""

    __tablename__ = "invitations"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    email: Mapped[str] = mapped_column(String(254))
    name: Mapped[str] = mapped_column(String(120))
    village_id: Mapped[int] = mapped_column(ForeignKey("villages.id"), index=True)
    #: SHA-256 of the token in the link; the token itself is never stored.
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    invited_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    expires_at = mapped_column(DateTime(timezone=True), nullable=False)
    accepted_at = mapped_column(DateTime(timezone=True))
    created_at = mapped_column(DateTime(timezone=True), default=now_utc)

    village = relationship("Village", lazy="raise")


class Address(db.Model):
    """A shipping address a signed-in buyer saved for next time."""

    __tablename__ = "addresses"
    __table_args__ = (
        # At most one default address per buyer (services.set_default_address keeps it so).
        Index("ix_addresses_one_default", "user_id", unique=True,
              sqlite_where=text("is_default"), postgresql_where=text("is_default")),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(120))
    phone: Mapped[str] = mapped_column(String(20))
    province: Mapped[str] = mapped_column(String(60))
    #: The regency's or city's name, as the list names it (typed freely on older rows).
    regency: Mapped[str] = mapped_column(String(80))
    #: Kemendagri code of the regency or city (``53.09``), chosen from the list; NULL on rows
    #: saved before it was chosen, which the buyer chooses again at checkout.
    regency_code: Mapped[str | None] = mapped_column(String(5))
    #: The district's and the village's or ward's names, as the list names them (typed freely on
    #: older rows: matched by exact name when used, else chosen again by the buyer).
    district: Mapped[str] = mapped_column(String(80))
    village_ward: Mapped[str] = mapped_column(String(80))
    #: One of the postal codes of the village's district (checked when saved).
    postal_code: Mapped[str] = mapped_column(String(5))
    street: Mapped[str] = mapped_column(String(500))
    #: The address checkout fills in by itself (the buyer may choose another there).
    is_default: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    created_at = mapped_column(DateTime(timezone=True), default=now_utc)


class PasswordReset(db.Model):
    """A password-reset link: single use, short-lived; only the token's hash is kept."""

    __tablename__ = "password_resets"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    expires_at = mapped_column(DateTime(timezone=True), nullable=False)
    used_at = mapped_column(DateTime(timezone=True))
    created_at = mapped_column(DateTime(timezone=True), default=now_utc)


class SignUpConfirmation(db.Model):
    """The link mailed after a sign-up: it activates the account with the name and password
    typed on that sign-up. Single use, short-lived; only the token's hash is kept.

    The password goes with the link, not with the account: if a stranger signs up with someone
    else's address first, the owner's own link still activates the account with the owner's
    password, and the stranger's link only ever reaches the owner's mailbox.
    """

    __tablename__ = "sign_up_confirmations"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    #: SHA-256 of the token in the link; the token itself is never stored.
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    #: The name and password hash typed on the sign-up that sent this link.
    name: Mapped[str] = mapped_column(String(120))
    password_hash: Mapped[str] = mapped_column(String(256))
    expires_at = mapped_column(DateTime(timezone=True), nullable=False)
    used_at = mapped_column(DateTime(timezone=True))
    created_at = mapped_column(DateTime(timezone=True), default=now_utc)
