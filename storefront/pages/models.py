"""Saved texts of the shop's own pages (about, how to buy, privacy, ...)."""
from sqlalchemy import DateTime, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from ..clock import now_utc
from ..extensions import db


class PageRevision(db.Model):
    """One saved text of a shop page, in both languages. Rows are never changed: an edit adds
    a row, so a page's rows are its history (who, when), and its newest row is what it shows."""

    __tablename__ = "page_revisions"
    __table_args__ = (
        Index("ix_page_revisions_slug_id", "slug", "id"),
        # One edit per revision it started from: two saves from the same text never both land.
        UniqueConstraint("slug", "replaces_id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    #: The page's public address, e.g. ``tentang`` for ``/tentang`` (``services.PAGES``).
    slug: Mapped[str] = mapped_column(String(40))
    #: Title and Markdown text in Indonesian, the shop's first language.
    title_id: Mapped[str] = mapped_column(String(120))
    body_id: Mapped[str] = mapped_column(Text)
    #: Title and Markdown text in English.
    title_en: Mapped[str] = mapped_column(String(120))
    body_en: Mapped[str] = mapped_column(Text)
    #: The revision this one replaced, which its editor saw (0: the page's default text).
    replaces_id: Mapped[int] = mapped_column(Integer)
    #: Who saved it; the name stays when the account goes.
    editor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    #: The editor as the office reads it: name and e-mail (``User.audit_name``).
    editor_name: Mapped[str] = mapped_column(String(160))
    created_at = mapped_column(DateTime(timezone=True), default=now_utc)
