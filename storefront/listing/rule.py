"""The listing rule: the one definition of "sellable", used by every page, feed and API.

A product is sellable on date D (today in WITA) when
1. it is published, the office has approved the listing (what the product is), and its village
   is active;
2. its village holds a verified NIB, unexpired on D;
3. if its category is food: a verified, unexpired P-IRT or BPOM MD of the same village
   covers it and, unless declared non-halal, so does a verified, unexpired halal certificate
   of the same village.
A paper of another village never counts, whatever products it lists.
"""
from sqlalchemy import and_, exists, literal, not_, or_, select
from sqlalchemy.orm import contains_eager

from ..clock import today_wita
from ..extensions import db
from ..legality.models import FOOD_PERMIT_KINDS, Certificate, certificate_products
from ..products.models import Category, Product
from ..villages.models import Village


def _village_holds(kinds, on):
    return exists().where(
        Certificate.village_id == Product.village_id,
        Certificate.kind.in_(kinds),
        Certificate.is_current(on),
    )


def _covered_by(kinds, on, per_product=False):
    covered = select(literal(1)).where(
        certificate_products.c.product_id == Product.id,
        certificate_products.c.certificate_id == Certificate.id,
        Certificate.village_id == Product.village_id,
        Certificate.kind.in_(kinds),
        Certificate.is_current(on),
    )
    if per_product:
        # OFFSET 0 keeps PostgreSQL from answering the check with one hash of every covered
        # product of the shop (75,000 at national scale, about 150 ms per clause): each product
        # is then looked up on its own, an index probe.
        covered = covered.offset(0)
    return covered.exists()


def listing_clauses(on=None, per_product=False):
    """The rule's clauses as named SQL conditions over ``Product``, ``Village`` and ``Category``.

    ``sellable_condition`` is all of them; ``explain_listing`` reports which ones fail.
    ``per_product`` checks each product's papers one product at a time: for a query whose other
    conditions already keep few products (one regency's, one village's), not for the whole shop.
    """
    on = on or today_wita()
    return {
        "published": Product.published,
        "approved": Product.review_status == "approved",
        "village_active": Village.active,
        "nib": _village_holds(("nib",), on),
        "food_permit": or_(not_(Category.is_food), _covered_by(FOOD_PERMIT_KINDS, on, per_product)),
        "halal": or_(not_(Category.is_food), Product.non_halal, _covered_by(("halal",), on, per_product)),
    }


def sellable_condition(on=None, per_product=False):
    """SQL condition over ``Product``, ``Village`` and ``Category`` (all three joined)."""
    return and_(*listing_clauses(on, per_product).values())


def sellable_products(on=None, per_product=False):
    """``select(Product)`` of sellable products, with village and category loaded.

    Callers add their own filters, order and paging; they never restate the rule.
    ``per_product``: see ``listing_clauses``.
    """
    return (
        select(Product)
        .join(Product.village)
        .join(Product.category)
        .where(sellable_condition(on, per_product))
        .options(contains_eager(Product.village), contains_eager(Product.category))
    )


def sellable_product_ids(on=None):
    """Subquery of sellable product ids, for counts and ``IN`` filters."""
    return (
        select(Product.id)
        .join(Product.village)
        .join(Product.category)
        .where(sellable_condition(on))
    )


def explain_listing(product_ids, on=None):
    """Map product id -> names of the rule's clauses it fails (empty: sellable)."""
    clauses = listing_clauses(on)
    stmt = (
        select(Product.id, *(clause.label(name) for name, clause in clauses.items()))
        .join(Product.village).join(Product.category)
        .where(Product.id.in_(list(product_ids)))
    )
    return {row.id: [name for name in clauses if not getattr(row, name)]
            for row in db.session.execute(stmt)}


def is_sellable(product_id, on=None):
    """True when the product may be shown and bought today."""
    stmt = select(sellable_product_ids(on).where(Product.id == product_id).exists())
    return bool(db.session.scalar(stmt))

