"""Village portal: the village's own products (a member's own village only).

List them with what keeps each one hidden, add new ones, change them, add and remove photos.
Papers are never edited here: where one is missing the pages link to the paper flow.
"""
from flask import abort, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from sqlalchemy import select
from sqlalchemy.orm import joinedload, selectinload

from ..access import member_required
from ..catalog.browse import all_categories
from ..catalog.listings import (ListingError, PhotoError, StockChanged, clean_photo, create_product,
                                delete_product_photo, discard_photo_files, listing_states, update_product)
from ..catalog.models import Product
from ..extensions import db
from ..i18n import current_language
from ..legality.forms import ConfirmForm
from .listing_forms import EditProductForm, NewProductForm
from .routes import _village, bp

#: What each failing clause of the listing rule asks of the village.
CLAUSE_LABELS = {
    "published": _l("Hidden by you: tick “Show in the shop when its papers allow” to list it."),
    "village_active": _l("Your village is suspended by the office: none of its products is shown until it is reinstated."),
    "nib": _l("The village's business number (NIB), verified and valid"),
    "food_permit": _l("A food permit for this product (P-IRT or BPOM MD), verified and valid"),
    "halal": _l("A halal certificate for this product, verified and valid (or declare it non-halal)"),
}


def _badge(missing):
    """(css class, label) summing up a product's listing state."""
    clauses = {m.clause for m in missing}
    if not clauses:
        return "valid", _("On sale")
    if "village_active" in clauses:
        return "rejected", _("Village suspended")
    if clauses == {"published"}:
        return "expired", _("Hidden by you")
    return "pending", _("Waiting for papers")


def _own_product(product_id):
    """A product of the member's village, photos and category loaded, else 404."""
    product = db.session.scalars(
        select(Product)
        .where(Product.id == product_id, Product.village_id == current_user.village_id)
        .options(selectinload(Product.photos), joinedload(Product.category))
        .execution_options(populate_existing=True)
    ).unique().one_or_none()
    if product is None:
        abort(404)
    return product


@bp.get("/produk")
@member_required
def products():
    """Every product of the village: price, stock, and whether it is on sale or what it waits for."""
    products = db.session.scalars(
        select(Product).where(Product.village_id == current_user.village_id)
        .options(joinedload(Product.category), selectinload(Product.photos))
        .order_by(Product.name, Product.id)
    ).unique().all()
    states = listing_states([p.id for p in products], current_user.village_id)
    return render_template("portal/products.html", village=_village(), products=products, states=states,
                           badges={pid: _badge(missing) for pid, missing in states.items()},
                           clause_labels=CLAUSE_LABELS)


def _photos(form):
    """Check every chosen photo before anything is stored; None when one is refused."""
    images = []
    for upload in form.uploads():
        try:
            images.append(clean_photo(upload))
        except PhotoError as exc:
            form.photos.errors.append(_("%(file)s: %(reason)s", file=upload.filename[:80], reason=exc))
    return None if form.photos.errors else images


@bp.route("/produk/baru", methods=["GET", "POST"])
@member_required
def new_product():
    """Add a product; it shows in the shop once the listing rule allows (papers verified)."""
    form = NewProductForm(categories=all_categories(), locale=current_language())
    if form.validate_on_submit():
        images = _photos(form)
        if images is not None:
            try:
                product = create_product(village_id=current_user.village_id, data=form.product_data(),
                                         photos=images)
            except ListingError as exc:
                db.session.rollback()
                form.form_errors.append(str(exc))
            else:
                db.session.commit()
                flash(_("%(name)s is saved. Below: whether it shows in the shop, and which papers it "
                        "still needs.", name=product.name), "success")
                return redirect(url_for("portal.edit_product", product_id=product.id), code=303)
    status = 422 if form.is_submitted() else 200
    return render_template("portal/product_form.html", form=form, product=None, missing=None,
                           badge=None, clause_labels=CLAUSE_LABELS, village=_village()), status


@bp.route("/produk/<id:product_id>/ubah", methods=["GET", "POST"])
@member_required
def edit_product(product_id):
    """Change a product of the village; the papers it still needs are listed beside the form."""
    product = _own_product(product_id)
    form = EditProductForm(categories=all_categories(), locale=current_language(), data={
        "name": product.name, "category": str(product.category_id), "description": product.description,
        "price_idr": product.price_idr, "weight_grams": product.weight_grams, "stock": product.stock,
        "published": product.published, "non_halal": product.non_halal, "stock_seen": str(product.stock)})
    if form.validate_on_submit():
        images = _photos(form)
        if images is not None:
            try:
                update_product(product, data=form.product_data(), stock_seen=int(form.stock_seen.data),
                               photos=images)
            except StockChanged as exc:
                db.session.rollback()
                form.stock.errors = [str(exc)]
                form.stock_seen.data = str(exc.current)
            except ListingError as exc:
                db.session.rollback()
                form.form_errors.append(str(exc))
            else:
                db.session.commit()
                flash(_("Your changes to %(name)s are saved.", name=product.name), "success")
                return redirect(url_for("portal.edit_product", product_id=product.id), code=303)
        product = _own_product(product_id)  # a failed save rolled back and expired it
    status = 422 if form.is_submitted() else 200
    missing = listing_states([product.id], current_user.village_id)[product.id]
    return render_template("portal/product_form.html", form=form, product=product, missing=missing,
                           badge=_badge(missing), clause_labels=CLAUSE_LABELS, village=_village()), status


@bp.post("/produk/<id:product_id>/foto/<id:photo_id>/hapus")
@member_required
def delete_photo(product_id, photo_id):
    """Remove one photo of the village's product (its files go once the change is saved)."""
    product = _own_product(product_id)
    form = ConfirmForm()
    if not form.validate_on_submit():
        flash(_("The form expired. Please try again."), "warning")
        return redirect(url_for("portal.edit_product", product_id=product.id), code=303)
    try:
        key = delete_product_photo(product, photo_id)
    except ListingError:
        db.session.rollback()
        abort(404)
    db.session.commit()
    discard_photo_files([key])
    flash(_("The photo is removed."), "success")
    return redirect(url_for("portal.edit_product", product_id=product.id), code=303)
