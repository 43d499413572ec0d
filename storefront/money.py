"""Money is whole rupiah (``int``) everywhere; Stripe wants hundredths."""
from decimal import Decimal

from babel.numbers import format_currency, get_currency_precision


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
