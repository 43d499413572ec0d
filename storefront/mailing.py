"""The mail the shop sends, written from templates in the recipient's language.

Each mail is one template, ``templates/email/<name>.txt``, with a ``subject`` and a ``body``
block (plain text: nothing is escaped, so a comma or an ampersand in a village's name arrives as
typed), and optionally ``templates/email/<name>.html`` for an HTML part where a table helps.
Texts are gettext msgids, so the mail comes out in Indonesian or English as the recipient reads
the shop. Mail is never sent from here: ``outbox.queue.enqueue_mail`` writes it to the outbox in
the caller's transaction, and the outbox worker sends it.
"""
from dataclasses import dataclass

from flask import current_app
from flask_babel import force_locale
from jinja2 import TemplateNotFound

#: Languages a mail can be written in; anything else gets the shop's default (Indonesian).
LANGUAGES = ("id", "en")
#: Kinds of mail (``OutboxMessage.kind``) that a person may turn off on their account page
#: (``User.optional_mail``): mail that is not about an order in progress, such as news from the
#: shop. The shop sends none yet. Mail about an order (placed, paid, each parcel's moves, the
#: payment deadline, its end), an account (sign-up, password) or a village's papers, listings
#: and money is never optional.
OPTIONAL_KINDS = frozenset()


@dataclass(frozen=True)
class Mail:
    subject: str
    text: str
    html: str | None = None


def mail_language(lang):
    return lang if lang in LANGUAGES else "id"


def _block(template, name, context):
    return "".join(template.blocks[name](template.new_context(context)))


def is_wanted(kind, optional_mail=True):
    """Whether a mail of ``kind`` goes to someone whose ``optional_mail`` choice is as given."""
    return optional_mail or kind not in OPTIONAL_KINDS


def render_mail(template_name, lang, **context):
    """The mail ``template_name`` for ``context``, in ``lang`` (``id`` or ``en``)."""
    env = current_app.jinja_env
    with force_locale(mail_language(lang)):
        template = env.get_template(f"email/{template_name}.txt")
        subject = " ".join(_block(template, "subject", context).split())
        text = _block(template, "body", context).strip("\n") + "\n"
        try:
            html = env.get_template(f"email/{template_name}.html").render(context)
        except TemplateNotFound:
            html = None
    return Mail(subject, text, html)
