"""Telling a village what the office decided about one of its papers: verified, rejected (with the
reason) or revoked (with the reason). In Indonesian, through the outbox, in the decision's
transaction, so the mail exists exactly when the decision does."""
from flask import current_app
from sqlalchemy import select

from ..extensions import db
from ..mailing import render_mail
from ..outbox.queue import enqueue_mail
from ..products.models import Product
from ..urls import external_url
from ..villages.models import Village
from .models import certificate_products
from .papers import kind_label

#: Villages read their mail in Indonesian.
VILLAGE_LANGUAGE = "id"
#: Decisions a village is told of.
DECISIONS = ("verified", "rejected", "revoked")


def tell_village_paper_decided(certificate, reason=""):
    """Queue the village's mail about the office's decision on ``certificate`` (already moved to
    its new status); nothing when the village has no e-mail address. Returns the event id."""
    if certificate.status not in DECISIONS:
        raise ValueError(certificate.status)
    village = db.session.get(Village, certificate.village_id)
    if village is None or not village.email:
        return None
    products = db.session.scalars(
        select(Product.name).join(certificate_products, certificate_products.c.product_id == Product.id)
        .where(certificate_products.c.certificate_id == certificate.id).order_by(Product.name)).all()
    mail = render_mail("village_paper_decided", VILLAGE_LANGUAGE, certificate=certificate, village=village,
                       kind=kind_label(certificate.kind), products=products, reason=reason,
                       link=external_url("portal.paper", certificate_id=certificate.id),
                       office=current_app.config["OFFICE_NAME"])
    return enqueue_mail(village.email, mail, kind=f"paper.{certificate.status}", village_id=village.id)
