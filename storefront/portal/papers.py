"""The village's papers in the portal: submit, follow and correct them; print QR labels."""
from flask import abort, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from ..access import member_required
from ..clock import today_wita
from ..extensions import db
from ..legality.forms import PaperForm
from ..legality.labels import label_rows
from ..legality.models import Certificate
from ..legality.papers import paper_state
from ..legality.scans import ScanError, clean_scan
from ..legality.services import LegalityError, PaperData, resubmit_certificate, submit_certificate
from ..products.models import Product
from ..unit_of_work import unit_of_work
from .blueprint import bp, own_village


def _own_products():
    return db.session.scalars(
        select(Product).where(Product.village_id == current_user.village_id).order_by(Product.name)).all()


def _own_certificate(certificate_id):
    """A paper of the member's village, else 404: another village's papers do not exist here."""
    certificate = db.session.scalars(
        select(Certificate)
        .where(Certificate.id == certificate_id, Certificate.village_id == current_user.village_id)
        .options(selectinload(Certificate.products), selectinload(Certificate.events),
                 selectinload(Certificate.scans))
        .execution_options(populate_existing=True)
    ).one_or_none()
    if certificate is None:
        abort(404)
    return certificate


@bp.get("/dokumen")
@member_required
def papers():
    """Each of the village's papers with its status and, when rejected, the office's reason."""
    certificates = db.session.scalars(
        select(Certificate).where(Certificate.village_id == current_user.village_id)
        .options(selectinload(Certificate.products), selectinload(Certificate.events))
        .order_by(Certificate.created_at.desc(), Certificate.id.desc())
    ).all()
    today = today_wita()
    return render_template("portal/papers.html", village=own_village(), certificates=certificates,
                           states={c.id: paper_state(c, today) for c in certificates})


def _paper_data(form):
    return PaperData(kind=form.kind.data, number=form.number.data, issued_on=form.issued_on.data,
                     expires_on=form.expires_on.data, product_ids=form.products.data or [])


def _read_scan(form, required):
    upload = form.scan.data
    if not upload or not getattr(upload, "filename", ""):
        if required:
            form.scan.errors.append(_("Attach the scan or a clear photo of the paper."))
        return None
    try:
        return clean_scan(upload)
    except ScanError as exc:
        form.scan.errors.append(str(exc))
        return None


def _save_paper(form, *, scan_required, save, message):
    """Validate the form and scan, call ``save(data, scan)`` and commit once.

    Returns the redirect to the paper on success; None leaves the form's errors to show.
    """
    if not form.validate_on_submit():
        return None
    scan = _read_scan(form, required=scan_required)
    if form.scan.errors:
        return None
    try:
        with unit_of_work():
            certificate = save(_paper_data(form), scan)
    except LegalityError as exc:
        form.form_errors.append(str(exc))
        return None
    flash(message, "success")
    return redirect(url_for("portal.paper", certificate_id=certificate.id), code=303)


@bp.route("/dokumen/baru", methods=["GET", "POST"])
@member_required
def submit_paper():
    """Submit a paper with its scan for the office to verify."""
    form = PaperForm(products=_own_products())
    done = _save_paper(form, scan_required=True, save=lambda data, scan: submit_certificate(
        village_id=current_user.village_id, actor=current_user, data=data, scan=scan),
        message=_("Thank you. The office will check the paper; you will see its status here."))
    if done:
        return done
    status = 422 if form.is_submitted() else 200
    return render_template("portal/paper_form.html", form=form, certificate=None), status


@bp.get("/dokumen/<id:certificate_id>")
@member_required
def paper(certificate_id):
    certificate = _own_certificate(certificate_id)
    return render_template("portal/paper.html", certificate=certificate,
                           state=paper_state(certificate, today_wita()))


@bp.route("/dokumen/<id:certificate_id>/ajukan-ulang", methods=["GET", "POST"])
@member_required
def resubmit_paper(certificate_id):
    """Correct a rejected paper and send it again."""
    certificate = _own_certificate(certificate_id)
    if certificate.status != "rejected":
        flash(_("Only a rejected paper can be corrected and sent again."), "warning")
        return redirect(url_for("portal.paper", certificate_id=certificate.id), code=303)
    # Pre-filled with what was sent before; a posted form overrides these values.
    form = PaperForm(products=_own_products(), data={
        "kind": certificate.kind, "number": certificate.number, "issued_on": certificate.issued_on,
        "expires_on": certificate.expires_on, "products": [p.id for p in certificate.products]})
    done = _save_paper(form, scan_required=False, save=lambda data, scan: resubmit_certificate(
        certificate, actor=current_user, data=data, scan=scan),
        message=_("The corrected paper has been sent to the office again."))
    if done:
        return done
    certificate = _own_certificate(certificate_id)  # a failed save rolled back and expired it
    status = 422 if form.is_submitted() else 200
    return render_template("portal/paper_form.html", form=form, certificate=certificate), status


@bp.get("/label")
@member_required
def labels():
    """A printable sheet of QR labels for every product of the village."""
    village = own_village()
    return render_template("legality/labels.html", village=village, labels=label_rows(village))

