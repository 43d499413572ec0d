"""Sign in and out."""
from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import login_required, login_user, logout_user

from ..urls import safe_next
from ..extensions import db
from ..villages.models import Village
from .forms import AcceptInvitationForm, SignInForm
from .services import AccountError, accept_invitation as accept, authenticate, find_invitation

bp = Blueprint("accounts", __name__)


@bp.route("/masuk", methods=["GET", "POST"])
def sign_in():
    form = SignInForm()
    if form.validate_on_submit():
        user = authenticate(form.email.data, form.password.data)
        if user is not None:
            login_user(user, remember=form.remember.data)
            flash(_("Welcome, %(name)s.", name=user.name), "success")
            return redirect(safe_next(request.args.get("next"), url_for("catalog.home")), code=303)
        form.password.errors.append(_("E-mail or password is wrong."))
    status = 422 if form.errors else 200
    return render_template("accounts/sign_in.html", form=form), status


@bp.post("/keluar")
@login_required
def sign_out():
    logout_user()
    flash(_("You have signed out."), "success")
    return redirect(url_for("catalog.home"), code=303)


@bp.route("/undangan/<token>", methods=["GET", "POST"])
def accept_invitation(token):
    """A village member opens the e-mailed link and chooses a password."""
    try:
        invitation = find_invitation(token)
    except AccountError as exc:
        return render_template("accounts/invitation_closed.html", message=str(exc)), 410
    form = AcceptInvitationForm(data={"name": invitation.name})
    if form.validate_on_submit():
        try:
            user = accept(token, name=form.name.data, password=form.password.data)
        except AccountError as exc:
            db.session.rollback()
            form.password.errors.append(str(exc))
        else:
            db.session.commit()
            login_user(user)
            flash(_("Welcome, %(name)s.", name=user.name), "success")
            return redirect(url_for("portal.home"), code=303)
    status = 422 if form.is_submitted() else 200
    village = db.session.get(Village, invitation.village_id)
    return render_template("accounts/accept_invitation.html", form=form, invitation=invitation,
                           village=village), status
