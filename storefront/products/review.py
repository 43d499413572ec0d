"""The office's review of listings: a legal paper follows what a product *is*, so what it is may
only change with the office's approval.

- A product a village adds waits (``review_status = "pending"``, hidden by the listing rule)
  until the office approves it or refuses it with a reason; a refused one that the village
  changes comes back to the queue.
- A change to what an approved product is (name, category, description, weight, photos, the
  non-halal flag) becomes a ``ProductRevision``: the approved version stays on sale, and the
  change is applied only when the office approves it. Price, stock and the published switch are
  the village's own and change at once (``products/listings.py``).

The moves are tables below; each applied move writes a ``ListingEvent`` (who, when, from, to,
why). The verbs flush and never commit. Photo files that an approval or refusal makes useless
are deleted once the caller's unit of work commits.
"""
import json

from flask_babel import gettext as _
from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import joinedload

from ..clock import now_utc
from ..extensions import db
from ..media import discard_images
from ..unit_of_work import after_commit
from ..villages.models import Village
from .models import ListingEvent, Product, ProductPhoto, ProductRevision
from .notices import tell_village_listing_decided

#: (from, to) -> who may move a listing. Anything else is refused.
LISTING_TRANSITIONS = {
    ("pending", "approved"): "office",
    ("pending", "rejected"): "office",
    ("rejected", "pending"): "village",  # changed after a refusal: back in the queue
}
#: (from, to) -> who may move a proposed change.
REVISION_TRANSITIONS = {
    ("pending", "approved"): "office",
    ("pending", "rejected"): "office",
    ("pending", "withdrawn"): "village",
    ("pending", "superseded"): "village",  # the village proposed again before a decision
}
REASON_REQUIRED = {"rejected"}
#: The fields that say what a product is, in the order the office compares them.
IDENTITY_FIELDS = ("name", "category_id", "description", "weight_grams", "non_halal", "photo_keys")


class ReviewError(ValueError):
    """A review step that cannot be taken; the message is for the person who asked."""


def _actor_name(actor):
    return actor.audit_name if actor is not None else "system"


def _record(product_id, from_status, to_status, actor, reason="", revision_id=None):
    db.session.add(ListingEvent(product_id=product_id, revision_id=revision_id, from_status=from_status,
                                to_status=to_status, actor_id=actor.id if actor else None,
                                actor_name=_actor_name(actor), reason=reason or ""))


def _check(table, from_status, to_status, side, reason):
    if table.get((from_status, to_status)) != side:
        raise ReviewError(_("This listing is no longer waiting for that decision; reload the page."))
    reason = (reason or "").strip()
    if to_status in REASON_REQUIRED and not reason:
        raise ReviewError(_("Give the reason, so the village knows what to change."))
    return reason


def identity(product):
    """What ``product`` is now, as a dict of ``IDENTITY_FIELDS`` (photos loaded)."""
    return {"name": product.name, "category_id": product.category_id, "description": product.description,
            "weight_grams": product.weight_grams, "non_halal": product.non_halal,
            "photo_keys": [photo.key for photo in product.photos]}


def proposed(revision):
    """What ``revision`` would make the product, as a dict of ``IDENTITY_FIELDS``."""
    return {"name": revision.name, "category_id": revision.category_id, "description": revision.description,
            "weight_grams": revision.weight_grams, "non_halal": revision.non_halal,
            "photo_keys": json.loads(revision.photo_keys)}


def pending_revision(product_id):
    """The proposed change of ``product_id`` that waits for the office, or None."""
    return db.session.scalars(select(ProductRevision).where(
        ProductRevision.product_id == product_id, ProductRevision.status == "pending")).one_or_none()


# --- the listing itself --------------------------------------------------------------------------

def submit_listing(product, actor):
    """A village's new product enters the office's queue (called when it is created)."""
    product.review_status = "pending"
    db.session.flush()
    _record(product.id, None, "pending", actor, _("added by the village"))


def resubmit_listing(product, actor):
    """A refused listing that the village changed goes back to the queue."""
    _check(LISTING_TRANSITIONS, product.review_status, "pending", "village", "")
    product.review_status = "pending"
    _record(product.id, "rejected", "pending", actor, _("changed by the village after the refusal"))


def decide_listing(product, to_status, actor, reason=""):
    """The office approves (``approved``) or refuses (``rejected``, with a reason) a new listing;
    the village is told."""
    from_status = product.review_status
    reason = _check(LISTING_TRANSITIONS, from_status, to_status, "office", reason)
    _move(Product, product.id, "review_status", from_status, to_status)
    product.review_status = to_status
    _record(product.id, from_status, to_status, actor, reason)
    db.session.flush()
    tell_village_listing_decided(product, to_status, reason)
    return product


def _move(model, row_id, column, from_status, to_status):
    """Change ``column`` of one row only if it still holds ``from_status``: of two decisions at
    once (two office tabs), one is made, and told, once."""
    moved = db.session.execute(update(model).where(model.id == row_id, getattr(model, column) == from_status)
                               .values({column: to_status}))
    if moved.rowcount != 1:
        raise ReviewError(_("This listing is no longer waiting for that decision; reload the page."))


# --- proposed changes to an approved product -----------------------------------------------------

def propose_change(product, changes, actor):
    """Record what the village wants ``product`` (approved, photos loaded) to become.

    ``changes`` holds some of ``IDENTITY_FIELDS``; the rest stay as already proposed (or as the
    product is). A waiting proposal is superseded by the new, complete one; a proposal that
    comes back to what the product already is simply ends the waiting one. Returns
    ``(revision or None, photo keys no longer needed by any proposal)``.
    """
    current = identity(product)
    waiting = pending_revision(product.id)
    wanted = {**(proposed(waiting) if waiting else current), **changes}
    dropped = []
    if waiting is not None:
        before = proposed(waiting)
        if before == wanted:
            return waiting, []
        _end_revision(waiting, "superseded", actor, side="village")
        dropped = [key for key in before["photo_keys"]
                   if key not in wanted["photo_keys"] and key not in current["photo_keys"]]
    if wanted == current:
        return None, dropped
    revision = ProductRevision(product_id=product.id, created_by_id=actor.id if actor else None,
                               **{**wanted, "photo_keys": json.dumps(wanted["photo_keys"])})
    db.session.add(revision)
    db.session.flush()
    _record(product.id, None, "pending", actor, _("change proposed by the village"), revision.id)
    return revision, dropped


def _end_revision(revision, to_status, actor, reason="", side="office"):
    from_status = revision.status
    reason = _check(REVISION_TRANSITIONS, from_status, to_status, side, reason)
    _move(ProductRevision, revision.id, "status", from_status, to_status)
    revision.status = to_status
    revision.reason = reason
    revision.decided_at = now_utc()
    _record(revision.product_id, from_status, to_status, actor, reason, revision.id)
    db.session.flush()


def withdraw_revision(product, actor):
    """The village takes back its waiting proposal; photos it alone used go after the commit."""
    revision = pending_revision(product.id)
    if revision is None:
        raise ReviewError(_("No change of this product is waiting for the office."))
    _end_revision(revision, "withdrawn", actor, side="village")
    kept = {photo.key for photo in product.photos}
    after_commit(discard_images, [key for key in proposed(revision)["photo_keys"] if key not in kept])


def decide_revision(product, revision_id, to_status, actor, reason=""):
    """The office approves or refuses the proposal it looked at (``revision_id``: a newer
    proposal of the village is refused with a message, never decided unseen).

    Approving applies the proposal to ``product`` (photos loaded). Photo files no longer used
    (the old photos, or a refused proposal's new ones) go after the commit. The village is told."""
    revision = pending_revision(product.id)
    if revision is None or revision.id != revision_id:
        raise ReviewError(_("The village changed its proposal meanwhile; look at the new one before deciding."))
    _end_revision(revision, to_status, actor, reason)
    wanted = proposed(revision)
    current = [photo.key for photo in product.photos]
    if to_status == "rejected":
        after_commit(discard_images, [key for key in wanted["photo_keys"] if key not in current])
        tell_village_listing_decided(product, to_status, revision.reason, change=True)
        return
    for field in IDENTITY_FIELDS[:-1]:
        setattr(product, field, wanted[field])
    _set_photos(product, wanted["photo_keys"])
    after_commit(discard_images, [key for key in current if key not in wanted["photo_keys"]])
    tell_village_listing_decided(product, to_status, change=True)


def _set_photos(product, keys):
    """Make the product's photos exactly ``keys``, in that order."""
    db.session.execute(delete(ProductPhoto).where(ProductPhoto.product_id == product.id))
    db.session.expire(product, ["photos"])
    for position, key in enumerate(keys):
        db.session.add(ProductPhoto(product_id=product.id, position=position, key=key, alt=product.name[:200]))
    db.session.flush()


# --- what the village and the office read --------------------------------------------------------

def review_notes(product_ids):
    """Map product id -> ``(waiting proposal or None, latest refusal event or None)``, in two
    queries: the refusal only while it is the latest step of the product's review."""
    product_ids = list(product_ids)
    if not product_ids:
        return {}
    waiting = {r.product_id: r for r in db.session.scalars(select(ProductRevision).where(
        ProductRevision.product_id.in_(product_ids), ProductRevision.status == "pending"))}
    latest = (select(func.max(ListingEvent.id)).where(ListingEvent.product_id.in_(product_ids))
              .group_by(ListingEvent.product_id))
    refusals = {e.product_id: e for e in db.session.scalars(select(ListingEvent).where(
        ListingEvent.id.in_(latest), ListingEvent.to_status == "rejected"))}
    return {pid: (waiting.get(pid), refusals.get(pid)) for pid in product_ids}


def review_label(status):
    """A review status as the office and the village read it."""
    return {"pending": _("waiting"), "approved": _("approved"), "rejected": _("not accepted"),
            "withdrawn": _("withdrawn"), "superseded": _("replaced by a newer change")}.get(status, status)


def listings_waiting():
    """``(product, village)`` of new listings waiting for the office, oldest first."""
    return db.session.execute(
        select(Product, Village).join(Village, Village.id == Product.village_id)
        .where(Product.review_status == "pending").options(joinedload(Product.category))
        .order_by(Product.created_at, Product.id)).all()


def changes_waiting():
    """``(proposal, product, village)`` of proposed changes waiting for the office, oldest first."""
    return db.session.execute(
        select(ProductRevision, Product, Village).join(Product, Product.id == ProductRevision.product_id)
        .join(Village, Village.id == Product.village_id).where(ProductRevision.status == "pending")
        .order_by(ProductRevision.created_at, ProductRevision.id)).all()


def listing_history(product_id):
    return db.session.scalars(select(ListingEvent).where(ListingEvent.product_id == product_id)
                              .order_by(ListingEvent.id)).all()
