"""What the listing rule remembers between runs of ``flask legality remind``."""
from sqlalchemy import Boolean, DateTime, ForeignKey
from sqlalchemy.orm import Mapped, mapped_column

from ..clock import now_utc
from ..extensions import db


class ListingState(db.Model):
    """Whether a product was sellable when ``flask legality remind`` last looked.

    Lets the office be told once about each product that became hidden.
    """

    __tablename__ = "listing_states"

    product_id: Mapped[int] = mapped_column(
        ForeignKey("products.id", ondelete="CASCADE"), primary_key=True)
    sellable: Mapped[bool] = mapped_column(Boolean)
    changed_at = mapped_column(DateTime(timezone=True), default=now_utc)
