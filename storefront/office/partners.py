"""The office's partners (``/kantor/mitra``): marketplaces such as NTT Mart, their API keys
(made, shown once, rotated, revoked, with a limit each and their last use), the audit of what
each key read, and their catalogue webhook."""
from flask import abort, flash, make_response, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy.exc import IntegrityError

from .. import clock
from ..access import office_required
from ..forms import ConfirmForm
from ..outbox.services import WebhookError
from ..outbox.signing import EVENT_ID_HEADER, EVENT_TYPE_HEADER, SIGNATURE_HEADER
from ..partners.keys import ROTATION_OVERLAP, PartnerKeyError, is_usable, issue_key, revoke_key, rotate_key
from ..partners.services import (PartnerError, create_partner, deactivate_partner_webhook, partner_deliveries,
                                 partner_for_office, partner_reads, partners_for_office,
                                 rotate_partner_webhook_secret, save_partner_webhook)
from ..partners.sync import EVENT_KINDS
from ..unit_of_work import unit_of_work
from .blueprint import bp
from .partner_forms import KeyForm, PartnerForm, PartnerWebhookForm

#: Where a key just made waits, in the office user's own session, for the one page that shows it.
NEW_KEY = "partner_new_key"


def _partner(partner_id):
    partner = partner_for_office(partner_id)
    if partner is None:
        abort(404)
    return partner


def _key_states(keys, now):
    """key id -> ``(state, until)``: ``active``, ``ending`` (rotated, works until), ``revoked``
    or ``ended``."""
    states = {}
    for key in keys:
        if key.revoked_at is not None:
            states[key.id] = ("revoked", key.revoked_at)
        elif not is_usable(key, now):
            states[key.id] = ("ended", key.expires_at)
        elif key.expires_at is not None:
            states[key.id] = ("ending", key.expires_at)
        else:
            states[key.id] = ("active", None)
    return states


@bp.get("/mitra")
@office_required
def partners():
    return _partners_page(PartnerForm())


def _partners_page(form):
    now = clock.now_utc()
    rows = partners_for_office()
    summary = {p.id: {"usable": sum(1 for k in p.keys if is_usable(k, now)),
                      "last_used": max((k.last_used_at for k in p.keys if k.last_used_at), default=None)}
               for p in rows}
    return render_template("office/partners.html", partners=rows, summary=summary, form=form)


@bp.post("/mitra")
@office_required
def new_partner():
    form = PartnerForm()
    if form.validate_on_submit():
        try:
            with unit_of_work():
                partner = create_partner(form.name.data, form.contact_email.data or "", actor_name=current_user.name)
        except (PartnerError, IntegrityError) as exc:
            form.refuse(str(exc) if isinstance(exc, PartnerError) else
                        _("A partner named %(name)s exists already.", name=form.name.data), "name")
        else:
            flash(_("Partner %(name)s added. Make its first key next.", name=partner.name), "success")
            return redirect(url_for("office.partner", partner_id=partner.id), code=303)
    return _partners_page(form), 422


def _partner_page(partner, key_form=None, webhook_form=None, status=200):
    now = clock.now_utc()
    shown = session.pop(NEW_KEY, None)
    new_key = shown["key"] if shown and shown.get("partner_id") == partner.id else None
    response = make_response(render_template(
        "office/partner.html", partner=partner, keys=sorted(partner.keys, key=lambda k: k.id, reverse=True),
        states=_key_states(partner.keys, now), new_key=new_key, key_form=key_form or KeyForm(),
        webhook_form=webhook_form or PartnerWebhookForm(data={"url": partner.webhook_url or ""}),
        confirm=ConfirmForm(), reads=partner_reads(partner.id, now), deliveries=partner_deliveries(partner.id),
        event_kinds=EVENT_KINDS, overlap_hours=int(ROTATION_OVERLAP.total_seconds() // 3600),
        headers={"signature": SIGNATURE_HEADER, "event_id": EVENT_ID_HEADER, "event_type": EVENT_TYPE_HEADER}),
        status)
    response.headers["Cache-Control"] = "no-store"  # a new key, a signing secret
    return response


@bp.get("/mitra/<id:partner_id>")
@office_required
def partner(partner_id):
    return _partner_page(_partner(partner_id))


def _show_once(partner_id, key):
    """Keep the new key for the next page of this office user only; that page removes it."""
    session[NEW_KEY] = {"partner_id": partner_id, "key": key}


@bp.post("/mitra/<id:partner_id>/kunci")
@office_required
def issue_partner_key(partner_id):
    partner = _partner(partner_id)
    form = KeyForm()
    if not form.validate_on_submit():
        return _partner_page(partner, key_form=form, status=422)
    with unit_of_work():
        row, key = issue_key(partner.id, requests_per_minute=form.requests_per_minute.data,
                             actor_name=current_user.name)
        prefix = row.prefix
    _show_once(partner.id, key)
    flash(_("Key %(prefix)s made.", prefix=prefix), "success")
    return redirect(url_for("office.partner", partner_id=partner.id), code=303)


@bp.post("/mitra/<id:partner_id>/kunci/<id:key_id>/ganti")
@office_required
def rotate_partner_key(partner_id, key_id):
    partner = _partner(partner_id)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    try:
        with unit_of_work():
            row, key = rotate_key(partner.id, key_id, actor_name=current_user.name)
            prefix = row.prefix
    except LookupError:
        abort(404)
    except PartnerKeyError as exc:
        flash(str(exc), "warning")
    else:
        _show_once(partner.id, key)
        flash(_("Key %(prefix)s made. The old key keeps working for %(hours)d hours, then stops.",
                prefix=prefix, hours=int(ROTATION_OVERLAP.total_seconds() // 3600)), "success")
    return redirect(url_for("office.partner", partner_id=partner.id), code=303)


@bp.post("/mitra/<id:partner_id>/kunci/<id:key_id>/cabut")
@office_required
def revoke_partner_key(partner_id, key_id):
    partner = _partner(partner_id)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    try:
        with unit_of_work():
            stopped = revoke_key(partner.id, key_id)
    except LookupError:
        abort(404)
    flash(_("The key is revoked: it stopped working at once.") if stopped else _("The key was revoked already."),
          "success")
    return redirect(url_for("office.partner", partner_id=partner.id), code=303)


@bp.post("/mitra/<id:partner_id>/webhook")
@office_required
def partner_webhook(partner_id):
    """Set the address (turns the webhook on), make a new secret, or turn the webhook off."""
    partner = _partner(partner_id)
    action = request.form.get("action", "save")
    if action == "save":
        form = PartnerWebhookForm()
        if form.validate_on_submit():
            try:
                with unit_of_work():
                    save_partner_webhook(partner.id, form.url.data)
            except (WebhookError, PartnerError) as exc:
                form.refuse(str(exc), "url")
            else:
                flash(_("Saved. Catalogue events are now sent to %(url)s.", url=form.url.data), "success")
                return redirect(url_for("office.partner", partner_id=partner.id), code=303)
        return _partner_page(_partner(partner_id), webhook_form=form, status=422)
    if action not in ("rotate", "deactivate") or not ConfirmForm().validate_on_submit():
        abort(400)
    try:
        with unit_of_work():
            if action == "rotate":
                rotate_partner_webhook_secret(partner.id)
            else:
                deactivate_partner_webhook(partner.id)
    except WebhookError as exc:
        flash(str(exc), "warning")
    else:
        flash(_("New secret made. Give it to the partner now: the old one no longer works.")
              if action == "rotate" else
              _("The webhook is off. Nothing more is sent until an address is saved again."), "success")
    return redirect(url_for("office.partner", partner_id=partner.id), code=303)
