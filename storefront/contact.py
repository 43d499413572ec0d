"""Phone numbers and e-mail addresses as Indonesians type them."""
import phonenumbers
from email_validator import EmailNotValidError, validate_email


class ContactError(ValueError):
    """A phone number or e-mail address that cannot be used."""


def normalise_phone(raw):
    """``0812-3456-7890`` or ``+62 812 3456 7890`` -> ``+6281234567890``.

    Only Indonesian numbers (+62) are accepted: every village and buyer ships within Indonesia.
    """
    text = str(raw or "").strip()
    if not text:
        raise ContactError("phone number is empty")
    try:
        number = phonenumbers.parse(text, "ID")
    except phonenumbers.NumberParseException as exc:
        raise ContactError(f"{raw!r} is not a phone number") from exc
    if number.country_code != 62 or not phonenumbers.is_valid_number(number):
        raise ContactError(f"{raw!r} is not a valid Indonesian (+62) phone number")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def display_phone(e164):
    """``+6281234567890`` -> ``+62 812-3456-7890``."""
    if not e164:
        return ""
    try:
        return phonenumbers.format_number(
            phonenumbers.parse(e164), phonenumbers.PhoneNumberFormat.INTERNATIONAL)
    except phonenumbers.NumberParseException:
        return e164


def whatsapp_number(e164):
    """Digits only, as wa.me links want them."""
    return (e164 or "").lstrip("+")


def normalise_email(raw):
    """A syntactically valid address, lower-cased domain; no DNS look-up (offline-safe)."""
    text = str(raw or "").strip()
    try:
        return validate_email(text, check_deliverability=False).normalized
    except EmailNotValidError as exc:
        raise ContactError(f"{raw!r} is not a valid e-mail address: {exc}") from exc
