"""Village portal: the village's money ("Keuangan"), its own village only.

The balance (available and pending), when the next payout comes, the statement line by line
(newest first, paged with ``?sebelum=<entry id>``) and as a CSV, the parcels still pending, the
payouts made, and the bank account the village is paid into.
"""
from flask import (Response, current_app, flash, redirect, render_template, request, stream_with_context,
                   url_for)
from flask_babel import format_date, gettext as _
from flask_login import current_user

from ..access import member_required
from ..clock import today_wita
from ..csv_safe import CsvWriter
from ..money import format_idr
from ..settlement import ledger, payouts
from ..settlement.banks import bank_name
from ..settlement.ledger import LedgerError
from ..statement import (ACCOUNT_LABELS, ACCOUNT_TAGS, PAYOUT_LABELS, csv_header, csv_row, fee_percent,
                         pending_parcels, statement_page, to_lines)
from ..unit_of_work import unit_of_work
from .blueprint import bp, own_village
from .finance_forms import BankAccountForm


def next_payout_notice(account, available_idr):
    """What the village is told about its next payout, in one sentence."""
    minimum = current_app.config["PAYOUT_MINIMUM_IDR"]
    if account is None:
        return _("No payout can be made yet: enter your bank account, and the office must verify it first.")
    if account.status == "unverified":
        return _("No payout can be made until the office has verified your bank account. It is waiting for "
                 "the office.")
    if account.status == "rejected":
        return _("No payout can be made: the office refused your bank account. Correct it, and the office "
                 "must verify it first.")
    if available_idr < 0:
        return _("Your village owes the shop %(amount)s (the shop's fee on cash-on-delivery parcels); it is "
                 "taken from what your village earns next.", amount=format_idr(-available_idr))
    if available_idr < minimum:
        return _("Your balance is paid once it reaches %(minimum)s (now %(available)s).",
                 minimum=format_idr(minimum), available=format_idr(available_idr))
    day = payouts.next_payout_date(today_wita(), current_app.config["PAYOUT_WEEKDAY"])
    return _("Next expected payout: %(amount)s on %(date)s (WITA), to %(bank)s %(account)s.",
             amount=format_idr(available_idr), date=format_date(day, "EEEE, d MMMM yyyy"),
             bank=bank_name(account.bank_code), account=account.masked_number)


@bp.get("/keuangan")
@member_required
def finance():
    """Balance, next payout, fee, the statement of the available money, pending parcels, payouts."""
    village = own_village()
    page = statement_page(village.id, request.args.get("sebelum"))
    pending_idr, available_idr = ledger.balance(village.id)
    account = payouts.current_account(village.id)
    fee = ledger.fee_basis_points()
    weekday = format_date(payouts.next_payout_date(today_wita(), current_app.config["PAYOUT_WEEKDAY"]), "EEEE")
    made = payouts.village_payouts(village.id)
    on_the_way = [_("Payout #%(id)s of %(amount)s is on its way to %(account)s; you get an e-mail when the bank "
                    "has transferred it.", id=payout.id, amount=format_idr(payout.amount_idr),
                    account=to.masked_number) for payout, to in made if payout.status == "sent"]
    return render_template(
        "portal/finance.html", village=village, page=page,
        pending_idr=pending_idr, available_idr=available_idr, account=account,
        bank=bank_name(account.bank_code) if account else "", next_payout=next_payout_notice(account, available_idr),
        fee=fee_percent(fee), pending=pending_parcels(village.id), payouts=made, on_the_way=on_the_way,
        minimum=current_app.config["PAYOUT_MINIMUM_IDR"], weekday=weekday,
        delivered_after_days=current_app.config["DELIVERED_AFTER_DAYS"], payout_labels=PAYOUT_LABELS,
        account_labels=ACCOUNT_LABELS, account_tags=ACCOUNT_TAGS)


def statement_csv(village):
    """The village's whole statement (both buckets, oldest first) as a CSV download."""
    village_id = village.id

    def rows():
        writer = CsvWriter()
        writer.writerow(csv_header())
        yield "\ufeff" + writer.take()  # a byte-order mark, so that spreadsheets read UTF-8
        for chunk in ledger.statement_chunks(village_id):
            writer.writerows(csv_row(line) for line in to_lines(chunk))
            yield writer.take()

    filename = f"keuangan-{village.slug}-{today_wita().isoformat()}.csv"
    return Response(stream_with_context(rows()), mimetype="text/csv", headers={
        "Content-Disposition": f'attachment; filename="{filename}"', "Cache-Control": "private, no-store"})


@bp.get("/keuangan.csv")
@member_required
def finance_csv():
    return statement_csv(own_village())


@bp.route("/keuangan/rekening", methods=["GET", "POST"])
@member_required
def bank_account():
    """The account the village is paid into: the one screen where its full number shows. A change
    waits for the office's verification again."""
    village = own_village()
    current = payouts.current_account(village.id)
    form = BankAccountForm()
    if form.validate_on_submit():
        try:
            with unit_of_work():
                saved = payouts.submit_account(
                    village.id, bank_code=form.bank_code.data, account_number=form.account_number.data,
                    holder_name=form.holder_name.data, actor_name=current_user.audit_name)
                unchanged = current is not None and saved.id == current.id
        except LedgerError as exc:
            form.form_errors.append(str(exc))
        else:
            if unchanged:
                flash(_("Nothing changed: this is already your account."), "success")
            else:
                flash(_("Account saved. The office checks it before any payout is made to it."), "success")
            return redirect(url_for("portal.bank_account"), code=303)
    elif not form.is_submitted() and current is not None:
        form.bank_code.data = current.bank_code
        form.account_number.data = current.account_number
        form.holder_name.data = current.holder_name
    status = 422 if form.is_submitted() else 200
    return render_template("portal/bank_account.html", village=village, form=form, account=current,
                           bank=bank_name(current.bank_code) if current else "", account_labels=ACCOUNT_LABELS,
                           account_tags=ACCOUNT_TAGS), status
