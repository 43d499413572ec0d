"""What a new password must be: 12+ characters, not a common one, not the shop's name or the
person's own e-mail address. One function, used by every place a password is set."""
import re
from functools import cache
from pathlib import Path

from flask_babel import gettext as _

#: Shorter passwords are refused everywhere (ASVS 2.1.1).
MIN_LENGTH = 12
MAX_LENGTH = 256
#: The shop's name and address words, with everything but letters and digits removed.
SHOP_WORDS = ("produkdesantt", "produkdesa")
COMMON_PASSWORDS_FILE = Path(__file__).with_name("common_passwords.txt")


@cache
def common_passwords():
    """The shipped list of common passwords, lower-cased (see the file's header for its source)."""
    with COMMON_PASSWORDS_FILE.open(encoding="utf-8") as lines:
        return frozenset(line.strip().lower() for line in lines
                         if line.strip() and not line.startswith("#"))


def _letters_and_digits(text):
    return re.sub(r"[^0-9a-z]", "", (text or "").lower())


def password_problem(password, *, email=None):
    """Why ``password`` may not be chosen (a translated sentence), or ``None`` when it may."""
    password = password or ""
    if len(password) < MIN_LENGTH:
        return _("The password must be at least 12 characters.")  # MIN_LENGTH; msgid kept
    if len(password) > MAX_LENGTH:
        return _("This password is too long.")
    lowered = password.lower()
    squeezed = _letters_and_digits(password)
    if lowered in common_passwords() or lowered.strip() in common_passwords():
        return _("This password is on a list of common passwords that attackers try first. "
                 "Choose another, e.g. a few unrelated words.")
    if any(word in squeezed for word in SHOP_WORDS):
        return _("The password must not contain the name of the shop.")
    local_part = _letters_and_digits((email or "").partition("@")[0])
    if len(local_part) >= 4 and local_part in squeezed:
        return _("The password must not contain your e-mail address.")
    return None
