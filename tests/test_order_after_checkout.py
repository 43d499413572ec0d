"""After checkout (issue 16): the buyer, the village and the office see where an order stands and
can act. The order's status derived from its parcels on the order page, the account's history
and the office; each parcel's own status and history; couriers, tracking links, another courier
and the village's own delivery; the buyer's cancel of an unpaid order; a lost link sent again
(``/pesanan/cari``); WhatsApp and phone links; POST, redirect, GET after placing and paying."""
import html as htmllib
import re
import time
from urllib.parse import parse_qs, unquote, urlsplit

import pytest
from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError

from storefront.clock import today_wita
from storefront.extensions import db
from storefront.orders.links import access_token_hash, order_link_token
from storefront.orders.models import Order, OrderEvent, VillageOrder
from storefront.orders.tracking import COURIERS, LISTED, VILLAGE_DELIVERY, opens_parcel, tracking_url
from storefront.outbox.models import OutboxMessage
from storefront.outbox.worker import deliver_due
from storefront.payments import reconcile
from storefront.payments.models import StripeEvent
from storefront.products.models import Product
from storefront.unit_of_work import unit_of_work

from .conftest import build_app, csrf_token
from .factories import (make_certified_village, make_order, make_sellable_food, make_user, move_parcel,
                        parcels_of, sign_in)

ADDRESS = {"name": "Maria Goreti", "email": "Maria@Example.org", "phone": "0812 3456 7890",
           "province": "Jawa Timur", "regency": "35.78", "district": "Gubeng", "village_ward": "Airlangga",
           "postal_code": "60286", "street": "Jl. Airlangga 4"}
WITA_TIME = r"\d{1,2} \w{3} \d{4} \d{2}:\d{2} WITA"


# --- helpers -------------------------------------------------------------------------------------

def text(response):
    return htmllib.unescape(response.get_data(as_text=True))


def words(page):
    """What a person reads on (part of) a page: no tags, single spaces."""
    return " ".join(htmllib.unescape(re.sub(r"<[^>]+>", " ", page)).split()).replace(" ,", ",").replace(" :", ":")


def english(client):
    assert client.get("/bahasa/en").status_code == 303
    return client


def session_token(client):
    """A CSRF token of this client's session (the sign-in form always carries one)."""
    return csrf_token(text(client.get("/masuk")))


def flashes(response):
    found = re.findall(r'<p class="flash[^"]*"[^>]*>(.*?)</p>', response.get_data(as_text=True), re.S)
    return [htmllib.unescape(m) for m in found]


def hidden(page, name):
    return re.search(rf'name="{name}"[^>]*value="([^"]*)"', page).group(1)


_keys = iter(range(1, 10 ** 6))


def linked_order(parts, **fields):
    """``make_order`` with a private link the test knows: ``(order, path)``."""
    key = f"after-{next(_keys)}-{time.monotonic_ns()}"
    token = order_link_token(key)
    order = make_order(parts, idempotency_key=key, access_token_hash=access_token_hash(token), **fields)
    return order, f"/pesanan/{order.number}?kunci={token}"


def two_villages(**first):
    a = make_certified_village(name="Desa Bena", **first)
    b = make_certified_village(name="Desa Wolotopo")
    return (a, make_sellable_food(a, name="Kopi Bajawa", stock=20)), (b, make_sellable_food(b, name="Tenun Ikat", stock=20))


def fresh(model, id_):
    db.session.expire_all()
    return db.session.get(model, id_)


def stock(product):
    return fresh(Product, product.id).stock


def outbox(kind):
    db.session.expire_all()
    return db.session.scalars(select(OutboxMessage).where(OutboxMessage.kind == kind)
                              .order_by(OutboxMessage.id)).all()


def shop(client, product, quantity=2, method="bank_transfer"):
    """Through the shop's own pages: add, calculate shipping, place. Returns (order, path, answers)."""
    answers = {}
    page = text(client.get(f"/produk/{product.slug}"))
    assert 'action="/keranjang/tambah"' in page
    answers["add"] = client.post("/keranjang/tambah", data={"product_id": product.id, "quantity": quantity})
    page = text(client.get("/checkout"))
    form = {"csrf_token": csrf_token(page), "idempotency_key": hidden(page, "idempotency_key"),
            "payment_method": method, **ADDRESS}
    answers["quote"] = client.post("/checkout", data={**form, "action": "quote"})
    quoted = text(client.get(answers["quote"].headers["Location"]))
    answers["place"] = client.post("/checkout", data={**form, "action": "place",
                                                      "expected_total": hidden(quoted, "expected_total")})
    assert answers["place"].status_code == 303, text(answers["place"])[:300]
    db.session.expire_all()
    order = db.session.scalars(select(Order).order_by(Order.id.desc())).first()
    location = answers["place"].headers["Location"]
    parts = urlsplit(location)
    return order, parts.path + (f"?{parts.query}" if parts.query else ""), answers


def member(app, village):
    client = app.test_client()
    sign_in(client, make_user("village_member", village))
    return client


def ship(client, parcel_id, **fields):
    page = text(client.get(f"/portal/pesanan/{parcel_id}"))
    data = {"csrf_token": csrf_token(page), "to_status": "shipped", "courier": "", "courier_name": "",
            "tracking_number": "", **fields}
    return client.post(f"/portal/pesanan/{parcel_id}/status", data=data)


# --- statuses: the order page, the account's history, the office ---------------------------------

COMBINATIONS = [
    # (parcel moves per village, order status, each parcel's status as the buyer reads it)
    (((), ()), "paid, being prepared",
     ["paid, waiting for the village to accept", "paid, waiting for the village to accept"]),
    ((("accepted", "packed", "shipped"), ("accepted",)), "partly shipped",
     ["on its way", "accepted by the village, being prepared"]),
    ((("accepted", "packed", "shipped"), ("accepted", "packed", "shipped")), "shipped", ["on its way", "on its way"]),
    ((("accepted", "packed", "shipped", "delivered"), ("declined",)), "delivered, partly cancelled",
     ["delivered", "declined by the village"]),
    ((("declined",), ("accepted", "cancelled")), "cancelled", ["declined by the village", "cancelled"]),
]


@pytest.mark.parametrize("moves, order_label, parcel_labels", COMBINATIONS)
def test_the_order_page_history_and_office_say_where_it_stands(app, client, moves, order_label, parcel_labels):
    (a, coffee), (b, cloth) = two_villages()
    buyer = make_user(email="maria@example.org")
    order, path = linked_order({a: [(coffee, 2)], b: [(cloth, 1)]}, user_id=buyer.id)
    for parcel, steps in zip(parcels_of(order), moves):
        move_parcel(parcel, *steps)

    page = text(english(client).get(path))
    assert f"Status: {order_label} ·" in words(page)
    sections = [words(s) for s in page.split('<section class="parcel"')[1:]]
    assert len(sections) == 2
    for section, label in zip(sections, parcel_labels):
        assert f"Parcel status: {label}" in section
        # Every parcel has its history, the order's own steps included, in WITA.
        assert re.search(WITA_TIME + r" · payment received", section)
    if moves[0][-1:] == ("declined",):
        assert re.search(WITA_TIME + r" · declined by the village · test reason", sections[0])

    history = text(english(sign_in(app.test_client(), buyer)).get("/akun/pesanan"))
    assert order_label in history
    assert "From Desa Bena: 2 × Kopi Bajawa" in history and "From Desa Wolotopo: 1 × Tenun Ikat" in history
    for label in parcel_labels:
        assert f"({label})" in history

    office = english(sign_in(app.test_client(), make_user("verifier"))).get("/kantor/pesanan")
    recent = text(office).split('<h2>Recent</h2>')[1]
    assert order.number in recent and f'<span class="tag">{order_label}</span>' in recent
    for label in parcel_labels:
        assert label in recent


def test_a_parcel_not_accepted_yet_shows_its_status_and_history_in_indonesian(client):
    (a, coffee), _ = two_villages()
    order, path = linked_order({a: [(coffee, 1)]})
    page = words(text(client.get(path)))
    assert "Status: sudah dibayar, sedang disiapkan" in page
    assert "Status paket: sudah dibayar, menunggu diterima desa" in page
    assert re.search(r"\d{1,2} \w{3} \d{4} \d{2}:\d{2} WITA · pembayaran diterima", page)


def test_an_unpaid_order_and_a_cash_on_delivery_parcel_say_so(client):
    (a, coffee), _ = two_villages(cod_allowed=True)
    _unpaid, path = linked_order({a: [(coffee, 1)]}, paid=False)
    page = words(text(english(client).get(path)))
    assert "Status: awaiting payment" in page and "Parcel status: awaiting payment" in page
    _cod, cod_path = linked_order({a: [(coffee, 1)]}, payment_method="cod")
    page = words(text(client.get(cod_path)))
    assert "Status: confirmed, paid on delivery" in page
    assert "Parcel status: waiting for the village to accept; you pay on delivery" in page


def test_pages_that_list_orders_take_the_same_queries_for_one_order_or_many(app, count_queries):
    (a, coffee), (b, cloth) = two_villages()
    buyer = make_user()
    office = sign_in(app.test_client(), make_user("verifier"))
    client = sign_in(app.test_client(), buyer)

    def counted(client, path):
        with count_queries() as counter:
            assert client.get(path).status_code == 200
        return counter.count

    order, path = linked_order({a: [(coffee, 1)]}, user_id=buyer.id)
    few = (counted(client, path), counted(client, "/akun/pesanan"), counted(office, "/kantor/pesanan"))
    big, big_path = linked_order({a: [(coffee, 2)], b: [(cloth, 3)]}, user_id=buyer.id)
    for parcel in parcels_of(big):
        move_parcel(parcel, "accepted", "packed", "shipped")
    for _ in range(4):
        linked_order({a: [(coffee, 1)], b: [(cloth, 1)]}, user_id=buyer.id)
    many = (counted(client, big_path), counted(client, "/akun/pesanan"), counted(office, "/kantor/pesanan"))
    assert many == few, (few, many)


# --- couriers and tracking -----------------------------------------------------------------------

def test_tracking_links_per_courier():
    pages = {"JNE": "https://www.jne.co.id/tracking-package", "J&T Express": "https://jet.co.id/track",
             "SiCepat": "https://www.sicepat.com/checkAwb", "POS Indonesia": "https://www.posindonesia.co.id/id/tracking",
             "TIKI": "https://www.tiki.id/id/tracking", "AnterAja": "https://anteraja.id/tracking"}
    for courier, page in pages.items():
        assert tracking_url(courier, "AB1234567") == page and not opens_parcel(courier)
    assert tracking_url("Ninja Xpress", "NV12345678") == "https://www.ninjaxpress.co/id-id/tracking?id=NV12345678"
    assert tracking_url("Lion Parcel", "11LP 123/4") == "https://lionparcel.com/track/stt?q=11LP%20123%2F4"
    assert opens_parcel("Ninja Xpress") and opens_parcel("lion")
    assert tracking_url("j&t", "JP1234567") == "https://jet.co.id/track"  # other ways to write it
    # No link where the page's address is not certain, for unknown couriers, without a number.
    for courier in ("Wahana", "ID Express", "Kurir Kilat Sumba", VILLAGE_DELIVERY, "", None):
        assert tracking_url(courier, "AB1234567") is None
    assert tracking_url("JNE", "") is None and tracking_url("JNE", None) is None
    assert {c.name for c in COURIERS} == set(LISTED)


@pytest.fixture
def packed(app):
    """A paid two-village order, both parcels packed; the buyer's English page and the villages."""
    (a, coffee), (b, cloth) = two_villages()
    order, path = linked_order({a: [(coffee, 1)], b: [(cloth, 1)]}, lang="en")
    first, second = parcels_of(order)
    move_parcel(first, "accepted", "packed")
    move_parcel(second, "accepted", "packed")
    return {"order": order, "path": path, "parcels": (first, second), "villages": (a, b)}


def test_shipped_with_a_courier_that_opens_the_parcel_shows_the_number_as_its_link(app, client, packed):
    a, b = packed["villages"]
    first, second = packed["parcels"]
    assert ship(member(app, a), first.id, courier="Ninja Xpress", tracking_number="NV12345678").status_code == 303
    assert ship(member(app, b), second.id, courier="JNE", tracking_number="JNE0123456789").status_code == 303
    page = text(english(client).get(packed["path"]))
    assert '<a href="https://www.ninjaxpress.co/id-id/tracking?id=NV12345678" rel="noopener noreferrer">NV12345678</a>' in page
    assert '<a href="https://www.jne.co.id/tracking-package" rel="noopener noreferrer">JNE0123456789</a>' in page
    assert "The link opens the tracking page of JNE: type the tracking number there." in page
    assert page.count("type the tracking number there") == 1  # not for Ninja Xpress, whose link opens the parcel
    portal = text(member(app, a).get(f"/portal/pesanan/{first.id}"))
    assert 'href="https://www.ninjaxpress.co/id-id/tracking?id=NV12345678"' in portal


def test_another_courier_and_the_village_itself_need_no_tracking_number(app, client, packed):
    a, b = packed["villages"]
    first, second = packed["parcels"]
    village_a, village_b = member(app, a), member(app, b)

    # Bad input changes nothing and says why, in the village's language.
    nameless = ship(village_a, first.id, courier="other", courier_name="  ")
    assert nameless.status_code == 422 and "Ketik nama kurirnya." in text(nameless)
    nothing = ship(village_a, first.id)
    assert nothing.status_code == 422
    assert "Pilih kurir, atau pilih bahwa desa Anda mengantar sendiri paketnya." in text(nothing)
    listed = ship(village_a, first.id, courier="other", courier_name="jne")  # a listed courier typed by hand
    assert listed.status_code == 422 and "Ketik nomor resi dari tanda terima JNE." in text(listed)
    assert fresh(VillageOrder, first.id).status == "packed"

    assert ship(village_a, first.id, courier="other", courier_name=" Kurir  Kilat Sumba ").status_code == 303
    # The village's own delivery: a tracking number typed anyway is not kept.
    assert ship(village_b, second.id, courier=VILLAGE_DELIVERY, tracking_number="ABC123456").status_code == 303
    shipped = fresh(VillageOrder, first.id), fresh(VillageOrder, second.id)
    assert [(p.status, p.courier, p.tracking_number) for p in shipped] == [
        ("shipped", "Kurir Kilat Sumba", None), ("shipped", VILLAGE_DELIVERY, None)]

    page = text(english(client).get(packed["path"]))
    assert "<strong>on its way</strong> · Kurir Kilat Sumba</p>" in page
    assert "<strong>on its way</strong> · delivered by the village itself</p>" in page
    assert "tracking number" not in page
    assert text(village_b.get(f"/portal/pesanan/{second.id}")).count("diantar sendiri oleh desa") == 1


def test_the_database_wants_a_listed_couriers_tracking_number(app, packed):
    parcel_id = packed["parcels"][0].id

    def shipped(courier, number):
        try:
            with unit_of_work():
                db.session.execute(update(VillageOrder).where(VillageOrder.id == parcel_id).values(
                    status="shipped", courier=courier, tracking_number=number))
        except IntegrityError:
            return False
        return True

    for name in LISTED:
        assert not shipped(name, None), name
    assert not shipped(None, None)
    assert not shipped(VILLAGE_DELIVERY, "ABC123456")
    assert shipped("Kurir Kilat Sumba", None)
    assert shipped(VILLAGE_DELIVERY, None)
    assert shipped("JNE", "JNE0123456789")


# --- the buyer cancels an unpaid order -----------------------------------------------------------

def test_the_buyer_cancels_an_unpaid_transfer_and_the_stock_returns(app, client):
    product = make_sellable_food(stock=10)
    order, path, _answers = shop(english(client), product, quantity=3)
    assert stock(product) == 7
    page = text(client.get(path))
    assert "Cancel this order" in page
    assert "If you have already transferred the money, do not cancel" in page

    answer = client.post(f"/pesanan/{order.number}/batal?{urlsplit(path).query}",
                         data={"csrf_token": csrf_token(page)}, follow_redirects=True)
    assert flashes(answer) == [f"Order {order.number} is cancelled. Nothing was paid, so there is nothing to return."]
    assert fresh(Order, order.id).status == "cancelled" and stock(product) == 10
    assert {p.status for p in parcels_of(order)} == {"cancelled"}
    event = db.session.scalars(select(OrderEvent).where(OrderEvent.to_status == "cancelled")).one()
    assert event.reason == "cancelled by the buyer" and event.actor_name == "buyer"
    page = text(answer)
    assert "Status: cancelled ·" in words(page) and "Cancel this order" not in page
    assert re.search(WITA_TIME + " · cancelled · you cancelled the order", page)

    again = client.post(f"/pesanan/{order.number}/batal?{urlsplit(path).query}",
                        data={"csrf_token": session_token(client)}, follow_redirects=True)
    assert flashes(again) == ["This order is no longer waiting for payment, so it cannot be cancelled here."]
    assert stock(product) == 10  # given back once


def test_an_unfinished_card_payment_can_be_cancelled_but_not_one_stripe_is_confirming(client):
    (a, coffee), _ = two_villages()
    order, path = linked_order({a: [(coffee, 1)]}, payment_method="stripe", paid=False)
    pending, pending_path = linked_order({a: [(coffee, 1)]}, payment_method="stripe", paid=False)
    db.session.add(StripeEvent(id="evt_async", type="checkout.session.completed", order_id=pending.id,
                               session_id="cs_test_1", payment_status="unpaid"))
    db.session.commit()
    english(client)
    for target, target_path, flash, status in (
            (order, path, f"Order {order.number} is cancelled. Nothing was paid, so there is nothing to return.",
             "cancelled"),
            (pending, pending_path, "Your card payment is being confirmed, so the order cannot be cancelled now.",
             "awaiting_payment")):
        page = text(client.get(target_path))
        answer = client.post(f"/pesanan/{target.number}/batal?{urlsplit(target_path).query}",
                             data={"csrf_token": csrf_token(page)}, follow_redirects=True)
        assert flashes(answer) == [flash]
        assert fresh(Order, target.id).status == status


def test_cancelling_is_refused_once_money_was_recorded_or_the_order_is_paid(app, client):
    product = make_sellable_food(stock=10, price_idr=50000)
    underpaid, path, _answers = shop(english(client), product, quantity=2)
    with unit_of_work():
        reconcile.record_transfer(underpaid.id, 50000, today_wita(), "BNTT0001", "office")
    page = text(client.get(path))
    assert "Cancel this order" not in page  # the office's now
    answer = client.post(f"/pesanan/{underpaid.number}/batal?{urlsplit(path).query}",
                         data={"csrf_token": csrf_token(page)}, follow_redirects=True)
    assert flashes(answer) == ["Part of the payment for this order has arrived, so the office settles it. "
                               "Write to the office if you want to cancel it."]
    assert fresh(Order, underpaid.id).status == "awaiting_payment" and stock(product) == 8

    (a, coffee), _ = two_villages(cod_allowed=True)
    for fields in ({"paid": True}, {"payment_method": "cod"}):
        order, order_path = linked_order({a: [(coffee, 1)]}, **fields)
        assert "Cancel this order" not in text(client.get(order_path))
        answer = client.post(f"/pesanan/{order.number}/batal?{urlsplit(order_path).query}",
                             data={"csrf_token": session_token(client)}, follow_redirects=True)
        assert flashes(answer) == ["This order is no longer waiting for payment, so it cannot be cancelled here."]
        assert fresh(Order, order.id).status == ("paid" if fields.get("paid") else "awaiting_payment")


def test_another_buyers_link_cannot_act_on_the_order(app, client):
    (a, coffee), _ = two_villages()
    owner = make_user()
    mine, _mine_path = linked_order({a: [(coffee, 1)]}, paid=False, user_id=owner.id)
    _theirs, theirs_path = linked_order({a: [(coffee, 1)]}, paid=False)
    page = text(client.get(theirs_path))
    stolen_key = urlsplit(theirs_path).query
    for url in (f"/pesanan/{mine.number}/batal?{stolen_key}", f"/pesanan/{mine.number}/batal",
                f"/pesanan/{mine.number}/batal?kunci=salah"):
        assert client.post(url, data={"csrf_token": csrf_token(page)}).status_code == 404
    stranger = sign_in(app.test_client(), make_user())
    token = csrf_token(text(stranger.get("/masuk")))
    assert stranger.post(f"/pesanan/{mine.number}/batal", data={"csrf_token": token}).status_code == 404
    assert fresh(Order, mine.id).status == "awaiting_payment"
    # Its owner, signed in, needs no link; without the form's token nothing happens.
    own = sign_in(app.test_client(), owner)
    assert own.post(f"/pesanan/{mine.number}/batal", data={}).status_code == 400
    assert fresh(Order, mine.id).status == "awaiting_payment"
    token = csrf_token(text(own.get(f"/pesanan/{mine.number}")))
    assert own.post(f"/pesanan/{mine.number}/batal", data={"csrf_token": token}).status_code == 303
    assert fresh(Order, mine.id).status == "cancelled"


# --- a lost link, sent again ---------------------------------------------------------------------

def ask(client, number, email, follow=False):
    page = text(client.get("/pesanan/cari"))
    return client.post("/pesanan/cari", data={"csrf_token": csrf_token(page), "number": number, "email": email},
                       follow_redirects=follow)


def test_a_lost_link_goes_to_the_orders_address_and_the_answer_says_nothing(app, client, smtp):
    app.config["ORDER_LINK_ANSWER_SECONDS"] = 0.15
    (a, coffee), _ = two_villages()
    order, _path = linked_order({a: [(coffee, 1)]}, email="maria@example.org")
    english(client)
    page = text(client.get("/pesanan/cari"))
    assert '<label for="number">Order number</label>' in page and 'name="email"' in page

    answers, took, shown = {}, {}, []
    for case, number, email in (("match", order.number.lower().replace("-", " - "), " MARIA@example.org "),
                                ("wrong e-mail", order.number, "other@example.org"),
                                ("unknown order", "NTT-000000-XXXXXX", "maria@example.org")):
        started = time.monotonic()
        answers[case] = ask(client, number, email)
        took[case] = time.monotonic() - started
        shown += flashes(client.get(answers[case].headers["Location"]))
    assert {a.status_code for a in answers.values()} == {303}
    assert {a.headers["Location"] for a in answers.values()} == {"/pesanan/cari"}
    assert min(took.values()) >= 0.15, took  # however quick the lookup, the answer takes as long
    assert shown == [
        f"If {order.number} is an order placed with MARIA@example.org, its private link is on its way to that "
        "address. Check your spam folder too.",
        f"If {order.number} is an order placed with other@example.org, its private link is on its way to that "
        "address. Check your spam folder too.",
        "If NTT-000000-XXXXXX is an order placed with maria@example.org, its private link is on its way to "
        "that address. Check your spam folder too."]

    [mail] = outbox("order.link")  # one, for the match only
    assert mail.target == "maria@example.org"
    deliver_due()
    [sent] = [m for m in smtp.to("maria@example.org") if m["subject"] == f"Your link to order {order.number}"]
    link = re.search(r"http://shop\.test(/pesanan/\S+)", sent["body"]).group(1)
    opened = app.test_client().get(link)
    assert opened.status_code == 200 and order.number in text(opened)


def test_a_lost_link_form_refuses_bad_input_and_needs_its_token(client):
    english(client)
    empty = ask(client, "", "bukan-email")
    assert empty.status_code == 422
    assert "Type the order number, e.g. NTT-261203-7K3M2A." in text(empty)
    assert "Enter a valid e-mail address, e.g. nama@contoh.id." in text(empty)
    forged = client.post("/pesanan/cari", data={"number": "NTT-1", "email": "a@example.org"})
    assert forged.status_code in (400, 422)
    assert outbox("order.link") == []


def test_the_lost_link_form_is_linked_from_the_order_page_and_the_account(app, client):
    (a, coffee), _ = two_villages()
    buyer = make_user()
    _order, path = linked_order({a: [(coffee, 1)]}, user_id=buyer.id)
    assert 'href="/pesanan/cari"' in text(client.get(path))
    own = sign_in(app.test_client(), buyer)
    assert 'href="/pesanan/cari"' in text(own.get("/akun"))
    assert 'href="/pesanan/cari"' in text(own.get("/akun/pesanan"))


def test_asking_for_lost_links_is_rate_limited(database_url, tmp_path):
    app = build_app(database_url, tmp_path, RATELIMIT_ENABLED=True, REDIS_URL=None, ORDER_LINK_ANSWER_SECONDS=0,
                    RATELIMIT_ORDER_LINK_EMAIL="2/hour", RATELIMIT_ORDER_LINK_IP="3/hour")
    from storefront.ratelimit import limiter

    with app.app_context():
        try:
            village = make_certified_village()
            order = make_order({village: [(make_sellable_food(village), 1)]}, email="ina@example.org")
            client, other = app.test_client(), app.test_client()
            client.environ_base["REMOTE_ADDR"] = "203.0.113.61"
            other.environ_base["REMOTE_ADDR"] = "203.0.113.62"
            same = [ask(client, order.number, "ina@example.org").status_code for _ in range(2)]
            same.append(ask(other, order.number, "INA@example.org").status_code)
            assert same == [303, 303, 429]  # per e-mail address, from any address
            assert len(outbox("order.link")) == 2
            third = app.test_client()
            third.environ_base["REMOTE_ADDR"] = "203.0.113.63"
            many = [ask(third, order.number, f"x{n}@example.org").status_code for n in range(4)]
            assert many == [303, 303, 303, 429]  # per address of the asker
        finally:
            limiter.enabled = False
            db.session.remove()
            from .conftest import _empty_tables
            _empty_tables()
            db.engine.dispose()


# --- talking to each other -----------------------------------------------------------------------

def test_the_order_page_offers_each_villages_phone_and_whatsapp(client):
    a = make_certified_village(name="Desa Bena", phone="+6281234567001")
    b = make_certified_village(name="Desa Tanpa Telepon", phone=None)
    order, path = linked_order({a: [(make_sellable_food(a), 1)], b: [(make_sellable_food(b), 1)]})
    page = client.get(path).get_data(as_text=True)
    with_phone, without = page.split('<section class="parcel"')[1:]
    assert 'href="tel:+6281234567001"' in with_phone
    link = re.search(r'href="(https://wa\.me/6281234567001\?text=[^"]+)"', with_phone).group(1)
    assert unquote(link.split("text=")[1]) == f"Halo Desa Bena, tentang pesanan saya {order.number}: "
    assert "tel:" not in without and "wa.me" not in without


def test_the_village_calls_or_whatsapps_the_buyer_in_the_buyers_language(app):
    (a, coffee), _ = two_villages()
    order, _path = linked_order({a: [(coffee, 1)]}, lang="en", name="Maria Goreti", phone="+6281299998888")
    [parcel] = parcels_of(order)
    page = text(member(app, a).get(f"/portal/pesanan/{parcel.id}"))
    assert 'href="tel:+6281299998888"' in page and "Telepon Maria Goreti: +62 812-9999-8888" in page
    link = re.search(r'href="(https://wa\.me/6281299998888\?text=[^"]+)"', page).group(1)
    assert parse_qs(urlsplit(link).query)["text"] == [
        f"Hello Maria Goreti, this is Desa Bena about your order {order.number} at Produk Desa NTT."]


# --- after placing and paying: which mail went where; POST, redirect, GET ------------------------

def test_every_step_of_buying_answers_with_a_redirect_and_the_back_button_finds_the_order(app, client):
    product = make_sellable_food(stock=10)
    order, path, answers = shop(client, product)
    assert {step: a.status_code for step, a in answers.items()} == {"add": 303, "quote": 303, "place": 303}
    assert answers["quote"].headers["Location"] == "/checkout"
    page = client.get(path)
    assert flashes(page) == ["Konfirmasi pesanan, berisi cara membayar dan tautan pribadi pesanan ini, sedang "
                             "dikirim ke maria@example.org."]
    assert "Email tentang pesanan ini dikirim ke maria@example.org." in text(page)
    assert [m.target for m in outbox("order.placed")] == ["maria@example.org"]
    # Back to the checkout after placing: the order, not a form to send again.
    back = client.get("/checkout")
    assert back.status_code == 303 and urlsplit(back.headers["Location"]).path == f"/pesanan/{order.number}"
    # Paying: "I have transferred" answers with a redirect too.
    reported = client.post(f"/pesanan/{order.number}/sudah-transfer?{urlsplit(path).query}",
                           data={"csrf_token": csrf_token(text(page))})
    assert reported.status_code == 303
    # A new checkout later starts afresh (another order needs a key of its own).
    client.post("/keranjang/tambah", data={"product_id": product.id, "quantity": 1})
    again = text(client.get("/checkout"))
    assert hidden(again, "idempotency_key") != order.idempotency_key and "Maria Goreti" in again
    assert db.session.scalar(select(func.count()).select_from(Order)) == 1
