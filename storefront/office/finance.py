"""The office's finance pages: what is owed to which village and since when, bank accounts to
verify, the shop's fee, payout batches (built, downloaded for the bank's bulk transfer, each
payout marked paid or failed), and one village's statement with the office's adjustments."""
from flask import Response, abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy.exc import IntegrityError

from ..access import office_required
from ..clock import today_wita
from ..csv_safe import CsvWriter
from ..extensions import db
from ..forms import ConfirmForm
from ..money import format_idr
from ..settlement import ledger, payouts
from ..settlement.banks import bank_name
from ..settlement.ledger import LedgerError
from ..settlement.models import BankAccount, LedgerEntry, Payout, PayoutBatch
from ..statement import (ACCOUNT_LABELS, ACCOUNT_TAGS, PAYOUT_LABELS, PAYOUT_TAGS, fee_percent,
                         pending_parcels, statement_page)
from ..unit_of_work import unit_of_work
from ..villages.models import Village
from ..villages.services import villages_by_name
from .blueprint import bp
from .finance_forms import AdjustmentForm, BatchForm, FeeForm, PayoutPaidForm, ReasonForm

#: The remark on each transfer of a bulk-transfer file: the bank shows it to the village, so it
#: is Indonesian whatever language the office reads (32 characters up to payout 99999).
TRANSFER_REMARK = "Produk Desa NTT pembayaran {id}"


def _render_overview(fee_form=None, batch_form=None, status=200, refused=None):
    rate = ledger.fee_rate_in_force()
    if fee_form is None:
        fee_form = FeeForm(formdata=None)
        fee_form.percent.data = rate.basis_points if rate else 0
    batch_form = batch_form or BatchForm(formdata=None, minimum_idr=current_app.config["PAYOUT_MINIMUM_IDR"])
    return render_template(
        "office/finance.html", owed=payouts.owed_villages(), to_review=payouts.accounts_to_review(),
        batches=payouts.recent_batches(), fee_form=fee_form, batch_form=batch_form, rate=rate,
        fee=fee_percent(rate.basis_points if rate else 0), villages=villages_by_name(),
        confirm_form=ConfirmForm(), account_labels=ACCOUNT_LABELS, account_tags=ACCOUNT_TAGS,
        bank_name=bank_name, refused=refused), status


@bp.get("/keuangan")
@office_required
def finance():
    """What the shop owes to whom and since when, accounts to verify, the fee, payout batches."""
    return _render_overview()


@bp.post("/keuangan/biaya")
@office_required
def set_fee():
    """The shop's fee on the goods of parcels paid from now on (0 to 50 %)."""
    form = FeeForm()
    if form.validate_on_submit():
        try:
            with unit_of_work():
                ledger.set_fee_basis_points(form.percent.data, current_user.audit_name)
        except LedgerError as exc:
            form.percent.errors.append(str(exc))
        else:
            flash(_("The shop's fee is now %(fee)s of the goods, for parcels paid from now on.",
                    fee=fee_percent(form.percent.data)), "success")
            return redirect(url_for("office.finance"), code=303)
    return _render_overview(fee_form=form, status=422)


@bp.post("/keuangan/batch")
@office_required
def build_batch():
    """A payout for every village with a verified account and at least the minimum available."""
    form = BatchForm()
    if form.validate_on_submit():
        try:
            with unit_of_work():
                batch_id = payouts.build_batch(form.minimum_idr.data, current_user.audit_name).id
        except LedgerError as exc:
            form.minimum_idr.errors.append(str(exc))
        else:
            flash(_("Payout batch #%(id)s is built. Download its file for the bank, then mark each payout "
                    "when the bank has transferred it.", id=batch_id), "success")
            return redirect(url_for("office.batch", batch_id=batch_id), code=303)
    return _render_overview(batch_form=form, status=422)


def _review(account_id, verified):
    account = db.get_or_404(BankAccount, account_id)
    form = ConfirmForm() if verified else _row_form(ReasonForm(), account.id, reason="refuse")
    if not form.validate_on_submit():
        return _render_overview(status=422, refused=(account.id, form))
    village = db.session.get(Village, account.village_id)
    try:
        with unit_of_work():
            payouts.review_account(account.id, verified=verified, actor_name=current_user.audit_name,
                                   note="" if verified else form.reason.data)
    except LedgerError as exc:
        form.refuse(str(exc))
        return _render_overview(status=422, refused=(account.id, form))
    else:
        if verified:
            flash(_("The account of %(village)s is verified: payouts can go to it.", village=village.name), "success")
        else:
            flash(_("The account of %(village)s is refused; the village sees why.", village=village.name), "success")
    return redirect(url_for("office.finance"), code=303)


@bp.post("/rekening/<id:account_id>/verifikasi")
@office_required
def verify_account(account_id):
    """The office checked the account against the bank book (or a test transfer)."""
    return _review(account_id, True)


@bp.post("/rekening/<id:account_id>/tolak")
@office_required
def refuse_account(account_id):
    """The account is wrong; the village reads the reason and corrects it."""
    return _review(account_id, False)


@bp.get("/keuangan/batch/<id:batch_id>")
@office_required
def batch(batch_id):
    """The batch's payouts, each with its outcome or the forms to record it."""
    return _render_batch(db.get_or_404(PayoutBatch, batch_id))


def _render_batch(found, refused=None, status=200):
    """The batch page; ``refused`` is ``(payout_id, kind, form)`` of a refused form, shown again in
    its payout's row with what was typed and why it was refused."""
    rows = payouts.batch_payouts(found.id)
    to_transfer = [payout for payout, _name, _account in rows if payout.status == "sent"]
    return render_template(
        "office/batch.html", batch=found, rows=rows, bank_name=bank_name, payout_labels=PAYOUT_LABELS,
        payout_tags=PAYOUT_TAGS,
        to_transfer_idr=sum(p.amount_idr for p in to_transfer), to_transfer=len(to_transfer),
        total_idr=sum(payout.amount_idr for payout, _name, _account in rows), today=today_wita(),
        confirm_form=ConfirmForm(), refused=refused), status


def _row_form(form, payout_id, **ids):
    """A form of one row of a list: its fields get the ids the row's inputs carry, so that the
    error summary's links reach them."""
    for name, prefix in ids.items():
        form[name].id = f"{prefix}-{payout_id}"
    return form


def batch_file_rows(batch_id):
    """The bulk-transfer lines of a batch: the payouts still to transfer (not yet marked paid or
    failed), so that a file downloaded again never pays anyone twice."""
    yield [_("Bank code"), _("Bank"), _("Account number"), _("Account holder"), _("Amount"), _("Remark"),
           _("Village")]
    for payout, village_name, account in payouts.batch_payouts(batch_id):
        if payout.status == "sent":
            yield [account.bank_code, bank_name(account.bank_code), account.account_number, account.holder_name,
                   payout.amount_idr, TRANSFER_REMARK.format(id=payout.id), village_name]


@bp.get("/keuangan/batch/<id:batch_id>.csv")
@office_required
def batch_csv(batch_id):
    """The file for the bank's bulk transfer."""
    found = db.get_or_404(PayoutBatch, batch_id)
    writer = CsvWriter()
    writer.writerows(batch_file_rows(found.id))
    return Response(writer.take(), mimetype="text/csv", headers={
        "Content-Disposition": f'attachment; filename="pembayaran-desa-batch-{found.id}.csv"',
        "Cache-Control": "private, no-store"})


def _payout_or_404(payout_id):
    return db.get_or_404(Payout, payout_id)


@bp.post("/pembayaran/<id:payout_id>/selesai")
@office_required
def payout_paid(payout_id):
    """The bank transferred the money: its reference and date; the village is mailed."""
    payout = _payout_or_404(payout_id)
    form = _row_form(PayoutPaidForm(), payout.id, bank_reference="reference", paid_on="paid-on")
    if not form.validate_on_submit():
        return _refused_in_batch(payout, "paid", form)
    try:
        with unit_of_work():
            payouts.mark_payout_paid(payout.id, bank_reference=form.bank_reference.data,
                                     paid_on=form.paid_on.data, actor_name=current_user.audit_name)
    except LedgerError as exc:
        form.refuse(_("Payout #%(id)s: %(problem)s", id=payout.id, problem=str(exc)))
        return _refused_in_batch(payout, "paid", form)
    flash(_("Payout #%(id)s is marked paid; the village is told by e-mail.", id=payout.id), "success")
    return redirect(url_for("office.batch", batch_id=payout.batch_id), code=303)


def _refused_in_batch(payout, kind, form):
    return _render_batch(db.session.get(PayoutBatch, payout.batch_id), (payout.id, kind, form), 422)


@bp.post("/pembayaran/<id:payout_id>/gagal")
@office_required
def payout_failed(payout_id):
    """The transfer failed or came back: the money returns to the village's balance."""
    payout = _payout_or_404(payout_id)
    form = _row_form(ReasonForm(), payout.id, reason="failed")
    if not form.validate_on_submit():
        return _refused_in_batch(payout, "failed", form)
    try:
        with unit_of_work():
            payouts.mark_payout_failed(payout.id, reason=form.reason.data, actor_name=current_user.audit_name)
    except LedgerError as exc:
        form.refuse(_("Payout #%(id)s: %(problem)s", id=payout.id, problem=str(exc)))
        return _refused_in_batch(payout, "failed", form)
    flash(_("Payout #%(id)s is marked failed; %(amount)s is back in the village's balance.",
            id=payout.id, amount=format_idr(payout.amount_idr)), "success")
    return redirect(url_for("office.batch", batch_id=payout.batch_id), code=303)


def _render_village(village, form=None, status=200, refused=None):
    page = statement_page(village.id, request.args.get("sebelum"))
    pending_idr, available_idr = ledger.balance(village.id)
    account = payouts.current_account(village.id)
    return render_template(
        "office/village_finance.html", village=village, page=page, pending=pending_parcels(village.id),
        pending_idr=pending_idr, available_idr=available_idr, account=account,
        bank=bank_name(account.bank_code) if account else "", account_labels=ACCOUNT_LABELS,
        account_tags=ACCOUNT_TAGS, form=form or AdjustmentForm(formdata=None), reverse_form=ConfirmForm(),
        payouts=payouts.village_payouts(village.id), payout_labels=PAYOUT_LABELS, refused=refused), status


@bp.get("/desa/<id:village_id>/keuangan")
@office_required
def village_finance(village_id):
    """One village's statement as the office sees it, with the adjustment form."""
    return _render_village(db.get_or_404(Village, village_id))


@bp.post("/desa/<id:village_id>/keuangan/penyesuaian")
@office_required
def adjust_balance(village_id):
    """A correction of the village's available money that is not a parcel, refund or payout."""
    village = db.get_or_404(Village, village_id)
    form = AdjustmentForm()
    if form.validate_on_submit():
        try:
            with unit_of_work():
                booked = ledger.adjust(village.id, form.amount_idr.data, current_user.audit_name, form.reason.data,
                                       once=form.once.data)
        except LedgerError as exc:
            form.amount_idr.errors.append(str(exc))
            return _render_village(village, form, 422)
        except IntegrityError:  # the same form sent twice at the same moment: the other one booked it
            booked = None
        if booked is None:
            flash(_("This adjustment was booked already."), "warning")
        else:
            flash(_("Adjustment of %(amount)s booked for %(village)s.", amount=format_idr(form.amount_idr.data),
                    village=village.name), "success")
        return redirect(url_for("office.village_finance", village_id=village.id), code=303)
    return _render_village(village, form, 422)


@bp.post("/desa/<id:village_id>/keuangan/penyesuaian/<id:entry_id>/batal")
@office_required
def reverse_adjustment(village_id, entry_id):
    """Undo an adjustment made by mistake: a reversing entry that says why."""
    village = db.get_or_404(Village, village_id)
    entry = db.session.get(LedgerEntry, entry_id)
    if entry is None or entry.village_id != village.id or entry.cause != "adjustment":
        abort(404)
    form = _row_form(ReasonForm(), entry_id, reason="reverse")
    if not form.validate_on_submit():
        return _render_village(village, status=422, refused=(entry_id, form))
    try:
        with unit_of_work():
            ledger.reverse_adjustment(entry_id, current_user.audit_name, form.reason.data, village_id=village.id)
    except LookupError:
        abort(404)
    except LedgerError as exc:
        form.refuse(str(exc))
        return _render_village(village, status=422, refused=(entry_id, form))
    except IntegrityError:  # reversed by a second press at the same moment
        flash(_("This entry was reversed already."), "warning")
    else:
        flash(_("The adjustment is reversed."), "success")
    return redirect(url_for("office.village_finance", village_id=village.id), code=303)
