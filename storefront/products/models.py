"""Categories, products and their photos."""
import secrets

from sqlalchemy import (BigInteger, Boolean, CheckConstraint, DateTime, ForeignKey, Index, Integer, String,
                        Text, UniqueConstraint, text)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..clock import now_utc
from ..extensions import db

#: Crockford's base32: no I, L, O or U, so a code read off a label cannot be misread.
CODE_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"


def new_verification_code():
    """A short public code for a product's legality page and QR label, e.g. ``K7M2QX9D``."""
    return "".join(secrets.choice(CODE_ALPHABET) for _ in range(8))


class Category(db.Model):
    __tablename__ = "categories"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    #: Stable code used by imports and URLs, e.g. ``kopi``.
    code: Mapped[str] = mapped_column(String(40), unique=True)
    name_id: Mapped[str] = mapped_column(String(80))
    name_en: Mapped[str] = mapped_column(String(80))
    #: Food needs a food permit and (unless non-halal) a halal certificate.
    is_food: Mapped[bool] = mapped_column(Boolean)
    #: Display order.
    position: Mapped[int] = mapped_column(Integer, default=0)

    def name(self, locale="id"):
        return self.name_en if locale == "en" else self.name_id

    def __repr__(self):
        return f"<Category {self.code}>"


#: The office's review of what a product is (``products/review.py``).
REVIEW_STATUSES = ("pending", "approved", "rejected")
#: A proposed change to an approved product: waiting, taken, refused, taken back by the village,
#: or replaced by a newer proposal of the village.
REVISION_STATUSES = ("pending", "approved", "rejected", "withdrawn", "superseded")


def _in(values):
    return "(" + ", ".join(f"'{v}'" for v in values) + ")"


class Product(db.Model):
    __tablename__ = "products"
    __table_args__ = (
        CheckConstraint("price_idr >= 0", name="price_idr_not_negative"),
        CheckConstraint(f"review_status IN {_in(REVIEW_STATUSES)}", name="review_status_known"),
        CheckConstraint("stock >= 0", name="stock_not_negative"),
        CheckConstraint("weight_grams > 0", name="weight_grams_positive"),
        # Keyset pagination walks the catalogue by each sort order and id (catalog/paging.py).
        Index("ix_products_created_at_id", "created_at", "id"),
        Index("ix_products_price_idr_id", "price_idr", "id"),
        Index("ix_products_name_id", "name", "id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    village_id: Mapped[int] = mapped_column(ForeignKey("villages.id"), index=True)
    category_id: Mapped[int] = mapped_column(ForeignKey("categories.id"), index=True)
    #: URL name, unique across the shop.
    slug: Mapped[str] = mapped_column(String(120), unique=True)
    #: Stock keeping unit, unique across the shop; partner feeds key on it.
    sku: Mapped[str] = mapped_column(String(40), unique=True)
    name: Mapped[str] = mapped_column(String(160))
    description: Mapped[str] = mapped_column(Text, default="")
    #: Whole rupiah.
    price_idr: Mapped[int] = mapped_column(Integer)
    weight_grams: Mapped[int] = mapped_column(Integer)
    stock: Mapped[int] = mapped_column(Integer, default=0)
    #: The village's own switch; papers decide the rest.
    published: Mapped[bool] = mapped_column(Boolean, default=True)
    #: Declared non-halal (e.g. pork se'i): needs no halal paper, always labelled.
    non_halal: Mapped[bool] = mapped_column(Boolean, default=False)
    #: Public code printed on the QR label; ``/verifikasi/<code>`` shows the product's papers.
    verification_code: Mapped[str] = mapped_column(
        String(12), unique=True, default=new_verification_code)
    #: One of ``REVIEW_STATUSES``. A village's new listing waits (``pending``) until the office
    #: approves what it is; only ``approved`` products can be sold. Changes to what an approved
    #: product is wait as a ``ProductRevision`` while this version stays on sale. Imports are
    #: the office's own act and arrive approved.
    review_status: Mapped[str] = mapped_column(String(10), default="pending")
    created_at = mapped_column(DateTime(timezone=True), default=now_utc, index=True)
    updated_at = mapped_column(DateTime(timezone=True), default=now_utc, onupdate=now_utc, index=True)

    village = relationship("Village", back_populates="products", lazy="raise")
    category = relationship("Category", lazy="raise")
    photos = relationship(
        "ProductPhoto", order_by="ProductPhoto.position", lazy="raise",
        cascade="all, delete-orphan", back_populates="product",
    )

    @property
    def in_stock(self):
        return self.stock > 0

    def __repr__(self):
        return f"<Product {self.sku}>"


class ProductRevision(db.Model):
    """What a village proposes an approved product should become: the fields that say what the
    product is, in full. Never edited: a newer proposal supersedes it. Price, stock and the
    published switch are not here: those are the village's to change at once."""

    __tablename__ = "product_revisions"
    __table_args__ = (
        CheckConstraint(f"status IN {_in(REVISION_STATUSES)}", name="status_known"),
        CheckConstraint("weight_grams > 0", name="weight_grams_positive"),
        # At most one proposal waits per product.
        Index("ix_product_revisions_one_pending", "product_id", unique=True,
              sqlite_where=text("status = 'pending'"), postgresql_where=text("status = 'pending'")),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    product_id: Mapped[int] = mapped_column(ForeignKey("products.id", ondelete="CASCADE"), index=True)
    #: One of ``REVISION_STATUSES``.
    status: Mapped[str] = mapped_column(String(12), default="pending")
    name: Mapped[str] = mapped_column(String(160))
    category_id: Mapped[int] = mapped_column(ForeignKey("categories.id"))
    description: Mapped[str] = mapped_column(Text, default="")
    weight_grams: Mapped[int] = mapped_column(Integer)
    non_halal: Mapped[bool] = mapped_column(Boolean, default=False)
    #: JSON list of the media keys of the photos the product would show, in order: kept ones
    #: and newly uploaded ones (stored, but shown nowhere public until approved).
    photo_keys: Mapped[str] = mapped_column(Text, default="[]")
    #: The office's reason when it refused the proposal; the village reads it.
    reason: Mapped[str] = mapped_column(Text, default="")
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at = mapped_column(DateTime(timezone=True), default=now_utc)
    decided_at = mapped_column(DateTime(timezone=True))

    product = relationship("Product", lazy="raise")
    category = relationship("Category", lazy="raise")


class ListingEvent(db.Model):
    """One step in the review of a listing or of a proposed change: who, when, from, to, why."""

    __tablename__ = "listing_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    product_id: Mapped[int] = mapped_column(ForeignKey("products.id", ondelete="CASCADE"), index=True)
    #: Set when the step concerns a proposed change rather than the listing itself.
    revision_id: Mapped[int | None] = mapped_column(ForeignKey("product_revisions.id", ondelete="SET NULL"))
    #: Empty when the listing or proposal was created.
    from_status: Mapped[str | None] = mapped_column(String(12))
    to_status: Mapped[str] = mapped_column(String(12))
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    #: The actor as a person reads it.
    actor_name: Mapped[str] = mapped_column(String(160))
    reason: Mapped[str] = mapped_column(Text, default="")
    created_at = mapped_column(DateTime(timezone=True), default=now_utc)


class ProductPhoto(db.Model):
    __tablename__ = "product_photos"
    __table_args__ = (UniqueConstraint("product_id", "position"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    product_id: Mapped[int] = mapped_column(ForeignKey("products.id", ondelete="CASCADE"))
    position: Mapped[int] = mapped_column(Integer, default=0)
    #: Media key; the files are ``<key>-s.jpg`` (small) and ``<key>-l.jpg`` (large).
    key: Mapped[str] = mapped_column(String(120))
    alt: Mapped[str] = mapped_column(String(200), default="")

    product = relationship("Product", back_populates="photos", lazy="raise")


class CatalogueState(db.Model):
    """One row: how many times the data behind the public pages has changed.

    Database triggers (migration ``c5a7e3d1b2f0``) add one to ``version`` in every transaction
    that writes products, their photos, villages, categories, certificates or a paper's
    product list, whoever writes them (the shop, an import, SQL by hand). On PostgreSQL the
    triggers are deferred to commit time, so the new number becomes visible together with the
    change it announces, and two transactions never take the row in opposite order.
    ``listing_version`` moves on the same changes except a product's stock alone.
    """

    __tablename__ = "catalogue_state"
    __table_args__ = (CheckConstraint("id = 1", name="single_row"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    #: Moves on every committed change of the catalogue; never goes back.
    version: Mapped[int] = mapped_column(BigInteger, default=0)
    #: Moves when what is listed may have changed: not when only a product's stock did (every
    #: order changes stock; counts and rankings over the catalogue need not be redone for it).
    listing_version: Mapped[int] = mapped_column(BigInteger, default=0)
    #: When it last moved (UTC): the pages' Last-Modified.
    changed_at = mapped_column(DateTime(timezone=True), default=now_utc)
