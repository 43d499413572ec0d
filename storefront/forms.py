"""The base of every form: Flask-WTF's, with WTForms' own messages in the shop's languages.

WTForms ships no Indonesian catalogue, so "Not a valid choice." would show in English on an
Indonesian page. Its messages are translated in the shop's own catalogue (marked below so that
``make messages`` keeps them), and every form reads them from there.
"""
from dataclasses import dataclass

from flask import g
from flask_babel import get_translations, gettext as _
from flask_wtf import FlaskForm


class _ShopTranslations:
    """What WTForms asks of a translations object, answered from the shop's catalogue. WTForms
    formats the text itself afterwards (``% dict(min=...)``), so nothing is formatted here."""

    def gettext(self, string):
        return get_translations().ugettext(string)

    def ngettext(self, singular, plural, n):
        return get_translations().ungettext(singular, plural, n)


class ShopForm(FlaskForm):
    """Every form of the shop derives from this one (tests/test_form_language.py checks).

    A form that was checked is remembered for the request, so that the page it is shown on
    again can list its problems at the top (``form_problems``), whatever template draws it.
    """

    class Meta(FlaskForm.Meta):
        def get_translations(self, form):
            return _ShopTranslations()

    def validate(self, extra_validators=None):
        remember_checked(self)
        return super().validate(extra_validators)

    def refuse(self, message, field=None):
        """Show a service's refusal at the field it is about (or above the form when none is)."""
        target = getattr(self, field, None) if field else None
        if target is None or not hasattr(target, "errors"):
            self.form_errors.append(message)
        else:
            target.errors = [*target.errors, message]


def remember_checked(form):
    """Count ``form`` among the forms whose problems this request's page lists at its top."""
    checked = g.setdefault("checked_forms", [])
    if form not in checked:
        checked.append(form)


@dataclass(frozen=True)
class Problem:
    message: str
    label: str = ""
    anchor: str = ""  # the id of the field to jump to; empty when the problem is the whole form's


def _messages(errors):
    """Field errors are messages (strings or lazy strings), or lists/dicts of them for fields
    made of fields."""
    if isinstance(errors, dict):
        for value in errors.values():
            yield from _messages(value)
    elif isinstance(errors, (list, tuple)):
        for value in errors:
            yield from _messages(value)
    elif errors:
        yield errors


def form_problems():
    """Every problem of the forms checked in this request, in the order the form shows them:
    the error summary at the top of the page (base.html) is built from this."""
    problems = []
    for form in g.get("checked_forms", ()):
        csrf = getattr(form, "csrf_token", None)
        if csrf is not None and csrf.errors:
            problems.append(Problem(_("The form expired. Please try again.")))
        problems += [Problem(str(message)) for message in form.form_errors]
        for field in form:
            if field is csrf or not field.errors:
                continue
            hidden = getattr(field.widget, "input_type", "") == "hidden"
            label = field.label.text if field.label and not hidden else ""
            problems += [Problem(str(message), label=label, anchor="" if hidden else field.id)
                         for message in _messages(field.errors)]
    return problems


def init_app(app):
    app.add_template_global(form_problems)


class ConfirmForm(ShopForm):
    """A button that changes something: only the CSRF token."""


def _wtforms_messages():  # pragma: no cover - never called; marks the texts for extraction
    from flask_babel import gettext, ngettext

    gettext("This field is required.")
    gettext("Invalid input.")
    gettext("Not a valid choice.")
    gettext("Invalid Choice: could not coerce.")
    gettext("Invalid choice(s): one or more data inputs could not be coerced.")
    ngettext("'%(value)s' is not a valid choice for this field.",
             "'%(value)s' are not valid choices for this field.", 1)
    gettext("Not a valid integer value.")
    gettext("Not a valid decimal value.")
    gettext("Not a valid float value.")
    gettext("Not a valid date value.")
    gettext("Not a valid datetime value.")
    gettext("Not a valid time value.")
    gettext("Not a valid week value.")
    gettext("Invalid email address.")
    gettext("Invalid URL.")
    gettext("Field must be equal to %(other_name)s.")
    ngettext("Field must be at least %(min)d character long.",
             "Field must be at least %(min)d characters long.", 1)
    ngettext("Field cannot be longer than %(max)d character.",
             "Field cannot be longer than %(max)d characters.", 1)
    ngettext("Field must be exactly %(max)d character long.",
             "Field must be exactly %(max)d characters long.", 1)
    gettext("Field must be between %(min)d and %(max)d characters long.")
    gettext("Number must be at least %(min)s.")
    gettext("Number must be at most %(max)s.")
    gettext("Number must be between %(min)s and %(max)s.")
    gettext("Date must be at least %(min)s.")
    gettext("Date must be at most %(max)s.")
    gettext("Date must be between %(min)s and %(max)s.")
    gettext("Invalid value, must be one of: %(values)s.")
    gettext("Invalid value, can't be any of: %(values)s.")
    gettext("This field cannot be edited.")
    gettext("This field is disabled and cannot have a value.")
    gettext("Invalid CSRF Token.")
    gettext("CSRF token missing.")
    gettext("CSRF failed.")
    gettext("CSRF token expired.")
    gettext("File does not have an approved extension.")
