from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, EmailField, PasswordField, StringField
from wtforms.validators import DataRequired, Email, EqualTo, Length


class SignInForm(FlaskForm):
    # Phone keyboards add a trailing space after autocomplete.
    email = EmailField(_l("E-mail"), filters=[lambda v: v.strip() if v else v],
                       validators=[DataRequired(_l("Enter your e-mail address.")),
                                   Email(_l("Enter a valid e-mail address, e.g. nama@contoh.id.")),
                                   Length(max=254, message=_l("This e-mail address is too long."))])
    password = PasswordField(_l("Password"), validators=[
        DataRequired(_l("Enter your password.")),
        Length(max=256, message=_l("This password is too long."))])
    remember = BooleanField(_l("Keep me signed in on this device"))


class AcceptInvitationForm(FlaskForm):
    name = StringField(_l("Your name"), filters=[lambda v: v.strip() if v else v], validators=[
        DataRequired(_l("Enter your name.")), Length(max=120)])
    password = PasswordField(_l("Choose a password (at least 12 characters)"), validators=[
        DataRequired(_l("Enter your password.")),
        Length(min=12, max=256, message=_l("The password must be at least 12 characters."))])
    confirm = PasswordField(_l("Type the password again"), validators=[
        EqualTo("password", _l("The two passwords are not the same."))])
