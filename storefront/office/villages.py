"""The office's villages: register, suspend and reinstate them, invite their members, print
their QR labels."""
from flask import current_app, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user

from ..access import office_required
from ..accounts.mails import queue_invitation_mail
from ..accounts.services import AccountError, invite_member, village_members
from ..contact import ContactError, normalise_phone
from ..extensions import db
from ..forms import ConfirmForm
from ..legality.labels import label_rows
from ..unit_of_work import unit_of_work
from ..villages.models import Village
from ..villages.services import VillageError, create_village, set_village_active, villages_for_office
from .blueprint import bp
from .forms import InviteForm, VillageForm


@bp.get("/desa")
@office_required
def villages():
    return render_template("office/villages.html", villages=villages_for_office(), confirm_form=ConfirmForm())


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
                with unit_of_work():
                    village = create_village(
                        slug=form.slug.data, name=form.name.data, regency_code=form.regency_code.data,
                        district=form.district.data or "", group_name=form.group_name.data,
                        group_type=form.group_type.data, story=form.story.data or "", phone=phone,
                        email=(form.email.data or "").lower() or None)
            except VillageError as exc:
                form.slug.errors.append(str(exc))
            else:
                flash(_("Village %(name)s registered. Invite its members next.", name=village.name), "success")
                return redirect(url_for("office.invite", village_id=village.id), code=303)
    status = 422 if form.is_submitted() else 200
    return render_template("office/village_form.html", form=form), status


def _village(village_id):
    return db.get_or_404(Village, village_id)


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
        with unit_of_work():
            set_village_active(village, active)
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
        days = current_app.config["INVITATION_DAYS"]
        try:
            with unit_of_work():
                invitation, token = invite_member(village_id=village.id, email=form.email.data,
                                                  name=form.name.data, invited_by=current_user, days=days)
                queue_invitation_mail(invitation, village, token, days=days)
        except (AccountError, ContactError) as exc:
            form.email.errors.append(str(exc))
        else:
            flash(_("Invitation sent to %(email)s.", email=invitation.email), "success")
            return redirect(url_for("office.invite", village_id=village.id), code=303)
    status = 422 if form.is_submitted() else 200
    return render_template("office/invite.html", form=form, village=village,
                           members=village_members(village.id)), status


@bp.get("/desa/<id:village_id>/label")
@office_required
def village_labels(village_id):
    village = _village(village_id)
    return render_template("legality/labels.html", village=village, labels=label_rows(village))
