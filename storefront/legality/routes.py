"""Public proof of legality (``/verifikasi/<code>``, QR labels) and the private scans."""
import io

from flask import Blueprint, abort, make_response, render_template
from flask_login import current_user
from sqlalchemy import select

from ..access import may_see_village_papers
from ..clock import today_wita
from ..extensions import db
from ..listing.rule import explain_listing
from ..products.models import Product
from ..villages.models import Village
from .labels import proof_qr
from .models import Certificate, CertificateScan
from .papers import issuer, paper_state, papers_for_proof
from .scans import scan_response

bp = Blueprint("legality", __name__)


def product_by_code(code):
    product = db.session.scalars(
        select(Product).where(Product.verification_code == code.strip().upper())).one_or_none()
    if product is None:
        abort(404)
    return product


@bp.get("/verifikasi/<code>")
def proof(code):
    """A product's legality today, for a shopper holding its label: for hidden products too."""
    product = product_by_code(code)
    village = db.session.get(Village, product.village_id)
    today = today_wita()
    failing = explain_listing([product.id], today)[product.id]
    papers = papers_for_proof(product)
    return render_template(
        "legality/proof.html", product=product, village=village, papers=papers,
        sellable=not failing, failing=failing, today=today,
        states={p.id: paper_state(p, today) for p in papers},
        issuers={p.id: issuer(p, village.regency_name) for p in papers},
    )


@bp.get("/verifikasi/<code>/label.svg")
def label_svg(code):
    """A QR code (SVG) that opens the product's proof page, for packaging and shop shelves."""
    product = product_by_code(code)
    out = io.BytesIO()
    proof_qr(product).save(out, kind="svg", scale=8, border=4,
                      title=f"{product.name} — {product.verification_code}")
    response = make_response(out.getvalue())
    response.mimetype = "image/svg+xml"
    response.headers["Cache-Control"] = "public, max-age=86400"
    return response


@bp.get("/dokumen/scan/<id:scan_id>")
def scan(scan_id):
    """A paper's scan, for its own village's members and the office only; never as HTML."""
    row = db.session.execute(
        select(CertificateScan, Certificate.village_id)
        .join(Certificate, Certificate.id == CertificateScan.certificate_id)
        .where(CertificateScan.id == scan_id)).one_or_none()
    if row is None or not may_see_village_papers(current_user, row.village_id):
        abort(404)
    item = row.CertificateScan
    return scan_response(item.key, item.content_type, f"scan-{item.id}.{item.key.rpartition('.')[2]}")
