"""Printable sheets of QR labels, one per product, pointing at ``/verifikasi/<code>``."""
from flask import render_template
from sqlalchemy import select

from ..catalog.models import Product
from ..extensions import db
from .routes import qr_svg_inline


def label_sheet(village):
    """An A4-printable page of labels for all of ``village``'s products."""
    products = db.session.scalars(
        select(Product).where(Product.village_id == village.id).order_by(Product.name)).all()
    labels = [(product, qr_svg_inline(product)) for product in products]
    return render_template("legality/labels.html", village=village, labels=labels)
