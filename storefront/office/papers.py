"""The office's papers: the verification queue, one paper beside its scan, verify / reject /
revoke, and the papers about to expire."""
from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from ..access import office_required
from ..clock import today_wita
from ..extensions import db
from ..forms import ConfirmForm
from ..legality.forms import ReasonForm
from ..legality.models import KINDS
from ..legality.papers import paper_state
from ..legality.queries import paper_with_history, papers_expiring, pending_papers
from ..legality.services import (LegalityError, number_looks_right, reject_certificate, revoke_certificate,
                                 status_label, verify_certificate)
from ..unit_of_work import unit_of_work
from ..villages.models import Village
from ..villages.regions import REGENCIES
from ..villages.services import villages_by_name
from .blueprint import bp


@bp.get("/antrean")
@office_required
def queue():
    """Pending papers, oldest first; filter by regency, kind and village."""
    regency = request.args.get("kabupaten") if request.args.get("kabupaten") in REGENCIES else None
    kind = request.args.get("jenis") if request.args.get("jenis") in KINDS else None
    village_slug = (request.args.get("desa") or "").strip()[:80] or None
    rows = pending_papers(regency=regency, kind=kind, village_slug=village_slug)
    return render_template(
        "office/queue.html", rows=rows, regencies=REGENCIES, kinds=KINDS, villages=villages_by_name(),
        selected={"kabupaten": regency, "jenis": kind, "desa": village_slug},
        format_ok={c.id: number_looks_right(c) for c, _v in rows})


def _certificate(certificate_id):
    certificate = paper_with_history(certificate_id)
    if certificate is None:
        abort(404)
    return certificate


@bp.get("/dokumen/<id:certificate_id>")
@office_required
def paper(certificate_id):
    """A paper beside its scan, with its history and the actions its status allows."""
    certificate = _certificate(certificate_id)
    village = db.session.get(Village, certificate.village_id)
    return render_template(
        "office/paper.html", certificate=certificate, village=village,
        state=paper_state(certificate, today_wita()), format_ok=number_looks_right(certificate),
        confirm_form=ConfirmForm(), reason_form=ReasonForm())


def _apply(certificate_id, action, needs_reason):
    certificate = _certificate(certificate_id)
    form = ReasonForm() if needs_reason else ConfirmForm()
    if not form.validate_on_submit():
        for errors in form.errors.values():
            for error in errors:
                flash(error, "warning")
        return redirect(url_for("office.paper", certificate_id=certificate.id), code=303)
    try:
        with unit_of_work():
            if needs_reason:
                action(certificate, current_user, form.reason.data)
            else:
                action(certificate, current_user)
    except LegalityError as exc:
        flash(str(exc), "warning")
    else:
        flash(_("Saved: the paper is now %(status)s.", status=status_label(certificate.status)), "success")
    return redirect(url_for("office.paper", certificate_id=certificate_id), code=303)


@bp.post("/dokumen/<id:certificate_id>/verifikasi")
@office_required
def verify(certificate_id):
    return _apply(certificate_id, verify_certificate, needs_reason=False)


@bp.post("/dokumen/<id:certificate_id>/tolak")
@office_required
def reject(certificate_id):
    return _apply(certificate_id, reject_certificate, needs_reason=True)


@bp.post("/dokumen/<id:certificate_id>/cabut")
@office_required
def revoke(certificate_id):
    return _apply(certificate_id, revoke_certificate, needs_reason=True)


@bp.get("/kedaluwarsa")
@office_required
def expiring():
    """Verified papers that expire in the next 60 days, by village."""
    today = today_wita()
    return render_template("office/expiring.html", by_village=papers_expiring(today), today=today)
