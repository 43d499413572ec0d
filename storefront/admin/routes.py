"""The provincial office: verification queue, papers, villages, members, roles, expiry."""
import smtplib
from collections import defaultdict
from datetime import timedelta

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import get_locale, gettext as _
from flask_login import current_user
from sqlalchemy import or_, select
from sqlalchemy.orm import selectinload

from ..access import admin_required, office_required
from ..accounts.models import User
from ..accounts.services import AccountError, invite_member, set_user_role
from ..clock import today_wita
from ..contact import ContactError, normalise_phone
from ..extensions import db
from ..legality.forms import ConfirmForm, ReasonForm
from ..legality.labels import label_sheet
from ..legality.models import KINDS, Certificate
from ..legality.papers import paper_state
from ..legality.services import (LegalityError, number_looks_right, reject_certificate,
                                 revoke_certificate, status_label, verify_certificate)
from ..mail import send_mail
from ..money import format_stripe_amount
from ..urls import external_url
from ..villages.models import Village
from ..villages.regions import REGENCIES
from ..villages.services import VillageError, create_village, set_village_active
from ..orders.forms import ParcelForm
from ..orders.fulfilment import OFFICE, STATUS_LABELS, Change, change_parcel
from ..orders.models import Order, VillageOrder
from ..orders.services import OrderError, mark_paid, mark_refunded, release_hold
from ..payments.models import ZONES, ShippingRate
from ..payments.stripe_gateway import REFUSALS, refund_parcel, refused_payments, settle_refused_payment
from .forms import InviteForm, RatesForm, RoleForm, VillageForm

bp = Blueprint("office", __name__, url_prefix="/kantor")


@bp.get("/")
@office_required
def home():
    return redirect(url_for("office.queue"))


@bp.get("/antrean")
@office_required
def queue():
    """Pending papers, oldest first; filter by regency, kind and village."""
    regency = request.args.get("kabupaten") if request.args.get("kabupaten") in REGENCIES else None
    kind = request.args.get("jenis") if request.args.get("jenis") in KINDS else None
    village_slug = (request.args.get("desa") or "").strip()[:80] or None
    stmt = (
        select(Certificate, Village)
        .join(Village, Village.id == Certificate.village_id)
        .where(Certificate.status == "pending")
        .options(selectinload(Certificate.products))
        .order_by(Certificate.updated_at.asc(), Certificate.id.asc())
    )
    if regency:
        stmt = stmt.where(Village.regency_code == regency)
    if kind:
        stmt = stmt.where(Certificate.kind == kind)
    if village_slug:
        stmt = stmt.where(Village.slug == village_slug)
    rows = db.session.execute(stmt).all()
    villages = db.session.scalars(select(Village).order_by(Village.name)).all()
    return render_template(
        "office/queue.html", rows=rows, regencies=REGENCIES, kinds=KINDS, villages=villages,
        selected={"kabupaten": regency, "jenis": kind, "desa": village_slug},
        format_ok={c.id: number_looks_right(c) for c, _v in rows})


def _certificate(certificate_id):
    certificate = db.session.scalars(
        select(Certificate).where(Certificate.id == certificate_id)
        .options(selectinload(Certificate.products), selectinload(Certificate.events),
                 selectinload(Certificate.scans))).one_or_none()
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
        if needs_reason:
            action(certificate, current_user, form.reason.data)
        else:
            action(certificate, current_user)
    except LegalityError as exc:
        db.session.rollback()
        flash(str(exc), "warning")
    else:
        db.session.commit()
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
    rows = db.session.execute(
        select(Certificate, Village).join(Village, Village.id == Certificate.village_id)
        .where(Certificate.status == "verified", Certificate.expires_on.is_not(None),
               Certificate.expires_on >= today, Certificate.expires_on <= today + timedelta(days=60))
        .order_by(Village.name, Certificate.expires_on)
    ).all()
    by_village = defaultdict(list)
    for certificate, village in rows:
        by_village[village].append((certificate, (certificate.expires_on - today).days))
    return render_template("office/expiring.html", by_village=by_village, today=today)


@bp.get("/desa")
@office_required
def villages():
    rows = db.session.scalars(select(Village).order_by(Village.active.desc(), Village.name)).all()
    return render_template("office/villages.html", villages=rows, confirm_form=ConfirmForm())


@bp.route("/desa/baru", methods=["GET", "POST"])
@office_required
def new_village():
    """Register a village and its producer group."""
    form = VillageForm()
    if form.validate_on_submit():
        try:
            phone = normalise_phone(form.phone.data) if form.phone.data else None
        except ContactError:
            form.phone.errors.append(_("Enter an Indonesian phone number, e.g. 0812 3456 7890."))
        else:
            try:
                village = create_village(
                    slug=form.slug.data, name=form.name.data, regency_code=form.regency_code.data,
                    district=form.district.data or "", group_name=form.group_name.data,
                    group_type=form.group_type.data, story=form.story.data or "", phone=phone,
                    email=(form.email.data or "").lower() or None)
            except VillageError as exc:
                db.session.rollback()
                form.slug.errors.append(str(exc))
            else:
                db.session.commit()
                flash(_("Village %(name)s registered. Invite its members next.", name=village.name), "success")
                return redirect(url_for("office.invite", village_id=village.id), code=303)
    status = 422 if form.is_submitted() else 200
    return render_template("office/village_form.html", form=form), status


def _village(village_id):
    village = db.get_or_404(Village, village_id)
    return village


@bp.post("/desa/<id:village_id>/tangguhkan")
@office_required
def suspend_village(village_id):
    return _set_active(village_id, False, _("Village suspended: its products are hidden."))


@bp.post("/desa/<id:village_id>/aktifkan")
@office_required
def reinstate_village(village_id):
    return _set_active(village_id, True, _("Village reinstated."))


def _set_active(village_id, active, message):
    village = _village(village_id)
    if ConfirmForm().validate_on_submit():
        set_village_active(village, active)
        db.session.commit()
        flash(message, "success")
    else:
        flash(_("The form has expired"), "warning")
    return redirect(url_for("office.villages"), code=303)


@bp.route("/desa/<id:village_id>/undang", methods=["GET", "POST"])
@office_required
def invite(village_id):
    """Invite a member of a village; they get a link that works once and expires."""
    village = _village(village_id)
    form = InviteForm()
    if form.validate_on_submit():
        try:
            invitation, token = invite_member(
                village_id=village.id, email=form.email.data, name=form.name.data,
                invited_by=current_user, days=current_app.config["INVITATION_DAYS"])
        except (AccountError, ContactError) as exc:
            db.session.rollback()
            form.email.errors.append(str(exc))
        else:
            link = external_url("accounts.accept_invitation", token=token)
            db.session.commit()
            try:
                sent = send_mail([invitation.email], f"Undangan portal desa {village.name}",
                                 _invitation_body(invitation, village, link))
            except (OSError, smtplib.SMTPException) as exc:
                current_app.logger.error("invitation mail to %s failed: %s", invitation.email, exc)
                sent = False
            if sent:
                flash(_("Invitation sent to %(email)s.", email=invitation.email), "success")
            else:
                flash(_("The e-mail could not be sent. Give %(email)s this link yourself: %(link)s",
                        email=invitation.email, link=link), "warning")
            return redirect(url_for("office.invite", village_id=village.id), code=303)
    members = db.session.scalars(
        select(User).where(User.village_id == village.id).order_by(User.name)).all()
    status = 422 if form.is_submitted() else 200
    return render_template("office/invite.html", form=form, village=village, members=members), status


def _invitation_body(invitation, village, link):
    days = current_app.config["INVITATION_DAYS"]
    return "\n".join([
        f"Halo {invitation.name},", "",
        f"Anda diundang menjadi anggota portal desa {village.name} ({village.group_name}) di",
        "toko Produk Desa NTT. Buka tautan ini untuk membuat kata sandi Anda:", "", link, "",
        f"Tautan ini hanya bisa dipakai sekali dan berlaku {days} hari.", "",
        "Salam,", current_app.config["OFFICE_NAME"]])


@bp.get("/desa/<id:village_id>/label")
@office_required
def village_labels(village_id):
    return label_sheet(_village(village_id))


@bp.get("/pengguna")
@admin_required
def users():
    rows = db.session.scalars(select(User).order_by(User.role, User.email)).all()
    return render_template("office/users.html", users=rows, form=RoleForm())


@bp.post("/pengguna/<id:user_id>/peran")
@admin_required
def change_role(user_id):
    user = db.get_or_404(User, user_id)
    form = RoleForm()
    if form.validate_on_submit():
        try:
            set_user_role(user, form.role.data, actor=current_user)
        except AccountError as exc:
            db.session.rollback()
            flash(str(exc), "warning")
        else:
            db.session.commit()
            flash(_("%(email)s is now: %(role)s.", email=user.email, role=form.role.data), "success")
    else:
        flash(_("Choose a valid role."), "warning")
    return redirect(url_for("office.users"), code=303)


@bp.get("/pesanan")
@office_required
def orders():
    """What needs the office: held orders, parcels not accepted in time, money to return by
    hand, card payments the shop refused; then transfers to confirm, then the latest others."""
    held = db.session.scalars(select(Order).where(Order.hold_reason.is_not(None))
                              .order_by(Order.created_at)).all()
    attention = db.session.execute(
        select(VillageOrder, Order.number).join(Order, Order.id == VillageOrder.order_id)
        .where(or_(VillageOrder.refund_state.in_(("office", "refund_failed")),
                   VillageOrder.overdue_flagged_at.is_not(None) & VillageOrder.status.in_(("paid", "awaiting_payment"))))
        .order_by(VillageOrder.id)).all()
    waiting = db.session.scalars(
        select(Order).where(Order.status == "awaiting_payment").order_by(Order.created_at)).all()
    recent = db.session.scalars(
        select(Order).where(Order.status != "awaiting_payment")
        .order_by(Order.created_at.desc()).limit(50)).all()
    locale = str(get_locale())
    refused = [{"event": event, "number": number,
                "amount": format_stripe_amount(event.amount_total, event.currency, locale),
                "reasons": [REFUSALS.get(code, code) for code in event.refusal.split()]}
               for event, number in refused_payments()]
    return render_template("office/orders.html", waiting=waiting, recent=recent, held=held,
                           attention=attention, refused=refused, confirm_form=ConfirmForm())


@bp.post("/pesanan/<id:order_id>/lepas")
@office_required
def release_order(order_id):
    """The office checked a held order's papers: the villages may ship it."""
    order = db.get_or_404(Order, order_id)
    if not ConfirmForm().validate_on_submit():
        flash(_("The form has expired"), "warning")
    elif release_hold(order.id, current_user.audit_name):
        db.session.commit()
        flash(_("Order %(number)s is released to its villages.", number=order.number), "success")
    else:
        flash(_("Order %(number)s is not held.", number=order.number), "warning")
    return redirect(url_for("office.orders"), code=303)


@bp.post("/paket/<id:village_order_id>/status")
@office_required
def change_parcel_status(village_order_id):
    """The office's moves on a parcel (the transition table says which): e.g. cancel a parcel
    a village cannot send, with the reason the buyer will read."""
    form = ParcelForm()
    if not form.validate_on_submit():
        flash(_("Choose what to do with the parcel."), "warning")
        return redirect(url_for("office.orders"), code=303)
    change = Change(to_status=form.to_status.data, reason=form.reason.data or "")
    try:
        change_parcel(village_order_id, change, side=OFFICE, refund=refund_parcel,
                      actor_name=current_user.audit_name)
    except LookupError:
        abort(404)
    except OrderError as exc:
        db.session.rollback()
        flash(str(exc), "warning")
        return redirect(url_for("office.orders"), code=303)
    db.session.commit()
    flash(_("The parcel is now %(status)s.", status=STATUS_LABELS[change.to_status]), "success")
    return redirect(url_for("office.orders"), code=303)


@bp.post("/paket/<id:village_order_id>/uang-kembali")
@office_required
def refund_done(village_order_id):
    """The office returned a parcel's money by hand (bank transfer, or a failed card refund)."""
    if not ConfirmForm().validate_on_submit():
        flash(_("The form has expired"), "warning")
    elif mark_refunded(village_order_id, current_user.audit_name):
        db.session.commit()
        flash(_("The refund is recorded."), "success")
    else:
        abort(404)
    return redirect(url_for("office.orders"), code=303)


@bp.post("/pembayaran-kartu/<string(maxlength=255):event_id>/selesai")
@office_required
def settle_card_payment(event_id):
    """The office dealt with a card payment the shop refused to apply (refunded it in Stripe,
    or settled it with the buyer)."""
    if not ConfirmForm().validate_on_submit():
        flash(_("The form has expired"), "warning")
    elif settle_refused_payment(event_id, current_user.audit_name):
        db.session.commit()
        flash(_("The card payment is marked as dealt with."), "success")
    else:
        abort(404)
    return redirect(url_for("office.orders"), code=303)


@bp.post("/pesanan/<id:order_id>/lunas")
@office_required
def mark_order_paid(order_id):
    """The office saw the bank transfer arrive."""
    order = db.get_or_404(Order, order_id)
    if not ConfirmForm().validate_on_submit():
        flash(_("The form has expired"), "warning")
    elif order.payment_method != "bank_transfer":
        flash(_("Only bank transfers are confirmed here."), "warning")
    elif mark_paid(order.id, current_user.audit_name, "bank transfer received"):
        db.session.commit()
        flash(_("Order %(number)s is marked paid.", number=order.number), "success")
    else:
        db.session.rollback()
        flash(_("Order %(number)s is no longer awaiting payment.", number=order.number), "warning")
    return redirect(url_for("office.orders"), code=303)


@bp.route("/ongkir", methods=["GET", "POST"])
@office_required
def shipping_rates():
    """Shipping rate per kilogram for each destination zone."""
    form = RatesForm()
    rates = {r.zone: r for r in db.session.scalars(select(ShippingRate))}
    if form.validate_on_submit():
        for zone in ZONES:
            rates[zone].rate_per_kg_idr = getattr(form, zone).data
        db.session.commit()
        flash(_("Shipping rates saved."), "success")
        return redirect(url_for("office.shipping_rates"), code=303)
    if not form.is_submitted():
        for zone in ZONES:
            getattr(form, zone).data = rates[zone].rate_per_kg_idr
    return render_template("office/rates.html", form=form), 422 if form.is_submitted() else 200
