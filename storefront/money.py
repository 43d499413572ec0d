"""Money is whole rupiah (``int``) everywhere; Stripe wants hundredths.

The one reader of amounts as people type them (``read_rupiah``) serves every field and filter
that takes rupiah: the product form's price, the catalogue's price range.
"""
import re
from decimal import Decimal

from babel.numbers import format_currency, get_currency_precision

from .numbers import INTEGER_MAX

#: "85000", "85.000", "Rp 85.000", "Rp85.000,-", "85.000,00", "85rb", "85 ribu", "85k", "1,5jt",
#: "2 juta": how Indonesians write a price. Thousands are grouped with dots; a fraction is allowed
#: only before "rb" or "jt" (1,5jt), and ",-" or ",00" after a whole amount says "no cents".
_AMOUNT = re.compile(r"(?:rp\.?)?\s*(?P<whole>[0-9]{1,3}(?:\.[0-9]{3})+|[0-9]{1,12})"
                     r"(?:(?P<cents>,-|,00?)|[.,](?P<fraction>[0-9]{1,3}))?"
                     r"\s*(?P<unit>rb|ribu|k|jt|juta)?\.?")
#: Thousands grouped with commas, as in English ("85,000", "Rp 1,250,000"): never a fraction,
#: since a rupiah has no thousandths.
_COMMA_GROUPED = re.compile(r"(?:rp\.?)?\s*(?P<whole>[0-9]{1,3}(?:,[0-9]{3})+)")
_UNITS = {None: 1, "rb": 1000, "ribu": 1000, "k": 1000, "jt": 1_000_000, "juta": 1_000_000}
#: A minus sign before the amount, or between "Rp" and it: ``-5``, ``Rp -5.000``, ``−5`` (U+2212).
_MINUS = re.compile(r"^(?:rp\.?\s*)?[-\u2212]\s*")


class RupiahError(ValueError):
    """Typed text is not an amount of whole rupiah. ``reason`` says why: ``"unreadable"``,
    ``"negative"``, ``"fraction"`` (cents, or a part of a rupiah) or ``"too_large"`` (more
    than the database holds)."""

    def __init__(self, reason):
        super().__init__(reason)
        self.reason = reason


def read_rupiah(text):
    """Whole rupiah (``int`` from 0) from an amount as a person types it, else ``RupiahError``."""
    typed = (text or "").strip().lower()
    unsigned = _MINUS.sub("", typed, count=1)
    grouped = _COMMA_GROUPED.fullmatch(unsigned)
    match = grouped or _AMOUNT.fullmatch(unsigned)
    if not match or (not grouped and match["cents"] and match["unit"]):
        raise RupiahError("unreadable")
    if unsigned != typed:
        raise RupiahError("negative")
    if grouped:
        amount, scale, fraction = int(match["whole"].replace(",", "")), 1, ""
    else:
        scale = _UNITS[match["unit"]]
        amount = int(match["whole"].replace(".", "")) * scale
        fraction = match["fraction"] or ""
    if fraction:
        if scale < 10 ** len(fraction) or not match["unit"]:
            raise RupiahError("fraction")  # "85,5", "85.000,50", "85.00"
        amount += int(fraction) * scale // 10 ** len(fraction)
    if amount > INTEGER_MAX:
        raise RupiahError("too_large")
    return amount


def parse_price(text):
    """Whole rupiah from a price as a person types it, or None (also for a negative amount,
    a fraction of a rupiah or more than the database holds)."""
    try:
        return read_rupiah(text)
    except RupiahError:
        return None


def format_idr(amount):
    """``85000`` -> ``"Rp 85.000"`` (Indonesian thousands separator, in both languages)."""
    amount = int(amount)
    sign = "-" if amount < 0 else ""
    return f"{sign}Rp {abs(amount):,}".replace(",", ".")


def to_stripe_amount(amount_idr):
    """Stripe treats IDR as a two-decimal currency: Rp 1 is ``100``."""
    return int(amount_idr) * 100


def format_stripe_amount(amount, currency, locale="id"):
    """An amount as Stripe gives it (smallest unit, lower-case currency) for people to read:
    ``(18200000, "idr")`` -> ``"Rp 182.000"``, ``(150, "idr")`` -> ``"Rp 1,50"``, ``(500, "usd")`` -> ``"US$5,00"``; None when
    Stripe gave no amount or currency."""
    if amount is None or not currency:
        return None
    if currency == "idr":
        rupiah, hundredths = divmod(amount, 100)
        return format_idr(rupiah) + (f",{hundredths:02d}" if hundredths else "")
    digits = get_currency_precision(currency.upper())
    return format_currency(Decimal(amount).scaleb(-digits), currency.upper(), locale=locale)
