"""Village portal: the village's webhook (address, signing secret) and its delivery log of
webhook calls and e-mails, with a button to send one again. A member's own village only."""
from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _, lazy_gettext as _l
from flask_login import current_user
from sqlalchemy.exc import IntegrityError
from wtforms import StringField
from wtforms.validators import InputRequired, Length

from ..access import member_required
from ..forms import ConfirmForm, ShopForm
from ..numbers import whole_number
from ..orders.notices import EVENT_KINDS
from ..outbox.services import (LOG_PAGE_SIZE, URL_MAX, DeliveryNotFound, WebhookError, deactivate_webhook,
                               delivery_log, resend_delivery, rotate_webhook_secret, save_webhook,
                               village_webhook)
from ..outbox.signing import EVENT_ID_HEADER, EVENT_TYPE_HEADER, SIGNATURE_HEADER
from ..unit_of_work import unit_of_work
from .blueprint import bp, own_village


class WebhookForm(ShopForm):
    url = StringField(_l("Receiver address (https://...)"), validators=[
        InputRequired(message=_l("Enter the address of your receiver, starting with https://.")),
        Length(max=URL_MAX, message=_l("The address is too long (at most %(max)d characters).", max=URL_MAX))],
        filters=[lambda value: value.strip() if value else value])


def _status_labels():
    return {"pending": _("waiting"), "delivered": _("delivered"), "failed": _("failed")}


def _kind_labels():
    return {"order.paid": _("New paid order"), "order.cancelled": _("Order cancelled"),
            "order.status_changed": _("Parcel status changed"), "order.delayed": _("Order delayed"),
            "papers.expiring": _("Papers expiring")}


@bp.route("/webhook", methods=["GET", "POST"])
@member_required
def webhook():
    """Register or change the address, see the secret, turn the webhook off, rotate the secret."""
    village_id = current_user.village_id
    hook = village_webhook(village_id)
    form = WebhookForm(data={"url": hook.url if hook else ""})
    action = request.form.get("action", "save") if request.method == "POST" else None
    if action == "save" and form.validate_on_submit():
        try:
            with unit_of_work():
                save_webhook(village_id, form.url.data)
        except WebhookError as exc:
            form.url.errors = [*form.url.errors, str(exc)]
        except IntegrityError:  # another member registered one at the same moment
            form.url.errors = [*form.url.errors,
                               _("Someone else changed the webhook just now. Please try again.")]
        else:
            flash(_("Saved. Order events are now sent to %(url)s.", url=form.url.data), "success")
            return redirect(url_for("portal.webhook"), code=303)
    elif action in ("rotate", "deactivate"):
        if ConfirmForm().validate_on_submit():
            try:
                with unit_of_work():
                    if action == "rotate":
                        rotate_webhook_secret(village_id)
                    else:
                        deactivate_webhook(village_id)
            except WebhookError as exc:
                flash(str(exc), "warning")
            else:
                flash(_("New secret made. Put it in your receiver now: the old one no longer works.")
                      if action == "rotate" else
                      _("The webhook is off. Nothing more is sent until you save an address again."),
                      "success")
            return redirect(url_for("portal.webhook"), code=303)
        abort(400)
    elif action is not None and action != "save":
        abort(400)
    status = 422 if form.errors else 200
    return render_template("portal/webhook.html", village=own_village(), webhook=village_webhook(village_id),
                           form=form, confirm=ConfirmForm(), event_kinds=EVENT_KINDS,
                           kind_labels=_kind_labels(), headers={"signature": SIGNATURE_HEADER,
                                                                "event_id": EVENT_ID_HEADER,
                                                                "event_type": EVENT_TYPE_HEADER}), status


@bp.get("/webhook/kiriman")
@member_required
def deliveries():
    """The village's webhook calls and e-mails, newest first, with every attempt."""
    before = whole_number(request.args.get("sebelum"), minimum=1)  # odd: the newest page
    messages, next_before = delivery_log(current_user.village_id, before=before, limit=LOG_PAGE_SIZE)
    return render_template("portal/deliveries.html", village=own_village(), messages=messages,
                           next_before=next_before, confirm=ConfirmForm(),
                           status_labels=_status_labels(), kind_labels=_kind_labels(),
                           webhook=village_webhook(current_user.village_id))


@bp.post("/webhook/kiriman/<id:message_id>/kirim-ulang", endpoint="resend_delivery")
@member_required
def resend(message_id):
    """Send a message again with the same event id (after fixing the receiver, say)."""
    if not ConfirmForm().validate_on_submit():
        abort(400)
    try:
        with unit_of_work():
            resend_delivery(current_user.village_id, message_id)
    except DeliveryNotFound:
        abort(404)
    except WebhookError as exc:
        flash(str(exc), "warning")
    else:
        flash(_("It will be sent again within a few seconds, with the same event id."), "success")
    return redirect(url_for("portal.deliveries"), code=303)
