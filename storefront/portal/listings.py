"""Village portal: the village's own products (a member's own village only).

List them with what keeps each one hidden, add new ones, change them, add and remove photos.
Papers are never edited here: where one is missing the pages link to the paper flow.
"""
from flask import abort, flash, redirect, render_template, url_for
from flask_babel import gettext as _, lazy_gettext as _l, ngettext
from flask_login import current_user
from sqlalchemy import select
from sqlalchemy.orm import joinedload, selectinload

from ..access import member_required
from ..catalog.browse import all_categories
from ..extensions import db
from ..forms import ConfirmForm
from ..i18n import current_language
from ..listing.states import listing_states
from ..products.listings import (ListingError, PhotoError, StockChanged, clean_photo, create_product,
                                 delete_product_photo, update_product)
from ..products.models import Product
from ..products.review import (ReviewError, identity, pending_revision, proposed, review_notes,
                               withdraw_revision)
from ..unit_of_work import unit_of_work
from ..upload_forms import form_page_on_too_large
from .blueprint import bp, own_village
from .listing_forms import EditProductForm, NewProductForm

#: What each failing clause of the listing rule asks of the village.
CLAUSE_LABELS = {
    "published": _l("Hidden by you: tick “Show in the shop when its papers allow” to list it."),
    "approved": _l("The office's review of the listing: it checks what the product is before it is shown"),
    "village_active": _l("Your village is suspended by the office: none of its products is shown until it is reinstated."),
    "nib": _l("The village's business number (NIB), verified and valid"),
    "food_permit": _l("A food permit for this product (P-IRT or BPOM MD), verified and valid"),
    "halal": _l("A halal certificate for this product, verified and valid (or declare it non-halal)"),
}


def _badge(product, missing):
    """(css class, label) summing up a product's listing state."""
    clauses = {m.clause for m in missing}
    if not clauses:
        return "valid", _("On sale")
    if "village_active" in clauses:
        return "rejected", _("Village suspended")
    if product.review_status == "rejected":
        return "rejected", _("Not accepted by the office")
    if product.review_status == "pending":
        return "pending", _("Waiting for the office's review")
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
    return render_template("portal/products.html", village=own_village(), products=products, states=states,
                           badges={p.id: _badge(p, states[p.id]) for p in products},
                           notes=review_notes(states), clause_labels=CLAUSE_LABELS)


def _photos(form):
    """Check every chosen photo before anything is stored; None when one is refused."""
    images = []
    for upload in form.uploads():
        try:
            images.append(clean_photo(upload))
        except PhotoError as exc:
            form.photos.errors.append(_("%(file)s: %(reason)s", file=upload.filename[:80], reason=exc))
    return None if form.photos.errors else images


def _photos_not_kept(form, checked):
    """The form is shown again because of another field: the photos chosen are checked all the
    same unless they were (``checked``), so that a refused one is said now, not on the next try,
    and the member is told to choose them again: a browser never fills in a file field."""
    if not form.is_submitted() or form.photos.errors:
        return
    chosen = len(form.uploads())
    if chosen and not form.photos.errors and (checked or _photos(form) is not None):
        form.photos.errors.append(ngettext("The photo you chose was not saved with the rest: choose it again.",
                                           "The %(num)s photos you chose were not saved with the rest: "
                                           "choose them again.", chosen))


@bp.route("/produk/baru", methods=["GET", "POST"])
@form_page_on_too_large
@member_required
def new_product():
    """Add a product; it shows in the shop once the listing rule allows (papers verified)."""
    form = NewProductForm(categories=all_categories(), locale=current_language())
    images = None
    if form.validate_on_submit():
        images = _photos(form)
        if images is not None:
            try:
                with unit_of_work():
                    product = create_product(village_id=current_user.village_id, data=form.product_data(),
                                             photos=images, actor=current_user)
            except ListingError as exc:
                form.form_errors.append(str(exc))
            else:
                flash(_("%(name)s is saved. The office reviews every new product before it is shown; "
                        "below: what it still waits for.", name=product.name), "success")
                return redirect(url_for("portal.edit_product", product_id=product.id), code=303)
    _photos_not_kept(form, checked=images is not None)
    status = 422 if form.is_submitted() else 200
    return render_template("portal/product_form.html", form=form, product=None, missing=None,
                           badge=None, clause_labels=CLAUSE_LABELS, village=own_village()), status


def _form_values(product, waiting):
    """The edit form shows what the village last asked for: its waiting proposal, if any."""
    shown = proposed(waiting) if waiting else identity(product)
    return {"name": shown["name"], "category": str(shown["category_id"]), "description": shown["description"],
            "price_idr": product.price_idr, "weight_grams": shown["weight_grams"], "stock": product.stock,
            "published": product.published, "non_halal": shown["non_halal"], "stock_seen": str(product.stock)}


def _saved_message(product, saved):
    if saved.revision is not None:
        return _("Your changes to %(name)s wait for the office's review; until it approves them the "
                 "shop keeps showing the approved version. Price, stock and showing it changed at once.",
                 name=product.name)
    return _("Your changes to %(name)s are saved.", name=product.name)


@bp.route("/produk/<id:product_id>/ubah", methods=["GET", "POST"])
@form_page_on_too_large
@member_required
def edit_product(product_id):
    """Change a product of the village; the papers it still needs are listed beside the form."""
    product = _own_product(product_id)
    form = EditProductForm(categories=all_categories(), locale=current_language(),
                           data=_form_values(product, pending_revision(product.id)))
    images = None
    if form.validate_on_submit():
        images = _photos(form)
        if images is not None:
            try:
                with unit_of_work():
                    saved = update_product(product, data=form.product_data(),
                                           stock_seen=int(form.stock_seen.data), photos=images, actor=current_user)
            except StockChanged as exc:
                form.stock.errors = [str(exc)]
                form.stock_seen.data = str(exc.current)
            except ListingError as exc:
                form.form_errors.append(str(exc))
            else:
                flash(_saved_message(product, saved), "success")
                return redirect(url_for("portal.edit_product", product_id=product.id), code=303)
        product = _own_product(product_id)  # a failed save rolled back and expired it
    _photos_not_kept(form, checked=images is not None)
    status = 422 if form.is_submitted() else 200
    return _edit_page(product, form), status


def _edit_page(product, form):
    missing = listing_states([product.id], current_user.village_id)[product.id]
    waiting, refusal = review_notes([product.id])[product.id]
    return render_template("portal/product_form.html", form=form, product=product, missing=missing,
                           badge=_badge(product, missing), clause_labels=CLAUSE_LABELS, village=own_village(),
                           waiting=waiting, proposal=proposed(waiting) if waiting else None, refusal=refusal,
                           categories={c.id: c for c in all_categories()}, confirm_form=ConfirmForm())


@bp.post("/produk/<id:product_id>/foto/<key>/hapus")
@member_required
def delete_photo(product_id, key):
    """Remove one photo of the village's product (its files go once the change is saved); for
    an approved product the removal is proposed to the office like any change."""
    product = _own_product(product_id)
    form = ConfirmForm()
    if not form.validate_on_submit():
        flash(_("The form expired. Please try again."), "warning")
        return redirect(url_for("portal.edit_product", product_id=product.id), code=303)
    try:
        with unit_of_work():
            saved = delete_product_photo(product, key, actor=current_user)
    except ListingError:
        abort(404)
    flash(_("The photo is removed.") if saved.revision is None else _saved_message(product, saved), "success")
    return redirect(url_for("portal.edit_product", product_id=product.id), code=303)


@bp.post("/produk/<id:product_id>/usulan/tarik")
@member_required
def withdraw_change(product_id):
    """Take back the change that waits for the office; the product stays as approved."""
    product = _own_product(product_id)
    if not ConfirmForm().validate_on_submit():
        flash(_("The form expired. Please try again."), "warning")
        return redirect(url_for("portal.edit_product", product_id=product.id), code=303)
    try:
        with unit_of_work():
            withdraw_revision(product, current_user)
    except ReviewError as exc:
        flash(str(exc), "warning")
        return redirect(url_for("portal.edit_product", product_id=product.id), code=303)
    flash(_("Your proposed change is withdrawn; the product stays as the office approved it."), "success")
    return redirect(url_for("portal.edit_product", product_id=product.id), code=303)
