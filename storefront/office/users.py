"""The admins' page of accounts: make a buyer a verifier, or take the role back."""
from flask import flash, redirect, render_template, url_for
from flask_babel import gettext as _, lazy_gettext as _l
from flask_login import current_user

from ..access import admin_required
from ..accounts.models import User
from ..accounts.services import AccountError, set_user_role, users_for_office
from ..extensions import db
from ..unit_of_work import unit_of_work
from .blueprint import bp
from .forms import RoleForm

#: How each role is named on the page (``User.role`` holds the code).
ROLE_LABELS = {"customer": _l("Buyer"), "village_member": _l("Village member"), "verifier": _l("Verifier"),
               "admin": _l("Administrator")}


@bp.get("/pengguna")
@admin_required
def users():
    return render_template("office/users.html", users=users_for_office(), form=RoleForm(),
                           role_labels=ROLE_LABELS)


@bp.post("/pengguna/<id:user_id>/peran")
@admin_required
def change_role(user_id):
    user = db.get_or_404(User, user_id)
    form = RoleForm()
    if form.validate_on_submit():
        try:
            with unit_of_work():
                set_user_role(user, form.role.data, actor=current_user)
        except AccountError as exc:
            flash(str(exc), "warning")
        else:
            flash(_("%(email)s is now: %(role)s.", email=user.email, role=form.role.data), "success")
    else:
        flash(_("Choose a valid role."), "warning")
    return redirect(url_for("office.users"), code=303)
