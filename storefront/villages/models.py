"""A village (desa) and the producer group that sells through the shop."""
from sqlalchemy import Boolean, CheckConstraint, DateTime, Index, Integer, String, Text, false as sa_false
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..clock import now_utc
from ..extensions import db
from .regions import regency_name

#: Producer group types: code -> (Indonesian, English) label.
GROUP_TYPES = {
    "bumdes": ("BUMDes", "Village-owned enterprise (BUMDes)"),
    "koperasi": ("Koperasi", "Cooperative"),
    "kelompok_wanita": ("Kelompok Wanita", "Women's group"),
    "kelompok_tani": ("Kelompok Tani", "Farmers' group"),
    "ukm": ("UMKM", "Small business"),
}


class Village(db.Model):
    __tablename__ = "villages"
    __table_args__ = (
        CheckConstraint(
            "group_type IN ('bumdes', 'koperasi', 'kelompok_wanita', 'kelompok_tani', 'ukm')",
            name="group_type_known",
        ),
        # The catalogue's village filter lists the first villages by name (catalog/browse.py).
        Index("ix_villages_name", "name"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    #: URL name, e.g. ``beiposo-bajawa``.
    slug: Mapped[str] = mapped_column(String(80), unique=True)
    #: The desa's name as written locally.
    name: Mapped[str] = mapped_column(String(120))
    #: Home Affairs code of the regency, e.g. ``53.09`` for Ngada.
    regency_code: Mapped[str] = mapped_column(String(5), index=True)
    #: Kecamatan.
    district: Mapped[str] = mapped_column(String(120), default="")
    #: The producer group that makes and ships the goods.
    group_name: Mapped[str] = mapped_column(String(160))
    #: One of ``GROUP_TYPES``.
    group_type: Mapped[str] = mapped_column(String(20))
    story: Mapped[str] = mapped_column(Text, default="")
    #: E.164, validated with ``phonenumbers`` (``+62...``).
    phone: Mapped[str | None] = mapped_column(String(20))
    email: Mapped[str | None] = mapped_column(String(254))
    #: Key of the generated or uploaded photo in the media store.
    photo: Mapped[str | None] = mapped_column(String(120))
    #: Whether the group accepts cash on delivery for its parcels.
    cod_allowed: Mapped[bool] = mapped_column(Boolean, default=False, server_default=sa_false())
    #: A suspended village and everything it sells disappear from the shop.
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    #: The secret in the village's order feed URLs; the village can rotate it.
    feed_token: Mapped[str | None] = mapped_column(String(64), unique=True)
    created_at = mapped_column(DateTime(timezone=True), default=now_utc)
    updated_at = mapped_column(DateTime(timezone=True), default=now_utc, onupdate=now_utc, index=True)

    products = relationship("Product", back_populates="village", lazy="raise")

    @property
    def regency_name(self):
        return regency_name(self.regency_code)

    def group_type_label(self, locale="id"):
        labels = GROUP_TYPES.get(self.group_type, (self.group_type, self.group_type))
        return labels[1] if locale == "en" else labels[0]

    def __repr__(self):
        return f"<Village {self.slug}>"
