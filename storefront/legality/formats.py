"""Loose checks of certificate numbers (docs/domain.md), and their printed form.

Loose on purpose: where the public sources disagree (BPOM 12 or 15 digits, halal 14-20
digits) every variant is accepted, so a real-looking number is never turned away.
"""
import re

_SPACES = re.compile(r"\s+")

_PATTERNS = {
    "nib": re.compile(r"^(?:NIB\s*[:.]?\s*)?(?P<d>\d{13})$"),
    "pirt": re.compile(r"^(?:(?:SPP-?)?P-?IRT\s*(?:NO\.?|NOMOR)?\s*[:.]?\s*)?(?P<d>\d{13})-?(?P<y>\d{2})$"),
    "bpom_md": re.compile(r"^(?:BPOM\s*(?:RI)?\s*)?MD\s*(?P<d>\d{12}|\d{15})$"),
    "halal": re.compile(r"^ID\s*(?P<d>\d{14,20})$"),
    "trademark": re.compile(r"^IDM\s*(?P<d>\d{9})$"),
    "geographical_indication": re.compile(r"^ID\s*G\s*(?P<d>\d{9})$"),
}

_PRINTED = {
    "nib": "{d}",
    "pirt": "P-IRT No. {d}-{y}",
    "bpom_md": "BPOM RI MD {d}",
    "halal": "ID{d}",
    "trademark": "IDM{d}",
    "geographical_indication": "ID G {d}",
}

#: What a person should type, per kind (shown in error messages).
EXAMPLES = {
    "nib": "13 digits, e.g. 9120301234567",
    "pirt": "P-IRT No. 2053374020970-28",
    "bpom_md": "BPOM RI MD 123456789012",
    "halal": "ID53110012345670824",
    "trademark": "IDM000984301",
    "geographical_indication": "ID G 000000014",
}

#: One number per kind in its printed form, without words (shown to a village whose number
#: does not look usual, in either language).
SAMPLES = {
    "nib": "9120301234567",
    "pirt": "P-IRT No. 2053374020970-28",
    "bpom_md": "BPOM RI MD 123456789012",
    "halal": "ID53110012345670824",
    "trademark": "IDM000984301",
    "geographical_indication": "ID G 000000014",
}


class NumberFormatError(ValueError):
    """The number does not look like a paper of its kind."""


def normalise_number(kind, raw):
    """Return the number in its printed form, or raise ``NumberFormatError``."""
    if kind not in _PATTERNS:
        raise NumberFormatError(f"unknown certificate kind {kind!r}")
    text = _SPACES.sub(" ", str(raw or "")).strip().upper()
    match = _PATTERNS[kind].match(text)
    if not match:
        raise NumberFormatError(
            f"{raw!r} is not a valid {kind} number (expected {EXAMPLES[kind]})")
    return _PRINTED[kind].format(**match.groupdict())


def pirt_expiry_year(number):
    """The two-digit expiry year printed at the end of a P-IRT number, as a full year."""
    match = re.search(r"-(\d{2})$", number or "")
    return 2000 + int(match.group(1)) if match else None
