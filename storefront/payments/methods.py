"""The ways to pay, behind one small protocol: bank transfer, cash on delivery, Stripe, Midtrans.

Checkout offers what ``offered`` returns and holds stock for ``hold_minutes``; the order page's
pay button goes to ``start``; a parcel that will not ship gives its money back through ``refund``;
the buyer's cancel button and the office's labels read the rest. Nothing outside a gateway's own
module asks which gateway an order used. A new gateway (Xendit, DOKU) is one module with one class
like ``Midtrans`` below, and one line in ``METHODS`` (docs/payments.md).
"""
from typing import Protocol

from flask import current_app
from flask_babel import lazy_gettext as _l

from . import midtrans_gateway, stripe_gateway

#: What a refund that no gateway makes comes to: the office returns the money by hand.
BY_HAND = ("office", None)


class PaymentMethod(Protocol):
    """One way to pay. Plain attributes are words and flags; the methods act."""

    #: ``Order.payment_method`` (and the CHECK constraint's list).
    code: str
    #: How checkout and the office name it.
    label: str
    #: The order page's button to the payment page (None: nothing is paid online).
    pay_label: str | None
    #: What the buyer reads when the payment page has closed, or the gateway did not answer, or
    #: is back from the payment page while the gateway confirms the payment.
    closed_message: str | None
    down_message: str | None
    confirming_message: str | None
    #: How the buyer's order page says a parcel's money went back through the gateway.
    refund_label: str | None
    #: The buyer may cancel the order while nothing is paid (cash on delivery is the villages' at once).
    buyer_may_cancel: bool

    def hold_minutes(self) -> int | None:
        """How long a new order holds its stock (None: until the villages deal with it)."""

    def available(self, view) -> bool:
        """Whether checkout offers it for the cart ``view`` (``cart.services.review_cart``)."""

    def start(self, order, lines, back) -> str | None:
        """The address that takes the buyer to pay ``order`` (its ``lines``), or None. ``back(**query)``
        is the order page's address with ``query`` added, for the gateway's return links.
        Raises ``settling.SessionClosed`` or ``settling.PaymentGatewayError``."""

    def refund(self, order, parcel) -> tuple:
        """Give back the money of a paid ``parcel`` that will not ship: ``(refund_state, reference)``."""

    def payment_in_flight(self, order) -> str | None:
        """Why the buyer may not cancel the unpaid ``order`` now (a payment is on its way), or None."""


class _Offline:
    """What the two offline methods share: nothing paid online, money returned by the office."""

    pay_label = closed_message = down_message = confirming_message = refund_label = None

    def start(self, order, lines, back):
        return None

    def refund(self, order, parcel):
        return BY_HAND

    def payment_in_flight(self, order):
        return None


class BankTransfer(_Offline):
    code, label, buyer_may_cancel = "bank_transfer", _l("Bank transfer"), True

    def hold_minutes(self):
        return current_app.config["BANK_TRANSFER_HOURS"] * 60

    def available(self, view):
        return True


class CashOnDelivery(_Offline):
    code, label, buyer_may_cancel = "cod", _l("Cash on delivery"), False

    def hold_minutes(self):
        return None

    def available(self, view):
        return bool(view.villages) and all(v.cod_allowed for v in view.villages)


class Stripe:
    code, label, buyer_may_cancel = "stripe", _l("Card or e-wallet (Stripe)"), True
    pay_label = _l("Pay by card or e-wallet")
    closed_message = _l("The time to pay this order by card has ended. If you paid, the payment is being confirmed.")
    down_message = _l("The card payment service did not answer. Your order is kept and its stock held; "
                      "try again in a moment.")
    confirming_message = _l("Thank you. We are waiting for Stripe to confirm your payment; this page will show "
                            "it once it arrives.")
    refund_label = _l("refunded to your card")

    def hold_minutes(self):
        return stripe_gateway.SESSION_MINUTES + 1

    def available(self, view):
        return stripe_gateway.stripe_enabled()

    def start(self, order, lines, back):
        if not stripe_gateway.stripe_enabled():
            return None
        session = stripe_gateway.checkout_session_for(order, lines, success_url=back(stripe="success"),
                                                      cancel_url=back(stripe="cancel"))
        return session.url

    def refund(self, order, parcel):
        return stripe_gateway.refund_parcel(order, parcel)

    def payment_in_flight(self, order):
        if stripe_gateway.payment_in_flight(order):
            return _l("Your card payment is being confirmed, so the order cannot be cancelled now.")
        return None


class Midtrans:
    code, label, buyer_may_cancel = "midtrans", _l("QRIS, virtual account or e-wallet (Midtrans)"), True
    pay_label = _l("Pay with QRIS, virtual account or e-wallet")
    closed_message = _l("The time to pay this order has ended. If you paid, the payment is being confirmed.")
    down_message = _l("The payment service did not answer. Your order is kept and its stock held; "
                      "try again in a moment.")
    confirming_message = _l("Thank you. We are waiting for Midtrans to confirm your payment; this page will "
                            "show it once it arrives.")
    refund_label = _l("refunded to the e-wallet or account you paid with")

    def hold_minutes(self):
        return current_app.config["MIDTRANS_EXPIRY_MINUTES"]

    def available(self, view):
        return midtrans_gateway.midtrans_enabled()

    def start(self, order, lines, back):
        if not midtrans_gateway.midtrans_enabled():
            return None
        return midtrans_gateway.payment_page_for(order, lines, finish_url=back(midtrans="selesai"))

    def refund(self, order, parcel):
        return midtrans_gateway.refund_parcel(order, parcel)

    def payment_in_flight(self, order):
        if midtrans_gateway.payment_in_flight(order):
            return _l("Midtrans is confirming your payment, so the order cannot be cancelled now.")
        return None


#: Every way to pay, in the order checkout offers them.
METHODS = (BankTransfer(), CashOnDelivery(), Stripe(), Midtrans())
BY_CODE = {method.code: method for method in METHODS}
#: Each method's name, for pages that list orders.
LABELS = {method.code: method.label for method in METHODS}


def method_for(code):
    """The method of ``Order.payment_method`` ``code``."""
    return BY_CODE[code]


def offered(view):
    """The codes of the methods checkout offers for the cart ``view``."""
    return [method.code for method in METHODS if method.available(view)]


def refund_parcel(order, parcel):
    """Give back a parcel's money the way its order was paid (``fulfilment.change_parcel``'s refund)."""
    return method_for(order.payment_method).refund(order, parcel)
