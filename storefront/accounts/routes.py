"""Sign in and out."""
from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import login_required, login_user, logout_user

from ..urls import safe_next
from .forms import SignInForm
from .services import authenticate

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
