"""The office's review of listings: new products and changes to what approved products are.

The queue (``/kantor/produk``) holds both, oldest first; a listing's page shows the product as
the shop shows it beside what the village asks for, the papers behind it, and its history.
"""
from flask import abort, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select
from sqlalchemy.orm import joinedload, selectinload

from ..access import office_required
from ..catalog.browse import all_categories
from ..clock import today_wita
from ..extensions import db
from ..legality.papers import paper_state, papers_for_proof
from ..products.models import Product
from ..products.review import (IDENTITY_FIELDS, ReviewError, changes_waiting, decide_listing, decide_revision,
                               identity, listing_history, listings_waiting, pending_revision, proposed)
from ..unit_of_work import unit_of_work
from .blueprint import bp
from .forms import ListingDecisionForm


@bp.get("/produk")
@office_required
def listings():
    """New listings and proposed changes waiting for the office, oldest first."""
    return render_template("office/listings.html", new=listings_waiting(), changes=changes_waiting())


def _product(product_id):
    product = db.session.scalars(
        select(Product).where(Product.id == product_id)
        .options(selectinload(Product.photos), joinedload(Product.category), joinedload(Product.village))
        .execution_options(populate_existing=True)).unique().one_or_none()
    if product is None:
        abort(404)
    return product


@bp.get("/produk/<id:product_id>")
@office_required
def listing(product_id):
    """A listing beside what the village asks for, with its papers and history."""
    product = _product(product_id)
    waiting = pending_revision(product.id)
    current = identity(product)
    wanted = proposed(waiting) if waiting else None
    changed = [f for f in IDENTITY_FIELDS if wanted and wanted[f] != current[f]]
    today = today_wita()
    papers = papers_for_proof(product)
    events = listing_history(product.id)
    form = ListingDecisionForm(data={"revision_id": waiting.id if waiting else ""})
    return render_template(
        "office/listing.html", product=product, waiting=waiting, current=current, wanted=wanted,
        changed=changed, categories={c.id: c for c in all_categories()}, papers=papers,
        states={p.id: paper_state(p, today) for p in papers}, events=events, form=form)


def _decide(product_id, to_status):
    product = _product(product_id)
    form = ListingDecisionForm()
    if not form.validate_on_submit():
        for errors in form.errors.values():
            for error in errors:
                flash(error, "warning")
        return redirect(url_for("office.listing", product_id=product.id), code=303)
    reason = form.reason.data or ""
    try:
        with unit_of_work():
            if form.revision_id.data:
                decide_revision(product, form.revision_id.data, to_status, current_user, reason)
            else:
                decide_listing(product, to_status, current_user, reason)
    except ReviewError as exc:
        flash(str(exc), "warning")
        return redirect(url_for("office.listing", product_id=product.id), code=303)
    flash(_("Approved: the shop now shows it as the village asked.") if to_status == "approved"
          else _("Refused: the village sees your reason."), "success")
    return redirect(url_for("office.listings"), code=303)


@bp.post("/produk/<id:product_id>/setujui")
@office_required
def approve_listing(product_id):
    return _decide(product_id, "approved")


@bp.post("/produk/<id:product_id>/tolak")
@office_required
def reject_listing(product_id):
    return _decide(product_id, "rejected")
