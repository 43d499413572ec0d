"""Categories, products and their photos."""
import secrets
from sqlalchemy import (BigInteger, Boolean, CheckConstraint, DateTime, ForeignKey, Index, Integer, String,
                        Text, UniqueConstraint)
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


class Product(db.Model):
    __tablename__ = "products"
    __table_args__ = (
        CheckConstraint("price_idr >= 0", name="price_idr_not_negative"),
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
