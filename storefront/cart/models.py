"""Carts: one per signed-in buyer, or per guest browser (found by a random token in a cookie)."""
from sqlalchemy import CheckConstraint, DateTime, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..clock import now_utc
from ..extensions import db


class Cart(db.Model):
    __tablename__ = "carts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    #: Guests: SHA-256 of the random token in their cart cookie.
    token_hash: Mapped[str | None] = mapped_column(String(64), unique=True)
    #: Signed-in buyers have exactly one cart.
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), unique=True)
    created_at = mapped_column(DateTime(timezone=True), default=now_utc)
    updated_at = mapped_column(DateTime(timezone=True), default=now_utc, onupdate=now_utc)

    items = relationship("CartItem", lazy="raise", cascade="all, delete-orphan",
                         order_by="CartItem.id", back_populates="cart")


class CartItem(db.Model):
    __tablename__ = "cart_items"
    __table_args__ = (
        UniqueConstraint("cart_id", "product_id"),
        CheckConstraint("quantity > 0", name="quantity_positive"),
        CheckConstraint("price_seen_idr >= 0", name="price_seen_idr_not_negative"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    cart_id: Mapped[int] = mapped_column(ForeignKey("carts.id", ondelete="CASCADE"), index=True)
    product_id: Mapped[int] = mapped_column(ForeignKey("products.id", ondelete="CASCADE"))
    quantity: Mapped[int] = mapped_column(Integer)
    #: The price the buyer last saw and accepted; a different current price must be accepted again.
    price_seen_idr: Mapped[int] = mapped_column(Integer)
    added_at = mapped_column(DateTime(timezone=True), default=now_utc)

    cart = relationship("Cart", back_populates="items", lazy="raise")
    product = relationship("Product", lazy="raise")
