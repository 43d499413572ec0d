"""The shop's own pages: which there are, the text each shows, and the office's edits.

A page shows its newest saved text (``PageRevision``); a page the office never saved shows its
default text, read from ``defaults/<address>.<language>.md`` (first line ``# Title``) with the
shop's settings filled in (``{{delivered_after_days}}`` ...), so it says what this shop does.
Saving adds a revision; the rows of a page are its history.
"""
import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from flask import current_app
from flask_babel import format_number, gettext as _, lazy_gettext as _l
from sqlalchemy import func, select

from ..extensions import db
from .markup import MAX_BODY
from .models import PageRevision

#: The shop's pages in the footer's order: public address (``/tentang``) -> link label.
PAGES = {
    "tentang": _l("About the programme"),
    "cara-belanja": _l("How to buy"),
    "cara-bayar": _l("How to pay"),
    "pengiriman": _l("Shipping and delivery"),
    "pengembalian": _l("Returns and complaints"),
    "privasi": _l("Privacy"),
    "syarat": _l("Terms"),
}
#: The languages each page is written in, the shop's first language first.
LANGUAGES = ("id", "en")
MAX_TITLE = 120
DEFAULTS = Path(__file__).resolve().parent / "defaults"
#: Settings a default text may name, as ``{{name}}``.
SETTINGS = {"delivered_after_days": "DELIVERED_AFTER_DAYS", "bank_transfer_hours": "BANK_TRANSFER_HOURS",
            "ack_deadline_hours": "ACK_DEADLINE_HOURS", "office_name": "OFFICE_NAME"}
_PLACEHOLDER = re.compile(r"\{\{(\w+)\}\}")


class PageError(ValueError):
    """An edit that cannot be saved; the message is for the office."""


class PageConflict(PageError):
    """Another edit of the page was saved after this one's editor opened it."""


@dataclass(frozen=True)
class PageText:
    """What a page shows, in both languages. ``revision`` is None for the default text."""

    slug: str
    title_id: str
    body_id: str
    title_en: str
    body_en: str
    revision: PageRevision | None = None

    @property
    def revision_id(self):
        """The revision shown (0: the default text); an edit names it, so two edits never cross."""
        return self.revision.id if self.revision is not None else 0

    def title(self, lang):
        return self.title_en if lang == "en" else self.title_id

    def body(self, lang):
        return self.body_en if lang == "en" else self.body_id

    def same_text(self, other):
        return (self.title_id, self.body_id, self.title_en, self.body_en) == \
            (other.title_id, other.body_id, other.title_en, other.body_en)


@lru_cache(maxsize=None)
def _default_file(slug, lang):
    """(title, body) of a default text, as written in its file."""
    lines = (DEFAULTS / f"{slug}.{lang}.md").read_text(encoding="utf-8").split("\n")
    title = lines[0].removeprefix("# ").strip()
    return title, "\n".join(lines[1:]).strip() + "\n"


def _fill(text, config):
    """``{{name}}`` of ``SETTINGS`` replaced by this shop's setting."""
    return _PLACEHOLDER.sub(lambda m: str(config[SETTINGS[m.group(1)]]) if m.group(1) in SETTINGS
                            else m.group(0), text)


def default_text(slug):
    """The page's default text with this shop's settings filled in."""
    config = current_app.config
    (title_id, body_id), (title_en, body_en) = (_default_file(slug, lang) for lang in LANGUAGES)
    return PageText(slug, _fill(title_id, config), _fill(body_id, config), _fill(title_en, config),
                    _fill(body_en, config))


def _of(revision):
    return PageText(revision.slug, revision.title_id, revision.body_id, revision.title_en, revision.body_en,
                    revision)


def page_text(slug):
    """What page ``slug`` shows now: its newest revision, else its default text. One query."""
    if slug not in PAGES:
        raise LookupError(slug)
    revision = db.session.scalars(select(PageRevision).where(PageRevision.slug == slug)
                                  .order_by(PageRevision.id.desc()).limit(1)).first()
    return _of(revision) if revision is not None else default_text(slug)


def latest_revisions():
    """Every page's newest revision (pages never saved are absent): slug -> revision. One query."""
    newest = select(func.max(PageRevision.id)).group_by(PageRevision.slug)
    return {r.slug: r for r in db.session.scalars(select(PageRevision).where(PageRevision.id.in_(newest)))}


def page_history(slug, limit=50):
    """The page's saved revisions, newest first."""
    return db.session.scalars(select(PageRevision).where(PageRevision.slug == slug)
                              .order_by(PageRevision.id.desc()).limit(limit)).all()


def _clean_title(value):
    return " ".join((value or "").split())


def _clean_body(value):
    """Line ends as ``\\n``, no spaces at the ends of the text; what is inside stays as typed."""
    return (value or "").replace("\r\n", "\n").replace("\r", "\n").strip() + "\n"


def save_page(slug, *, title_id, body_id, title_en, body_en, editor_id, editor_name, replaces):
    """Save a new text of page ``slug`` (both languages) by the office, as a new revision.

    ``replaces`` is the revision id the editor started from (0: the default text): if another
    edit was saved meanwhile, nothing is saved and ``PageConflict`` says so (two saves from the same
    revision at the same moment meet the unique key instead: ``IntegrityError``). Returns the
    new revision, or None when the text is what the page already shows."""
    current = page_text(slug)
    if current.revision_id != replaces:
        raise PageConflict(slug)
    new = PageText(slug, _clean_title(title_id), _clean_body(body_id), _clean_title(title_en),
                   _clean_body(body_en))
    for title, body in ((new.title_id, new.body_id), (new.title_en, new.body_en)):
        if not title or not body.strip():
            raise PageError(_("Give the page a title and a text in both languages."))
        if len(title) > MAX_TITLE or len(body) > MAX_BODY:
            raise PageError(_("A title may have up to %(title)s characters and a text up to %(body)s.",
                              title=MAX_TITLE, body=format_number(MAX_BODY)))
    if new.same_text(current):
        return None
    revision = PageRevision(slug=slug, title_id=new.title_id, body_id=new.body_id, title_en=new.title_en,
                            body_en=new.body_en, editor_id=editor_id, editor_name=editor_name[:160],
                            replaces_id=replaces)
    db.session.add(revision)
    db.session.flush()
    return revision
