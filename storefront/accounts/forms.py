from flask_babel import lazy_gettext as _l
from wtforms import BooleanField, EmailField, PasswordField, StringField
from wtforms.validators import DataRequired, Email, EqualTo, Length, ValidationError

from ..forms import ShopForm
from .passwords import password_problem


def strong_password(form, field):
    """12+ characters, not common, not the shop's name nor the e-mail address on the form
    (the services check again with the account's address)."""
    email = form.email.data if "email" in form else None
    problem = password_problem(field.data, email=email)
    if problem:
        raise ValidationError(problem)


class SignInForm(ShopForm):
    # Phone keyboards add a trailing space after autocomplete.
    email = EmailField(_l("E-mail"), filters=[lambda v: v.strip() if v else v],
                       validators=[DataRequired(_l("Enter your e-mail address.")),
                                   Email(_l("Enter a valid e-mail address, e.g. nama@contoh.id.")),
                                   Length(max=254, message=_l("This e-mail address is too long."))])
    password = PasswordField(_l("Password"), validators=[
        DataRequired(_l("Enter your password.")),
        Length(max=256, message=_l("This password is too long."))])
    remember = BooleanField(_l("Keep me signed in on this device"))


class AcceptInvitationForm(ShopForm):
    name = StringField(_l("Your name"), filters=[lambda v: v.strip() if v else v], validators=[
        DataRequired(_l("Enter your name.")), Length(max=120)])
    password = PasswordField(_l("Choose a password (at least 12 characters)"), validators=[
        DataRequired(_l("Enter your password.")), strong_password],
        render_kw={"autocomplete": "new-password"})
    confirm = PasswordField(_l("Type the password again"), validators=[
        EqualTo("password", _l("The two passwords are not the same."))])


def _strip(value):
    """Phone keyboards add spaces around autocompleted values."""
    return value.strip() if isinstance(value, str) else value


def _email_field(label=_l("E-mail")):
    """An e-mail address field as the sign-in form has it."""
    return EmailField(label, filters=[_strip], validators=[
        DataRequired(_l("Enter your e-mail address.")),
        Email(_l("Enter a valid e-mail address, e.g. nama@contoh.id.")),
        Length(max=254, message=_l("This e-mail address is too long."))],
        render_kw={"autocomplete": "email"})


def _new_password_fields():
    """A new password (12 to 256 characters) and the same typed again."""
    password = PasswordField(_l("Choose a password (at least 12 characters)"), validators=[
        DataRequired(_l("Enter your password.")), strong_password],
        render_kw={"autocomplete": "new-password"})
    confirm = PasswordField(_l("Type the password again"), validators=[
        DataRequired(_l("Type the password again.")),
        EqualTo("password", _l("The two passwords are not the same."))],
        render_kw={"autocomplete": "new-password"})
    return password, confirm


class SignUpForm(ShopForm):
    """A buyer opens an account: name, e-mail, password twice."""

    name = StringField(_l("Your name"), filters=[_strip], validators=[
        DataRequired(_l("Enter your name.")), Length(max=120)],
        render_kw={"autocomplete": "name"})
    email = _email_field()
    password, confirm = _new_password_fields()


class ForgotPasswordForm(ShopForm):
    """The e-mail address to send a password-reset link to."""

    email = _email_field()


class ResetPasswordForm(ShopForm):
    """A new password, chosen from an e-mailed reset link."""

    password, confirm = _new_password_fields()


class ChangePasswordForm(ShopForm):
    """The current password, then a new one twice."""

    current = PasswordField(_l("Current password"), validators=[
        DataRequired(_l("Enter your current password.")),
        Length(max=256, message=_l("This password is too long."))],
        render_kw={"autocomplete": "current-password"})
    password, confirm = _new_password_fields()


class MailChoiceForm(ShopForm):
    """Whether the account takes mail that is not about an order in progress."""

    optional_mail = BooleanField(_l("Also send me mail that is not about an order in progress, such as news "
                                    "from the shop"))
