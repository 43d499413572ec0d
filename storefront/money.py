"""Money is whole rupiah (``int``) everywhere; Stripe wants hundredths."""


def format_idr(amount):
    """``85000`` -> ``"Rp 85.000"`` (Indonesian thousands separator, in both languages)."""
    amount = int(amount)
    sign = "-" if amount < 0 else ""
    return f"{sign}Rp {abs(amount):,}".replace(",", ".")


def to_stripe_amount(amount_idr):
    """Stripe treats IDR as a two-decimal currency: Rp 1 is ``100``."""
    return int(amount_idr) * 100
