"""The village's papers in the portal: submit, follow and correct them; print QR labels.

A refused paper form lists every problem at once, each at its field; a good scan sent with it is
held for the next try (``legality.held_scans``), so a village on bad signal uploads it once; and a
number unlike its kind's usual format is shown with the office's warning, to be confirmed.
"""
from dataclasses import dataclass

from flask import abort, flash, redirect, render_template, url_for
from flask_babel import format_decimal, gettext as _
from flask_login import current_user
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from ..access import member_required
from ..clock import today_wita
from ..extensions import db
from ..legality.formats import SAMPLES
from ..legality.forms import PaperForm
from ..legality.held_scans import HeldScan, find_held_scan, hold_scan, release_held_scan
from ..legality.labels import label_rows
from ..legality.models import Certificate
from ..legality.papers import paper_state
from ..legality.scans import CleanScan, ScanError, clean_scan
from ..legality.services import (LegalityError, PaperData, PaperRefused, check_paper, resubmit_certificate,
                                 submit_certificate)
from ..products.models import Product
from ..unit_of_work import unit_of_work
from ..upload_forms import form_page_on_too_large
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


#: The form's fields a paper's own checks (``check_paper``) report problems under.
_CHECKED_FIELDS = ("kind", "number", "issued_on", "expires_on", "products")


def _paper_data(form):
    """What the form could read; None where a field has an error of its own (a date it could not
    read), so that the checks needing it wait and the others still run."""
    def value(name):
        return None if form[name].errors else form[name].data
    return PaperData(kind=value("kind") or None, number=value("number"), issued_on=value("issued_on"),
                     expires_on=value("expires_on"), product_ids=value("products") or [])


@dataclass
class _Scan:
    """The scan a submit brings: ``scan`` is the cleaned file to save (a new upload, or the held
    one); ``held`` is the hold the form carried and that is still good."""

    scan: CleanScan | None = None
    new: bool = False
    held: HeldScan | None = None


def _find_hold(form, form_key):
    return find_held_scan(form.held_scan.data, user_id=current_user.id, village_id=current_user.village_id,
                          form=form_key)


def _read_scan(form, form_key, required):
    upload = form.scan.data
    held = _find_hold(form, form_key)
    if upload and getattr(upload, "filename", ""):
        try:
            return _Scan(clean_scan(upload), new=True, held=held)
        except ScanError as exc:
            form.scan.errors.append(str(exc))
            return _Scan(held=held)  # an earlier good scan stays held
    if held is not None:
        try:
            return _Scan(held.load(), held=held)
        except OSError:  # deleted a moment ago (it ran out of time): as if gone
            pass
    if form.held_scan.data:
        # Another village's or user's token, a stale one, or one past its time: ask again.
        form.scan.errors.append(_("The scan kept from your last try is no longer available. Choose the file again."))
    elif required:
        form.scan.errors.append(_("Attach the scan or a clear photo of the paper."))
    return _Scan()


def _number_warning(form, check):
    """A number unlike its kind's usual format: the office's warning at the number, and a box to
    confirm it. Returns whether the number still waits for that confirmation."""
    if not check.odd_number:
        form.warned_number.data, form.confirm_number.data = "", False
        return False
    confirmed = bool(form.confirm_number.data) and form.warned_number.data == check.number
    form.warned_number.data, form.confirm_number.data = check.number, confirmed
    if not confirmed:
        kind = form.kind.data
        form.number.errors.append(
            _("Check carefully: the number does not match the usual format for this kind of paper.") + " "
            + _("It is usually written like %(sample)s. If the paper shows it exactly as you typed it, tick the "
                "box below and send again.", sample=SAMPLES[kind]))
    return not confirmed


def _show_problems(form, problems):
    for name, messages in problems.items():
        field = form[name] if name in _CHECKED_FIELDS else None
        if field is None:
            form.form_errors.extend(messages)
        elif not field.errors:  # the field's own error (unreadable, missing) comes first
            field.errors.extend(messages)


def _has_errors(form):
    return bool(form.form_errors) or any(f.errors for f in form)


def _save_paper(form, *, form_key, certificate, scan_required, save, message):
    """Check everything at once, then save with ``save(data, scan)`` and commit once.

    Returns ``(redirect, None)`` on success, else ``(None, kept)``: the form carries every
    problem, and ``kept`` is the scan held for the next try (or None).
    """
    if not form.is_submitted():
        return None, None
    form.validate()  # a post without a good CSRF token never gets here (CSRFProtect refuses it)
    brought = _read_scan(form, form_key, required=scan_required)
    data = _paper_data(form)
    check = check_paper(data, current_user.village_id, certificate)
    _show_problems(form, check.problems)
    unconfirmed = _number_warning(form, check)
    if not (_has_errors(form) or unconfirmed):
        try:
            with unit_of_work():
                saved = save(data, brought.scan)
        except PaperRefused as exc:  # changed by someone else meanwhile (a number taken)
            _show_problems(form, exc.problems)
        except LegalityError as exc:
            form.form_errors.append(str(exc))
        else:
            if brought.held is not None:  # used, or replaced by the new file
                release_held_scan(brought.held.token, user_id=current_user.id)
            flash(message, "success")
            return redirect(url_for("portal.paper", certificate_id=saved.id), code=303), None
    kept = _keep_scan(form_key, brought)
    form.held_scan.data = kept.token if kept else ""
    return None, kept


def _keep_scan(form_key, brought):
    """Hold a good new file for the next try (in place of an earlier hold); else keep the earlier one."""
    if not brought.new:
        return brought.held
    if brought.held is not None:
        release_held_scan(brought.held.token, user_id=current_user.id)
    token = hold_scan(brought.scan, user_id=current_user.id, village_id=current_user.village_id, form=form_key)
    return find_held_scan(token, user_id=current_user.id, village_id=current_user.village_id, form=form_key)


def _size_label(size):
    if size >= 1024 * 1024:
        return format_decimal(size / (1024 * 1024), format="#,##0.0") + " MB"
    return format_decimal(max(1, round(size / 1024)), format="#,##0") + " KB"


def _render_form(form, certificate, kept):
    status = 422 if form.is_submitted() else 200
    return render_template("portal/paper_form.html", form=form, certificate=certificate,
                           kept_scan=kept, kept_size=_size_label(kept.size_bytes) if kept else None,
                           ask_confirm=bool(form.warned_number.data)), status


@bp.route("/dokumen/baru", methods=["GET", "POST"])
@form_page_on_too_large
@member_required
def submit_paper():
    """Submit a paper with its scan for the office to verify."""
    form = PaperForm(products=_own_products())
    done, kept = _save_paper(
        form, form_key="new", certificate=None, scan_required=True,
        save=lambda data, scan: submit_certificate(
            village_id=current_user.village_id, actor=current_user, data=data, scan=scan),
        message=_("Thank you. The office will check the paper; you will see its status here."))
    return done or _render_form(form, None, kept)


@bp.get("/dokumen/<id:certificate_id>")
@member_required
def paper(certificate_id):
    certificate = _own_certificate(certificate_id)
    return render_template("portal/paper.html", certificate=certificate,
                           state=paper_state(certificate, today_wita()))


@bp.route("/dokumen/<id:certificate_id>/ajukan-ulang", methods=["GET", "POST"])
@form_page_on_too_large
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
    done, kept = _save_paper(
        form, form_key=f"paper-{certificate.id}", certificate=certificate, scan_required=False,
        save=lambda data, scan: resubmit_certificate(certificate, actor=current_user, data=data, scan=scan),
        message=_("The corrected paper has been sent to the office again."))
    if done:
        return done
    certificate = _own_certificate(certificate_id)  # a failed save rolled back and expired it
    return _render_form(form, certificate, kept)


@bp.get("/label")
@member_required
def labels():
    """A printable sheet of QR labels for every product of the village."""
    village = own_village()
    return render_template("legality/labels.html", village=village, labels=label_rows(village))

