"""The village ledger (issue 15): every rupiah from a buyer to a village, append-only.

Rules checked on SQLite and PostgreSQL: a parcel is pending until delivered, then earned less
the shop's fee; a declined, cancelled or refunded parcel reverses what it had, exactly once,
whoever triggers it; the database refuses to edit or delete an entry; a payout takes only what
is available, never from an unverified account, and a failed payout comes back. Concurrency
with real threads; invariants over generated lifecycles (Hypothesis, SQLite, to stay fast).
"""
from datetime import timedelta

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st
from sqlalchemy import func, select, text
from sqlalchemy.exc import DBAPIError, IntegrityError

from storefront.clock import now_utc, today_wita
from storefront.extensions import db
from storefront.orders.fulfilment import (BUYER, OFFICE, VILLAGE, OrderError, deliver_unconfirmed_parcels,
                                          refund_delivered)
from storefront.orders.models import VillageOrder
from storefront.orders.services import mark_paid
from storefront.orders.settlement import book_refund
from storefront.settlement import ledger, payouts
from storefront.settlement.models import LedgerEntry, Payout
from storefront.unit_of_work import unit_of_work

from .factories import make_certified_village, make_order, make_sellable_food, move_parcel, parcels_of
from .threads import in_threads

TO_DELIVERED = ("accepted", "packed", "shipped", "delivered")


def _village_with_product(price=100_000):
    village = make_certified_village()
    return village, make_sellable_food(village, price_idr=price, stock=1000)


def _entries(village):
    return db.session.scalars(select(LedgerEntry).where(LedgerEntry.village_id == village.id)
                              .order_by(LedgerEntry.id)).all()


def _set_fee(basis_points):
    with unit_of_work():
        ledger.set_fee_basis_points(basis_points, "office")


def _verified_account(village):
    with unit_of_work():
        account = payouts.submit_account(village.id, bank_code="130", account_number="0010102012345",
                                         holder_name="Kelompok Tani Uji", actor_name="member")
        payouts.review_account(account.id, verified=True, actor_name="office")
    return account


def _assert_adds_up(village):
    """The balance row is the sum of the entries, bucket by bucket."""
    db.session.expire_all()
    assert ledger.balance(village.id) == ledger.entry_sums(village.id)


def test_a_parcel_is_pending_until_delivered_and_then_earned_less_the_fee(app):
    village, product = _village_with_product(price=99_999)
    _set_fee(250)  # 2.5 % of the goods: 2 x 99,999 = 199,998 -> 4,999.95 -> Rp 5,000
    order = make_order({village: [(product, 2)]}, shipping_idr=36_000)
    (parcel,) = parcels_of(order)
    assert ledger.balance(village.id) == (199_998 + 36_000 - 5_000, 0)

    move_parcel(parcel, "accepted", "packed", "shipped")
    assert ledger.balance(village.id) == (230_998, 0)  # shipped is not delivered
    move_parcel(parcel, "delivered")
    assert ledger.balance(village.id) == (0, 230_998)
    (earned,) = [e for e in _entries(village) if e.bucket == "available"]
    assert (earned.goods_idr, earned.shipping_idr, earned.fee_idr, earned.fee_basis_points) == (
        199_998, 36_000, 5_000, 250)
    assert earned.memo == order.number and earned.village_order_id == parcel.id
    _assert_adds_up(village)


def test_the_fee_rate_is_the_one_in_force_when_the_money_came_in(app):
    village, product = _village_with_product(price=100_000)
    _set_fee(1000)
    order = make_order({village: [(product, 1)]}, shipping_idr=0)
    _set_fee(0)  # the office changes the rate while the parcel travels
    (parcel,) = parcels_of(order)
    move_parcel(parcel, *TO_DELIVERED)
    assert ledger.balance(village.id) == (0, 90_000)


def test_an_unconfirmed_shipment_counts_as_delivered_after_the_configured_days(app):
    app.config["DELIVERED_AFTER_DAYS"] = 10
    village, product = _village_with_product()
    order = make_order({village: [(product, 1)]})
    (parcel,) = parcels_of(order)
    move_parcel(parcel, "accepted", "packed", "shipped")
    shipped = db.session.get(VillageOrder, parcel.id).shipped_at
    with unit_of_work():
        assert deliver_unconfirmed_parcels(now=shipped + timedelta(days=9, hours=23)) == []
    assert ledger.balance(village.id)[1] == 0
    with unit_of_work():
        assert deliver_unconfirmed_parcels(now=shipped + timedelta(days=10, minutes=1)) == [parcel.id]
        assert deliver_unconfirmed_parcels(now=shipped + timedelta(days=11)) == []
    assert db.session.get(VillageOrder, parcel.id, populate_existing=True).status == "delivered"
    assert ledger.balance(village.id) == (0, 120_000)


def test_cash_on_delivery_earns_the_parcel_and_keeps_the_cash_so_only_the_fee_is_owed(app):
    village, product = _village_with_product(price=200_000)
    _set_fee(500)
    order = make_order({village: [(product, 1)]}, payment_method="cod", shipping_idr=20_000)
    (parcel,) = parcels_of(order)
    assert ledger.balance(village.id) == (0, 0)  # nothing was paid to the shop
    move_parcel(parcel, *TO_DELIVERED)
    assert ledger.balance(village.id) == (0, -10_000)  # the village owes the 5 % fee
    kept = [e for e in _entries(village) if e.other_idr]
    assert [e.other_idr for e in kept] == [-220_000]
    _assert_adds_up(village)


def test_a_declined_parcel_reverses_its_pending_money_once_whoever_triggers_it(app):
    village, product = _village_with_product()
    order = make_order({village: [(product, 1)]})
    (parcel,) = parcels_of(order)
    move_parcel(parcel, "declined")
    assert ledger.balance(village.id) == (0, 0)
    # The same parcel reported again, e.g. by a Stripe refund event or the office: nothing more.
    with unit_of_work():
        book_refund(db.session.get(VillageOrder, parcel.id), order, "stripe", "refunded in Stripe")
    assert [(e.cause, e.bucket, e.amount_idr) for e in _entries(village)] == [
        ("parcel", "pending", 120_000), ("refund", "pending", -120_000)]
    assert _entries(village)[1].reverses_id == _entries(village)[0].id
    assert "test reason" in _entries(village)[1].memo


def test_a_refund_after_delivery_reverses_the_earning_once(app):
    village, product = _village_with_product()
    order = make_order({village: [(product, 1)]})
    (parcel,) = parcels_of(order)
    move_parcel(parcel, *TO_DELIVERED)
    with unit_of_work():
        refund_delivered(parcel.id, "kemasan rusak, tiba pecah", actor_name="office")
    assert ledger.balance(village.id) == (0, 0)
    with pytest.raises(OrderError):
        with unit_of_work():
            refund_delivered(parcel.id, "again", actor_name="office")
    with unit_of_work():
        book_refund(db.session.get(VillageOrder, parcel.id), order, "village", "again")
    refunds = [e for e in _entries(village) if e.cause == "refund"]
    assert [(e.bucket, e.amount_idr) for e in refunds] == [("available", -120_000)]
    assert db.session.get(VillageOrder, parcel.id, populate_existing=True).refund_state == "office"
    _assert_adds_up(village)


def test_the_database_refuses_to_edit_or_delete_an_entry(app):
    village, product = _village_with_product()
    make_order({village: [(product, 1)]})
    (entry,) = _entries(village)
    for statement in (f"UPDATE ledger_entries SET amount_idr = 1 WHERE id = {entry.id}",
                      f"DELETE FROM ledger_entries WHERE id = {entry.id}"):
        with pytest.raises(DBAPIError, match="append-only"):
            with unit_of_work() as session:
                session.execute(text(statement))
    db.session.expire_all()
    assert [e.amount_idr for e in _entries(village)] == [120_000]


def test_an_adjustment_is_corrected_by_a_reversing_entry_that_says_why(app):
    village, _product = _village_with_product()
    with unit_of_work():
        entry = ledger.adjust(village.id, 15_000, "office", "ongkir kurang dibayar, pesanan NTT-1")
    with pytest.raises(ledger.LedgerError):
        with unit_of_work():
            ledger.reverse_adjustment(entry.id, "office", "   ")
    with unit_of_work():
        ledger.reverse_adjustment(entry.id, "office", "salah desa")
    with pytest.raises(ledger.LedgerError):
        with unit_of_work():
            ledger.reverse_adjustment(entry.id, "office", "twice")
    assert [(e.amount_idr, e.memo) for e in _entries(village)] == [
        (15_000, "ongkir kurang dibayar, pesanan NTT-1"), (-15_000, "salah desa")]
    assert ledger.balance(village.id) == (0, 0)


def test_a_payout_takes_what_is_available_only_to_a_verified_account(app):
    rich, product = _village_with_product()
    unverified, other_product = _village_with_product()
    for village, item in ((rich, product), (unverified, other_product)):
        (parcel,) = parcels_of(make_order({village: [(item, 1)]}))
        move_parcel(parcel, *TO_DELIVERED)
    _verified_account(rich)
    with unit_of_work():
        payouts.submit_account(unverified.id, bank_code="002", account_number="123456789012",
                               holder_name="Kelompok Dua", actor_name="member")
    with unit_of_work():
        batch = payouts.build_batch(50_000, "office")
    rows = payouts.batch_payouts(batch.id)
    assert [(p.village_id, p.amount_idr) for p, _name, _account in rows] == [(rich.id, 120_000)]
    assert ledger.balance(rich.id) == (0, 0) and ledger.balance(unverified.id) == (0, 120_000)
    with pytest.raises(ledger.LedgerError):  # nothing left above the minimum with a verified account
        with unit_of_work():
            payouts.build_batch(50_000, "office")

    payout = rows[0][0]
    with unit_of_work():
        payouts.mark_payout_failed(payout.id, reason="rekening ditutup", actor_name="office")
    assert ledger.balance(rich.id) == (0, 120_000)
    with pytest.raises(ledger.LedgerError):
        with unit_of_work():
            payouts.mark_payout_paid(payout.id, bank_reference="FT2612030001", paid_on=today_wita(),
                                     actor_name="office")
    _assert_adds_up(rich)


def test_a_changed_account_must_be_verified_again_before_a_payout(app):
    village, product = _village_with_product()
    (parcel,) = parcels_of(make_order({village: [(product, 1)]}))
    move_parcel(parcel, *TO_DELIVERED)
    first = _verified_account(village)
    with unit_of_work():
        changed = payouts.submit_account(village.id, bank_code="009", account_number="0987654321",
                                         holder_name="Kelompok Tani Uji", actor_name="member")
    assert changed.id != first.id and changed.status == "unverified"
    with pytest.raises(ledger.LedgerError):
        with unit_of_work():
            payouts.build_batch(1, "office")
    with pytest.raises(ledger.LedgerError):  # the old account cannot be reviewed any more
        with unit_of_work():
            payouts.review_account(first.id, verified=True, actor_name="office")
    assert db.session.get(type(first), first.id).reviewed_by == "office"


def test_three_sides_refunding_one_parcel_at_once_reverse_it_once(app):
    village, product = _village_with_product()
    order = make_order({village: [(product, 1)]})
    (parcel,) = parcels_of(order)
    move_parcel(parcel, *TO_DELIVERED)
    parcel_id, number = parcel.id, order.number

    def office():
        refund_delivered(parcel_id, "rusak", actor_name="office")

    def stripe_event():  # straight to the ledger, as an outside refund report would
        ledger.parcel_refunded(ledger.Parcel(parcel_id, village.id, number, 100_000, 20_000), "stripe", "refund")

    outcomes = in_threads(app, [office, stripe_event, office, stripe_event])
    assert all(o is None or isinstance(o, (OrderError, IntegrityError)) for o in outcomes), outcomes
    refunds = db.session.scalars(select(LedgerEntry).where(LedgerEntry.cause == "refund")).all()
    assert [e.amount_idr for e in refunds] == [-120_000]
    _assert_adds_up(village)


def test_a_payout_and_refunds_at_once_still_add_up_and_never_pay_more_than_was_there(app):
    village, product = _village_with_product()
    _verified_account(village)
    parcel_ids = []
    for _ in range(4):
        (parcel,) = parcels_of(make_order({village: [(product, 1)]}))
        move_parcel(parcel, *TO_DELIVERED)
        parcel_ids.append(parcel.id)
    assert ledger.balance(village.id) == (0, 480_000)

    def refund(parcel_id):
        return lambda: refund_delivered(parcel_id, "rusak", actor_name="office")

    outcomes = in_threads(app, [lambda: payouts.build_batch(1, "office")] + [refund(p) for p in parcel_ids[:3]])
    assert all(o is None or isinstance(o, ledger.LedgerError) for o in outcomes), outcomes
    paid_out = db.session.scalar(select(func.coalesce(func.sum(Payout.amount_idr), 0)))
    refunded = -db.session.scalar(select(func.coalesce(func.sum(LedgerEntry.amount_idr), 0))
                                  .where(LedgerEntry.cause == "refund"))
    assert refunded == 360_000
    assert paid_out in (0, 120_000, 240_000, 360_000, 480_000)  # whatever was there when it ran
    assert ledger.balance(village.id) == (0, 480_000 - refunded - paid_out)
    _assert_adds_up(village)


def test_two_payout_batches_at_once_pay_a_village_once(app):
    village, product = _village_with_product()
    _verified_account(village)
    (parcel,) = parcels_of(make_order({village: [(product, 1)]}))
    move_parcel(parcel, *TO_DELIVERED)
    outcomes = in_threads(app, [lambda: payouts.build_batch(1, "office")] * 3)
    assert sum(o is None for o in outcomes) == 1, outcomes
    assert db.session.scalar(select(func.sum(Payout.amount_idr))) == 120_000
    assert ledger.balance(village.id) == (0, 0)


# Generated lifecycles: any order of the things people and systems do keeps the books right.
#: Moving forward is likelier than ending a parcel, so that lifecycles reach delivery and payouts.
STEPS = st.lists(st.tuples(st.sampled_from(["advance"] * 6 + ["pay", "deliver", "confirm", "wait"] * 2 + [
    "decline", "cancel", "refund", "refund", "payout", "payout", "fail_payout", "adjust", "fee"]),
    st.integers(0, 5)), min_size=6, max_size=30)


def test_generated_lifecycles_keep_the_books(app, database_url):
    """Fewer examples on PostgreSQL (each step is a round trip there); the same rules on both."""
    examples = 25 if database_url.startswith("sqlite") else 8

    @settings(max_examples=examples, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
    @given(steps=STEPS, cod=st.booleans())
    def run(steps, cod):
        lifecycle(steps, cod)

    run()


def lifecycle(steps, cod):
    village, product = _village_with_product(price=37_777)
    _verified_account(village)
    orders = [make_order({village: [(product, 1 + i % 2)]}, paid=False, payment_method="cod" if cod else
              "bank_transfer") for i in range(3)]
    parcels = [parcels_of(o)[0] for o in orders]
    paid_out_before = {}
    for step, pick in steps:
        parcel = parcels[pick % 3]
        status = db.session.get(VillageOrder, parcel.id, populate_existing=True).status
        try:
            if step == "pay" and not cod:
                with unit_of_work():
                    mark_paid(parcel.order_id, "test")
            elif step == "advance":  # one to four steps along the parcel's way
                for _ in range(1 + pick % 4):
                    status = db.session.get(VillageOrder, parcel.id, populate_existing=True).status
                    if status == "awaiting_payment" and not cod:
                        with unit_of_work():
                            mark_paid(parcel.order_id, "test")
                        continue
                    following = {"paid": "accepted", "awaiting_payment": "accepted", "accepted": "packed",
                                 "packed": "shipped", "shipped": "delivered"}.get(status)
                    if following:
                        move_parcel(parcel, following, side=(VILLAGE, OFFICE, BUYER)[pick % 3]
                                    if following == "delivered" else VILLAGE)
            elif step == "deliver" and status == "shipped":
                move_parcel(parcel, "delivered", side=OFFICE if pick % 2 else VILLAGE)
            elif step == "confirm" and status == "shipped":
                move_parcel(parcel, "delivered", side=BUYER)
            elif step == "wait":  # time passes: every unconfirmed shipment counts as delivered
                with unit_of_work():
                    deliver_unconfirmed_parcels(now=now_utc() + timedelta(days=60))
            elif step in ("decline", "cancel"):
                move_parcel(parcel, "declined" if step == "decline" else "cancelled",
                            side=VILLAGE if step == "decline" else OFFICE)
            elif step == "refund":
                with unit_of_work():
                    refund_delivered(parcel.id, "rusak", actor_name="office")
            elif step == "payout":
                available, minimum = ledger.balance(village.id)[1], 1 + pick * 10_000
                with unit_of_work():
                    batch = payouts.build_batch(minimum, "office")
                # Earlier examples' villages are in the batch too; this village's payout is what
                # its balance held, never more.
                (payout,) = [p for p, _name, _account in payouts.batch_payouts(batch.id)
                             if p.village_id == village.id] or [None]
                assert (payout is not None) == (available >= minimum)
                if payout is not None:
                    assert payout.amount_idr == available
                    paid_out_before[payout.id] = payout.amount_idr
            elif step == "fail_payout" and paid_out_before:
                with unit_of_work():
                    payouts.mark_payout_failed(sorted(paid_out_before)[pick % len(paid_out_before)],
                                               reason="gagal", actor_name="office")
            elif step == "adjust":
                with unit_of_work():
                    ledger.adjust(village.id, (pick - 2) * 1_000 or 500, "office", "koreksi")
            elif step == "fee":
                _set_fee(pick * 100)
        except (OrderError, ledger.LedgerError):
            pass  # a move the rules refuse changes nothing; the books below must still be right
        _assert_adds_up(village)
        entries = _entries(village)
        keys = [e.once_key for e in entries if e.once_key]
        assert len(keys) == len(set(keys))
        for parcel_ in parcels:
            mine = [e for e in entries if e.village_order_id == parcel_.id]
            assert sum(e.amount_idr for e in mine if e.bucket == "pending") >= 0
            earned = [e for e in mine if e.bucket == "available" and e.cause == "parcel" and e.goods_idr > 0]
            assert len(earned) <= 1  # no parcel credited twice
            assert len([e for e in mine if e.cause == "refund" and e.bucket == "available"
                        and e.goods_idr < 0]) <= len(earned)
            state = db.session.get(VillageOrder, parcel_.id).status
            if state in ("declined", "cancelled"):
                assert sum(e.amount_idr for e in mine) == 0  # a parcel that did not ship leaves nothing
        reversed_ids = [e.reverses_id for e in entries if e.reverses_id]
        assert len(reversed_ids) == len(set(reversed_ids))
