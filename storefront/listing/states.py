"""What keeps a village's product out of the shop, clause by clause, and whether the village has
already sent the paper that would fix it (the portal's product list and form show this)."""
from dataclasses import dataclass

from sqlalchemy import select

from ..clock import today_wita
from ..extensions import db
from ..legality.models import FOOD_PERMIT_KINDS, Certificate, certificate_products
from .rule import explain_listing

#: Clause of the listing rule -> the kinds of paper that satisfy it (``None``: not a paper).
CLAUSE_KINDS = {"published": None, "approved": None, "village_active": None, "nib": ("nib",),
                "food_permit": FOOD_PERMIT_KINDS, "halal": ("halal",)}
VILLAGE_WIDE_CLAUSES = ("nib",)


@dataclass
class Missing:
    """One failing clause of the listing rule, and the village's paper that may fix it."""

    clause: str
    #: A submitted paper for it: ``pending`` (with the office) or ``rejected`` (to correct).
    paper_status: str | None = None
    paper_id: int | None = None


def listing_states(product_ids, village_id, on=None):
    """Map product id -> list of ``Missing`` (empty: on sale today), in two queries.

    The clauses come from the listing rule itself (``explain_listing``); this only adds, for
    clauses about papers, whether the village already sent a paper that would satisfy it.
    """
    product_ids = list(product_ids)
    if not product_ids:
        return {}
    on = on or today_wita()
    failing = explain_listing(product_ids, on)
    kinds = {kind for clause in CLAUSE_KINDS.values() if clause for kind in clause}
    submitted = db.session.execute(
        select(Certificate.id, Certificate.kind, Certificate.status, certificate_products.c.product_id)
        .outerjoin(certificate_products, certificate_products.c.certificate_id == Certificate.id)
        .where(Certificate.village_id == village_id, Certificate.kind.in_(kinds),
               Certificate.status.in_(("pending", "rejected")))
        .order_by(Certificate.id.desc())
    ).all()

    def paper_for(clause, product_id):
        wanted = CLAUSE_KINDS[clause]
        if not wanted:
            return None
        matches = [row for row in submitted if row.kind in wanted and
                   (clause in VILLAGE_WIDE_CLAUSES or row.product_id == product_id)]
        # A paper with the office is better news than one to correct.
        return min(matches, key=lambda row: row.status != "pending", default=None)

    states = {}
    for product_id in product_ids:
        states[product_id] = []
        for clause in failing.get(product_id, []):
            paper = paper_for(clause, product_id)
            states[product_id].append(Missing(clause, paper.status if paper else None,
                                              paper.id if paper else None))
    return states
