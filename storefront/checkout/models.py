"""Shipping rates per kilogram and destination zone, set by the office."""
from sqlalchemy import CheckConstraint, DateTime, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from ..clock import now_utc
from ..extensions import db

ZONES = ("same_regency", "ntt", "indonesia")


class ShippingRate(db.Model):
    __tablename__ = "shipping_rates"
    __table_args__ = (
        CheckConstraint("rate_per_kg_idr >= 0", name="rate_per_kg_idr_not_negative"),
        CheckConstraint("zone IN ('same_regency', 'ntt', 'indonesia')", name="zone_known"),
    )

    #: ``same_regency``, ``ntt`` (elsewhere in NTT) or ``indonesia`` (elsewhere).
    zone: Mapped[str] = mapped_column(String(20), primary_key=True)
    rate_per_kg_idr: Mapped[int] = mapped_column(Integer)
    updated_at = mapped_column(DateTime(timezone=True), default=now_utc, onupdate=now_utc)
