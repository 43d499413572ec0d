"""The account mails (sign-up confirmation, "someone tried to sign up", password reset,
invitation of a village member). Each is an outbox row written in the caller's transaction,
so it leaves exactly when the change it reports is committed, and the request never waits for
an SMTP server (which would also let the answer's timing tell whether an account exists).
Links are built from ``PUBLIC_URL``; the text is in the recipient's language."""
from flask import current_app

from ..mailing import render_mail
from ..outbox.queue import enqueue_mail
from ..urls import external_url

SHOP = "Produk Desa NTT"


def queue_sign_up_mail(outcome, *, hours, lang, next_url=None):
    """Queue what a sign-up (``services.SignUp``) owes the address: the confirmation link for a
    new or unconfirmed account, a notice to the owner of a confirmed one, nothing for a
    suspended account. ``lang``: the language of the sign-up page. Returns the event id, or None."""
    user = outcome.user
    if outcome.kind in ("new", "unconfirmed"):
        values = {"next": next_url} if next_url else {}
        link = external_url("accounts.confirm_sign_up", token=outcome.token, **values)
        mail = render_mail("account_confirm", lang, shop=SHOP, link=link, hours=hours)
        return enqueue_mail(user.email, mail, kind="account.confirm")
    if outcome.kind == "exists":
        mail = render_mail("account_exists", user.lang, shop=SHOP, name=user.name,
                           sign_in_link=external_url("accounts.sign_in"),
                           reset_link=external_url("accounts.forgot_password"))
        return enqueue_mail(user.email, mail, kind="account.exists")
    return None


def queue_reset_mail(user, token, *, minutes):
    """Queue the password-reset link for ``user``; returns the outbox event id."""
    link = external_url("accounts.reset_password", token=token)
    # An unconfirmed account's name was typed by whoever signed up, perhaps a stranger.
    mail = render_mail("password_reset", user.lang, shop=SHOP, link=link, minutes=minutes,
                       name=user.name if user.is_confirmed else None)
    return enqueue_mail(user.email, mail, kind="account.password_reset")


def queue_invitation_mail(invitation, village, token, *, days):
    """Queue a village member's invitation: a link that works once, for ``days`` days.
    Village members read the shop in Indonesian. Returns the outbox event id."""
    link = external_url("accounts.accept_invitation", token=token)
    mail = render_mail("member_invitation", "id", invitation=invitation, village=village, link=link,
                       days=days, shop=SHOP, office=current_app.config["OFFICE_NAME"])
    # Not in the village's delivery log: the invitation is for the invitee alone.
    return enqueue_mail(invitation.email, mail, kind="account.invitation")
