"""Sign in and out, sign up, password reset, and a buyer's account: orders and saved addresses."""
from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from werkzeug.routing import BuildError

from ..address_forms import SavedAddressForm
from ..addresses import saved_address_data
from ..catalog.paging import page_number
from ..contact import ContactError
from ..extensions import db
from ..forms import ConfirmForm
from ..i18n import current_language
from ..orders.models import Order
from ..orders.timeline import order_views
from ..ratelimit import accepted_form, configured, failed_form, limiter, posted_email_key, too_many_attempts
from ..unit_of_work import unit_of_work
from ..urls import safe_next
from ..villages.models import Village
from .forms import (AcceptInvitationForm, ChangePasswordForm, ForgotPasswordForm, MailChoiceForm,
                    ResetPasswordForm, SignInForm, SignUpForm)
from .mails import queue_reset_mail, queue_sign_up_mail
from .models import Address
from .services import (AccountError, AddressNotFound, WeakPassword, WrongPassword,
                       accept_invitation as accept, add_address, authenticate,
                       change_password as apply_password_change, confirm_sign_up as activate_account,
                       delete_address as remove_address, end_all_sessions, find_invitation,
                       find_password_reset, find_sign_up_confirmation, request_password_reset,
                       reset_password as apply_password_reset, set_default_address, set_optional_mail,
                       sign_up as open_account, update_address)
from .sessions import sign_out_here, start_session
from .throttle import SignInAttempt, count_failure, remember_device, seconds_to_wait

bp = Blueprint("accounts", __name__)


def _home_of(user):
    """Where a person lands after signing in: staff in their own area, buyers in the shop."""
    if user.role == "village_member" and user.village_id:
        return url_for("portal.home")
    if user.role in ("verifier", "admin"):
        return url_for("office.home")
    return url_for("catalog.home")


@bp.route("/masuk", methods=["GET", "POST"])
def sign_in():
    """Sign in with e-mail and password, in a brand-new session. Failures are counted per
    device cookie, or per account and address for unknown browsers (see throttle.py)."""
    form = SignInForm()
    failed = False  # a wrong e-mail or password (not a form refused for its content)
    if form.validate_on_submit():
        attempt = SignInAttempt.from_request(form.email.data)
        wait = seconds_to_wait(attempt)
        if wait:
            return too_many_attempts(wait)
        user = authenticate(form.email.data, form.password.data)
        if user is not None:
            with unit_of_work():  # the guest's cart joins the account's as the session starts
                user.lang = current_language()
                start_session(user, remember=form.remember.data)
            remember_device(user.email)
            flash(_("Welcome, %(name)s.", name=user.name), "success")
            return redirect(safe_next(request.args.get("next"), _home_of(user)), code=303)
        count_failure(attempt)
        form.password.errors.append(_("E-mail or password is wrong."))
        failed = True
    status = 422 if form.errors else 200
    return render_template("accounts/sign_in.html", form=form, failed=failed,
                           next_url=request.args.get("next")), status


@bp.post("/keluar")
@login_required
def sign_out():
    """End this session and every other of the account: old cookies stop working."""
    with unit_of_work():
        end_all_sessions(current_user._get_current_object())
    sign_out_here()
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
            with unit_of_work():
                user = accept(token, name=form.name.data, password=form.password.data)
                start_session(user)
        except AccountError as exc:
            form.password.errors.append(str(exc))
        else:
            remember_device(user.email)
            flash(_("Welcome, %(name)s.", name=user.name), "success")
            return redirect(url_for("portal.home"), code=303)
    status = 422 if form.is_submitted() else 200
    village = db.session.get(Village, invitation.village_id)
    return render_template("accounts/accept_invitation.html", form=form, invitation=invitation,
                           village=village), status


# --- sign up -------------------------------------------------------------------------------------

def _sign_up(form, hours):
    """Run ``sign_up`` for the form; once more if a parallel sign-up for the same address won
    the race to create the account (the second then finds it, as a later one would)."""
    values = dict(email=form.email.data, name=form.name.data, password=form.password.data,
                  hours=hours)
    next_url = safe_next(request.args.get("next"), None)
    for attempt in (1, 2):
        try:
            with unit_of_work():
                outcome = open_account(**values)
                queue_sign_up_mail(outcome, hours=hours, lang=current_language(), next_url=next_url)
            return outcome
        except IntegrityError:
            if attempt == 2:
                raise


@bp.route("/daftar", methods=["GET", "POST"])
@limiter.limit(configured("RATELIMIT_SIGN_UP_IP"), methods=["POST"], deduct_when=accepted_form)
@limiter.limit(configured("RATELIMIT_SIGN_UP_EMAIL"), methods=["POST"], key_func=posted_email_key,
               deduct_when=accepted_form, scope="sign-up-email")
def sign_up():
    """A buyer asks for an account (optional: guests can buy without one). The answer is the
    same whether or not the address has an account: a link to activate a new account, or a
    notice to the owner of an existing one, goes to the address."""
    if current_user.is_authenticated:
        return redirect(url_for("accounts.account"))
    form = SignUpForm()
    if form.validate_on_submit():
        hours = int(current_app.config["SIGN_UP_CONFIRM_HOURS"])
        try:
            _sign_up(form, hours)
        except WeakPassword as exc:
            form.password.errors.append(str(exc))
        except ContactError:
            form.email.errors.append(_("Enter a valid e-mail address, e.g. nama@contoh.id."))
        else:
            return redirect(url_for("accounts.sign_up_sent"), code=303)
    status = 422 if form.is_submitted() else 200
    return render_template("accounts/sign_up.html", form=form,
                           next_url=request.args.get("next")), status


@bp.get("/daftar/terkirim")
def sign_up_sent():
    """After a sign-up: look in your mailbox (the same page for every address)."""
    hours = int(current_app.config["SIGN_UP_CONFIRM_HOURS"])
    return render_template("accounts/sign_up_sent.html", hours=hours)


@bp.route("/daftar/konfirmasi/<token>", methods=["GET", "POST"])
def confirm_sign_up(token):
    """The mailed link: one button activates the account and signs the person in. (A button,
    not the GET itself: mail scanners open links, and another site must not be able to sign a
    visitor in to an account of its choosing.)"""
    try:
        find_sign_up_confirmation(token)
    except AccountError as exc:
        return render_template("accounts/confirm_closed.html", message=str(exc)), 410
    form = ConfirmForm()
    if form.validate_on_submit():
        try:
            with unit_of_work():
                user = activate_account(token)
                user.lang = current_language()
                start_session(user)
        except AccountError as exc:  # used by a parallel request a moment ago
            return render_template("accounts/confirm_closed.html", message=str(exc)), 410
        remember_device(user.email)
        flash(_("Welcome, %(name)s. Your account is ready.", name=user.name), "success")
        return redirect(safe_next(request.args.get("next"), url_for("accounts.account")),
                        code=303)
    status = 422 if form.is_submitted() else 200
    return render_template("accounts/confirm_sign_up.html", form=form), status


# --- password reset ------------------------------------------------------------------------------

@bp.route("/lupa-sandi", methods=["GET", "POST"])
@limiter.limit(configured("RATELIMIT_RESET_IP"), methods=["POST"])
@limiter.limit(configured("RATELIMIT_RESET_EMAIL"), methods=["POST"], key_func=posted_email_key,
               scope="reset-email")
def forgot_password():
    """Ask for a reset link. The answer is the same whether or not the account exists."""
    form = ForgotPasswordForm()
    if form.validate_on_submit():
        minutes = int(current_app.config.get("PASSWORD_RESET_MINUTES", 60))
        with unit_of_work():
            opened = request_password_reset(form.email.data, minutes=minutes)
            if opened is not None:
                queue_reset_mail(*opened, minutes=minutes)
        flash(_("If an account exists for that address, we have sent it a link to choose a new "
                "password. The link works once, for %(minutes)d minutes. Check your spam folder "
                "too.", minutes=minutes), "success")
        return redirect(url_for("accounts.forgot_password"), code=303)
    status = 422 if form.is_submitted() else 200
    return render_template("accounts/forgot_password.html", form=form), status


@bp.route("/reset-sandi/<token>", methods=["GET", "POST"])
def reset_password(token):
    """Choose a new password from an e-mailed link; the link then stops working."""
    try:
        find_password_reset(token)
    except AccountError as exc:
        return render_template("accounts/reset_closed.html", message=str(exc)), 410
    form = ResetPasswordForm()
    if form.validate_on_submit():
        try:
            with unit_of_work():
                user = apply_password_reset(token, form.password.data)
        except WeakPassword as exc:  # e.g. it holds the account's e-mail address
            form.password.errors.append(str(exc))
            return render_template("accounts/reset_password.html", form=form), 422
        except AccountError as exc:  # spent by a parallel request a moment ago
            return render_template("accounts/reset_closed.html", message=str(exc)), 410
        sign_out_here()  # a session open in this browser was ended with all the others
        remember_device(user.email)  # the mailbox is proved: this browser may sign in
        flash(_("Your password has been changed. Sign in with the new one."), "success")
        return redirect(url_for("accounts.sign_in"), code=303)
    status = 422 if form.is_submitted() else 200
    return render_template("accounts/reset_password.html", form=form), status


# --- the buyer's account -------------------------------------------------------------------------

ORDERS_PER_PAGE = 20

def _order_url(number):
    """The order's page: ``orders.detail`` once that blueprint exists, else its known path."""
    if "orders.detail" in current_app.view_functions:
        try:
            return url_for("orders.detail", number=number)
        except BuildError:
            pass
    return f"/pesanan/{number}"


@bp.get("/akun")
@login_required
def account():
    """The signed-in person's account: who they are, links to orders and addresses, their choice
    of optional mail."""
    return render_template("accounts/account.html", user=current_user,
                           mail_form=MailChoiceForm(data={"optional_mail": current_user.optional_mail}))


@bp.post("/akun/surel")
@login_required
def mail_choice():
    """Turn mail that is not about an order in progress on or off; mail about orders always comes."""
    form = MailChoiceForm()
    if not form.validate_on_submit():
        flash(_("The form expired. Please try again."), "warning")
        return redirect(url_for("accounts.account"), code=303)
    with unit_of_work():
        set_optional_mail(current_user._get_current_object(), form.optional_mail.data)
    flash(_("Saved: we send you mail that is not about an order in progress.") if form.optional_mail.data
          else _("Saved: we send you only mail about your orders and your account."), "success")
    return redirect(url_for("accounts.account"), code=303)


def _current_user_key():
    return f"user:{current_user.get_id().partition(':')[0]}" if current_user.is_authenticated else ""


@bp.route("/akun/sandi", methods=["GET", "POST"])
@login_required
@limiter.limit(configured("RATELIMIT_PASSWORD_CHANGE_USER"), methods=["POST"],
               key_func=_current_user_key, deduct_when=failed_form, scope="password-change")
def change_password():
    """Change the password (the current one is asked for); every other session then ends and
    this one goes on in a fresh session."""
    form = ChangePasswordForm()
    if form.validate_on_submit():
        user = current_user._get_current_object()
        remember = current_app.config.get("REMEMBER_COOKIE_NAME", "remember_token")
        try:
            with unit_of_work():
                apply_password_change(user, current_password=form.current.data,
                                      new_password=form.password.data)
                start_session(user, remember=remember in request.cookies)
        except WrongPassword as exc:
            form.current.errors.append(str(exc))
        except AccountError as exc:
            form.password.errors.append(str(exc))
        else:
            remember_device(user.email)
            flash(_("Your password has been changed. You have been signed out everywhere else."),
                  "success")
            return redirect(url_for("accounts.account"), code=303)
    status = 422 if form.is_submitted() else 200
    return render_template("accounts/change_password.html", form=form), status


@bp.get("/akun/pesanan")
@login_required
def order_history():
    """The signed-in person's own orders, newest first: each with where it stands (its derived
    status), and each parcel's goods and status; a few queries whatever the number of orders."""
    page = db.paginate(
        select(Order).where(Order.user_id == current_user.id)
        .order_by(Order.created_at.desc(), Order.id.desc()),
        page=page_number(request.args), per_page=ORDERS_PER_PAGE, error_out=False)
    rows = [{"number": view.order.number, "created_at": view.order.created_at, "status": view.label,
             "parcels": view.parcels, "total_idr": view.order.total_idr, "url": _order_url(view.order.number)}
            for view in order_views(page.items)]
    return render_template("accounts/orders.html", page=page, orders=rows)


def _own_addresses():
    """The signed-in person's saved addresses, the default first, then oldest first."""
    return db.session.scalars(
        select(Address).where(Address.user_id == current_user.id)
        .order_by(Address.is_default.desc(), Address.created_at, Address.id)).all()


def _own_address_or_404(address_id):
    address = db.session.scalars(select(Address).where(
        Address.id == address_id, Address.user_id == current_user.id)).one_or_none()
    if address is None:
        abort(404)
    return address


@bp.route("/akun/alamat", methods=["GET", "POST"])
@login_required
def addresses():
    """Saved shipping addresses: the list, and a form to add one."""
    form = SavedAddressForm()
    if not form.picking and form.validate_on_submit():
        try:
            with unit_of_work():
                add_address(current_user, form.address(), default=form.is_default.data)
        except AccountError as exc:
            form.form_errors.append(str(exc))
        else:
            flash(_("Address saved."), "success")
            return redirect(url_for("accounts.addresses"), code=303)
    status = 422 if form.is_submitted() and not form.picking else 200
    return render_template("accounts/addresses.html", form=form,
                           addresses=_own_addresses()), status


@bp.route("/akun/alamat/<id:address_id>/ubah", methods=["GET", "POST"])
@login_required
def edit_address(address_id):
    """Change one of the signed-in person's saved addresses; anyone else's is a 404. A place
    that an older address holds as a typed name, not on the list, is chosen again."""
    address = _own_address_or_404(address_id)
    data, notes = saved_address_data(address)
    form = SavedAddressForm(data=dict(data, is_default=address.is_default))
    if not form.is_submitted():
        for name, note in notes.items():
            form[name].errors = [note]
    elif not form.picking and form.validate_on_submit():
        try:
            with unit_of_work():
                update_address(current_user, address_id, form.address(), default=form.is_default.data)
        except AddressNotFound:
            abort(404)
        except AccountError as exc:
            form.form_errors.append(str(exc))
        else:
            flash(_("Address saved."), "success")
            return redirect(url_for("accounts.addresses"), code=303)
    status = 422 if form.is_submitted() and not form.picking else 200
    return render_template("accounts/address_edit.html", form=form, address=address), status


@bp.post("/akun/alamat/<id:address_id>/utama")
@login_required
def default_address(address_id):
    """Make one of the signed-in person's saved addresses the one checkout fills in."""
    return _address_button(set_default_address, address_id, _("Checkout now fills in this address by itself."))


@bp.post("/akun/alamat/<id:address_id>/hapus")
@login_required
def delete_address(address_id):
    """Delete one of the signed-in person's saved addresses; anyone else's is a 404."""
    return _address_button(remove_address, address_id, _("Address deleted."))


def _address_button(action, address_id, done):
    """A button on the list of saved addresses: ``action(user, address_id)`` on one of the
    signed-in person's own addresses (anyone else's is a 404), then back to the list."""
    if not ConfirmForm().validate_on_submit():
        abort(400)
    try:
        with unit_of_work():
            action(current_user, address_id)
    except AddressNotFound:
        abort(404)
    flash(done, "success")
    return redirect(url_for("accounts.addresses"), code=303)
