"""QR labels: each product's code points at its public legality page, ``/verifikasi/<code>``, on
the shop's public address (``PUBLIC_URL``), for packaging, shop shelves and printed sheets."""
import segno
from sqlalchemy import select

from ..extensions import db
from ..products.models import Product
from ..urls import external_url


def proof_qr(product):
    """The QR code (a segno object) of ``product``'s proof page."""
    return segno.make(external_url("legality.proof", code=product.verification_code), error="m")


def label_rows(village):
    """``(product, inline SVG)`` for every product of ``village``, by name: one label each."""
    products = db.session.scalars(
        select(Product).where(Product.village_id == village.id).order_by(Product.name)).all()
    return [(product, proof_qr(product).svg_inline(scale=3, border=2, omitsize=False))
            for product in products]
