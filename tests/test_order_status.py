"""The order's status as people read it, derived from its parcels: every combination."""
from itertools import product

import pytest

from storefront.orders.models import PARCEL_STATUSES
from storefront.orders.status import LABELS, order_state

#: What parcels can be while their order is paid (or cash on delivery and under way).
AFTER_PAYMENT = ("paid", "accepted", "packed", "shipped", "delivered", "declined", "cancelled")


def _expected(statuses, method):
    live = [s for s in statuses if s not in ("declined", "cancelled")]
    if not live:
        return "cancelled", False
    partly = len(live) < len(statuses)
    if all(s == "delivered" for s in live):
        return "delivered", partly
    if "delivered" in live:
        return "partly_delivered", partly
    if all(s == "shipped" for s in live):
        return "shipped", partly
    if "shipped" in live:
        return "partly_shipped", partly
    return ("cash_on_delivery" if method == "cod" else "paid"), partly


@pytest.mark.parametrize("count", [1, 2, 3])
@pytest.mark.parametrize("method", ["bank_transfer", "cod"])
def test_every_combination_of_parcel_states(count, method):
    for statuses in product(AFTER_PAYMENT, repeat=count):
        state = order_state("awaiting_payment" if method == "cod" else "paid", method, statuses)
        assert (state.code, state.partly_cancelled) == _expected(statuses, method), statuses
        assert str(state.label)  # every state has words


def test_unpaid_and_ended_orders_say_so_whatever_the_parcels():
    for statuses in product(PARCEL_STATUSES, repeat=2):
        assert order_state("expired", "bank_transfer", statuses).code == "expired"
        assert order_state("cancelled", "stripe", statuses).code == "cancelled"
    assert order_state("awaiting_payment", "bank_transfer", ["awaiting_payment"] * 2).code == "awaiting_payment"
    assert order_state("awaiting_payment", "bank_transfer", ["declined"]).code == "cancelled"


def test_a_held_order_says_the_office_is_checking_until_something_ships():
    assert order_state("paid", "stripe", ["paid", "paid"], held=True).code == "on_hold"
    assert order_state("paid", "stripe", ["shipped", "paid"], held=True).code == "partly_shipped"


def test_labels_read_in_both_languages(app):
    from flask_babel import force_locale
    with app.test_request_context():
        with force_locale("id"):
            assert str(LABELS["partly_shipped"]) != "partly shipped"
            assert "sebagian" in str(order_state("paid", "stripe", ["delivered", "cancelled"]).label)
