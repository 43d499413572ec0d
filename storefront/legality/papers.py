"""Which current papers stand behind each product, for pages and feeds.

Two queries for any number of products: the current papers of their villages, then which
products those papers list. What "current" means comes from ``Certificate.is_current``.
"""
from collections import defaultdict

from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from ..extensions import db
from .models import BADGE_KINDS, FOOD_PERMIT_KINDS, Certificate, certificate_products

#: kind -> (label, issuing body, where a buyer can check the number).
KIND_INFO = {
    "nib": (_l("Business number (NIB)"), "OSS RBA", "https://oss.go.id"),
    "pirt": (_l("Home-industry food permit (P-IRT)"), None, None),
    "bpom_md": (_l("BPOM registration (MD)"), "Badan POM RI", "https://cekbpom.pom.go.id"),
    "halal": (_l("Halal certificate"), "BPJPH", "https://bpjph.halal.go.id"),
    "trademark": (_l("Registered trademark"), "DJKI", "https://pdki-indonesia.dgip.go.id"),
    "geographical_indication": (
        _l("Geographical indication"), "DJKI", "https://pdki-indonesia.dgip.go.id"),
}
KIND_ORDER = {kind: i for i, kind in enumerate(KIND_INFO)}


def kind_label(kind):
    return KIND_INFO[kind][0]


def issuer(certificate, regency_name):
    """The body that issued a paper; P-IRT comes from the regency's government."""
    if certificate.kind == "pirt":
        if regency_name.startswith("Kota "):
            return f"Pemerintah {regency_name}"
        return f"Pemerintah Kabupaten {regency_name}"
    return KIND_INFO[certificate.kind][1]


def check_url(kind):
    return KIND_INFO[kind][2]


def papers_by_product(products, on):
    """Map product id -> the current papers that make it sellable, plus its badges.

    Only papers held by the product's own village are considered.
    """
    products = list(products)
    village_ids = {p.village_id for p in products}
    if not products:
        return {}
    certificates = db.session.scalars(
        select(Certificate).where(
            Certificate.village_id.in_(village_ids), Certificate.is_current(on))
    ).all()
    by_id = {c.id: c for c in certificates}
    listed = defaultdict(set)  # certificate id -> product ids it lists
    if by_id:
        rows = db.session.execute(
            select(certificate_products.c.certificate_id, certificate_products.c.product_id)
            .where(certificate_products.c.certificate_id.in_(by_id))
        )
        for certificate_id, product_id in rows:
            listed[certificate_id].add(product_id)

    result = {}
    for product in products:
        papers = []
        is_food = product.category.is_food
        for cert in certificates:
            if cert.village_id != product.village_id:
                continue
            covers = product.id in listed[cert.id]
            if cert.kind == "nib":
                papers.append(cert)
            elif cert.kind in FOOD_PERMIT_KINDS and is_food and covers:
                papers.append(cert)
            elif cert.kind == "halal" and is_food and not product.non_halal and covers:
                papers.append(cert)
            elif cert.kind in BADGE_KINDS and (covers or not listed[cert.id]):
                papers.append(cert)
        papers.sort(key=lambda c: (KIND_ORDER[c.kind], c.number))
        result[product.id] = papers
    return result


def village_wide_papers(village_id, on):
    """A village's current papers that name the group, not a product (NIB, trademarks)."""
    stmt = (
        select(Certificate)
        .where(Certificate.village_id == village_id, Certificate.is_current(on),
               Certificate.kind.in_(("nib", "trademark", "geographical_indication")))
        .order_by(Certificate.kind, Certificate.number)
    )
    return db.session.scalars(stmt).all()


def papers_for_proof(product):
    """Every paper a shopper may want to check for ``product``, whatever its state.

    The village's NIB, papers listing the product, and badges (trademark, geographical
    indication) that list no product and so stand for the whole group, as on the product
    page. Rejected submissions are left out: they were never in force.
    """
    certificates = db.session.scalars(
        select(Certificate).where(Certificate.village_id == product.village_id,
                                  Certificate.status != "rejected")).all()
    listed = defaultdict(set)
    if certificates:
        rows = db.session.execute(
            select(certificate_products.c.certificate_id, certificate_products.c.product_id)
            .where(certificate_products.c.certificate_id.in_([c.id for c in certificates])))
        for certificate_id, product_id in rows:
            listed[certificate_id].add(product_id)
    papers = [
        c for c in certificates
        if c.kind == "nib" or product.id in listed[c.id]
        or (c.kind in BADGE_KINDS and not listed[c.id])
    ]
    return sorted(papers, key=lambda c: (KIND_ORDER[c.kind], -(c.issued_on.toordinal())))


def paper_state(certificate, on):
    """``valid``, ``expired``, ``pending``, ``rejected`` or ``revoked``, as a shopper reads it."""
    if certificate.status == "verified":
        return "valid" if certificate.is_current(on) else "expired"
    return certificate.status
