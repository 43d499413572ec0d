"""Telling the office, once, about each product that stopped being sold since the last look
(``flask legality remind``, daily)."""
from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from ..accounts.services import office_addresses
from ..clock import now_utc
from ..extensions import db
from ..mailing import render_mail
from ..outbox.queue import enqueue_mail, new_event_id
from ..products.models import Product
from ..villages.models import Village
from .models import ListingState
from .rule import explain_listing, sellable_product_ids

#: The office reads its notices in Indonesian.
OFFICE_LANGUAGE = "id"
#: Why a product is hidden, clause by clause, as the office reads it.
CLAUSE_TEXT = {
    "published": _l("hidden by the village"),
    "approved": _l("listing not (yet) approved by the office"),
    "village_active": _l("village suspended"),
    "nib": _l("the village's NIB is not verified or has expired"),
    "food_permit": _l("food permit (P-IRT/BPOM MD) missing, not verified or expired"),
    "halal": _l("halal certificate missing, not verified or expired"),
}


def notify_hidden_products(today):
    """Tell the office, once, about each product that was sellable and no longer is.

    The first run only records the current state. The caller commits. Returns lines for the
    operator.
    """
    sellable = set(db.session.scalars(sellable_product_ids(today)))
    states = {s.product_id: s for s in db.session.scalars(select(ListingState))}
    newly_hidden = [pid for pid, state in states.items() if state.sellable and pid not in sellable]
    all_ids = db.session.scalars(select(Product.id)).all()
    moment = now_utc()
    for pid in all_ids:
        now_sellable = pid in sellable
        state = states.get(pid)
        if state is None:
            db.session.add(ListingState(product_id=pid, sellable=now_sellable, changed_at=moment))
        elif state.sellable != now_sellable:
            state.sellable = now_sellable
            state.changed_at = moment
    lines = []
    if newly_hidden:
        reasons = explain_listing(newly_hidden, today)
        products = db.session.execute(
            select(Product, Village).join(Village, Village.id == Product.village_id)
            .where(Product.id.in_(newly_hidden)).order_by(Village.name, Product.name)
        ).all()
        rows = [(product, village, [CLAUSE_TEXT[c] for c in reasons.get(product.id, [])])
                for product, village in products]
        recipients = office_addresses()
        mail = render_mail("office_products_hidden", OFFICE_LANGUAGE, rows=rows, today=today)
        event_id = new_event_id()
        for address in recipients:
            enqueue_mail(address, mail, kind="listing.hidden", event_id=event_id)
        lines.append(f"told the office ({', '.join(recipients) or 'no address'}) about "
                     f"{len(products)} newly hidden product(s)")
    db.session.flush()
    return lines
