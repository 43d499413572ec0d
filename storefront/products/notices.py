"""Telling a village what the office decided about one of its listings: a new product approved or
refused (with the reason), or a proposed change to a product approved or refused. In
Indonesian, through the outbox, in the decision's transaction."""
from flask import current_app

from ..extensions import db
from ..mailing import render_mail
from ..outbox.queue import enqueue_mail
from ..urls import external_url
from ..villages.models import Village

#: Villages read their mail in Indonesian.
VILLAGE_LANGUAGE = "id"


def tell_village_listing_decided(product, decision, reason="", *, change=False):
    """Queue the village's mail about the office's ``decision`` (``approved`` or ``rejected``) on
    ``product``'s listing, or with ``change`` on a change it proposed; nothing when the village
    has no e-mail address. Returns the event id."""
    village = db.session.get(Village, product.village_id)
    if village is None or not village.email:
        return None
    mail = render_mail("village_listing_decided", VILLAGE_LANGUAGE, product=product, village=village,
                       decision=decision, reason=reason, change=change,
                       link=external_url("portal.edit_product", product_id=product.id),
                       office=current_app.config["OFFICE_NAME"])
    kind = f"listing.{'change_' if change else ''}{decision}"
    return enqueue_mail(village.email, mail, kind=kind, village_id=village.id)
