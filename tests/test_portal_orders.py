"""The village's side of an order: its own parcel in the portal, the buttons that move it from
paid to delivered, the buyer seeing each parcel's status and tracking, and the office's part
(held orders, parcels not accepted in time, money to return)."""
import html as htmllib
import json
import re
from datetime import timedelta
from urllib.parse import parse_qs, unquote, urlsplit

import pytest
from sqlalchemy import func, select

from storefront.clock import now_utc, today_wita
from storefront.extensions import db
from storefront.orders.deadlines import flag_overdue_parcels
from storefront.orders.fulfilment import OFFICE, TRANSITIONS, VILLAGE, Change, change_parcel
from storefront.orders.models import PARCEL_STATUSES, Order, OrderEvent, OrderLine, VillageOrder
from storefront.orders.services import OrderError
from storefront.outbox.models import OutboxMessage, VillageWebhook
from storefront.products.models import Product

from .conftest import csrf_token
from .factories import make_certified_village, make_sellable_food, make_user, sign_in

BUYER = {"name": "Maria Goreti", "email": "maria@example.org", "phone": "0812 3456 7890",
         "province": "Jawa Timur", "regency": "35.78", "district": "Gubeng",
         "village_ward": "Airlangga", "postal_code": "60286", "street": "Jl. Airlangga 4"}


def text(response):
    return htmllib.unescape(response.get_data(as_text=True))


def hidden(page, name):
    return re.search(rf'name="{name}"[^>]*value="([^"]*)"', page).group(1)


def buy(client, items, method="bank_transfer"):
    """Through the shop's own pages: add each (product, quantity), quote, place. Returns the order page path."""
    for product, quantity in items:
        page = text(client.get(f"/produk/{product.slug}"))
        assert 'action="/keranjang/tambah"' in page
        assert client.post("/keranjang/tambah", data={"product_id": product.id,
                                                      "quantity": quantity}).status_code == 303
    page = text(client.get("/checkout"))
    form = {"csrf_token": csrf_token(page), "idempotency_key": hidden(page, "idempotency_key"),
            "payment_method": method, **BUYER}
    quoted = text(client.post("/checkout", data={**form, "action": "quote"}, follow_redirects=True))
    placed = client.post("/checkout", data={**form, "action": "place",
                                            "expected_total": hidden(quoted, "expected_total")})
    assert placed.status_code == 303, text(placed)[:500]
    return placed.headers["Location"]


def only_order():
    db.session.expire_all()
    return db.session.scalars(select(Order)).one()


def parcel_of(order, village):
    db.session.expire_all()
    return db.session.scalars(select(VillageOrder).where(
        VillageOrder.order_id == order.id, VillageOrder.village_id == village.id)).one()


def office_marks_paid(app, order):
    office = app.test_client()
    sign_in(office, make_user("verifier"))
    page = text(office.get("/kantor/pesanan"))
    answer = office.post(f"/kantor/pesanan/{order.id}/transfer", data={
        "csrf_token": csrf_token(page), "amount": str(order.total_idr), "received_on": today_wita().isoformat(),
        "reference": f"BNTT{order.id:04d}"})
    assert answer.status_code == 303
    db.session.expire_all()
    assert db.session.get(Order, order.id).status == "paid"


def member_client(app, village):
    client = app.test_client()
    sign_in(client, make_user("village_member", village))
    return client


def move(client, parcel_id, to_status, **fields):
    page = text(client.get(f"/portal/pesanan/{parcel_id}"))
    return client.post(f"/portal/pesanan/{parcel_id}/status",
                       data={"csrf_token": csrf_token(page), "to_status": to_status, **fields})


@pytest.fixture
def two_village_order(app, client):
    ngada, sikka = make_certified_village(name="Desa Beiposo"), make_certified_village(name="Desa Nita")
    coffee = make_sellable_food(ngada, name="Kopi Arabika Bajawa", sku="NGD-KOPI-01", stock=10)
    tea = make_sellable_food(sikka, "teh-herbal", name="Teh Kelor Sikka", sku="SKA-KELOR-01", stock=10)
    path = buy(client, [(coffee, 2), (tea, 3)])
    order = only_order()
    return {"villages": (ngada, sikka), "products": (coffee, tea), "order": order, "path": path}


def test_a_paid_order_reaches_each_village_with_only_its_own_lines(app, client, two_village_order):
    ngada, sikka = two_village_order["villages"]
    order = two_village_order["order"]
    a, b = member_client(app, ngada), member_client(app, sikka)
    # Unpaid bank transfers are not the villages' business yet.
    assert order.number not in text(a.get("/portal/pesanan"))

    office_marks_paid(app, order)

    for client, village, mine, theirs in ((a, ngada, "Kopi Arabika Bajawa", "Teh Kelor Sikka"),
                                          (b, sikka, "Teh Kelor Sikka", "Kopi Arabika Bajawa")):
        listing = text(client.get("/portal/pesanan"))
        assert order.number in listing and mine in listing and theirs not in listing
        parcel = parcel_of(order, village)
        detail = text(client.get(f"/portal/pesanan/{parcel.id}"))
        assert mine in detail and theirs not in detail
        assert "Jl. Airlangga 4" in detail and "60286" in detail and "+6281234567890" in detail
        assert "Transfer" not in detail and "Bank NTT" not in detail  # never payment details
    # The outbox holds one e-mail per village for the new paid order, with only its own lines.
    mails = db.session.scalars(select(OutboxMessage).where(OutboxMessage.channel == "email",
                                                          OutboxMessage.village_id.is_not(None))
                               .order_by(OutboxMessage.id)).all()
    assert [(m.kind, m.target) for m in mails] == [("order.paid", ngada.email), ("order.paid", sikka.email)]
    first = json.loads(mails[0].payload)
    assert order.number in first["subject"] and "Kopi Arabika Bajawa" in first["text"]
    assert "Teh Kelor Sikka" not in first["text"] and "Jl. Airlangga 4" in first["text"]
    assert f"/portal/pesanan/{parcel_of(order, ngada).id}" in first["text"]


def test_a_member_of_another_village_gets_404_and_changes_nothing(app, two_village_order):
    ngada, sikka = two_village_order["villages"]
    order = two_village_order["order"]
    office_marks_paid(app, order)
    theirs = parcel_of(order, sikka)
    a = member_client(app, ngada)

    assert a.get(f"/portal/pesanan/{theirs.id}").status_code == 404
    own = text(a.get(f"/portal/pesanan/{parcel_of(order, ngada).id}"))
    answer = a.post(f"/portal/pesanan/{theirs.id}/status",
                    data={"csrf_token": csrf_token(own), "to_status": "accepted"})
    assert answer.status_code == 404
    assert parcel_of(order, sikka).status == "paid"
    assert a.get("/portal/pesanan/999999").status_code == 404
    # The office and customers are not village members.
    customer = app.test_client()
    sign_in(customer, make_user())
    assert customer.get("/portal/pesanan").status_code == 403


def test_each_village_ships_and_the_buyer_sees_both_tracking_numbers(app, client, two_village_order):
    ngada, sikka = two_village_order["villages"]
    order = two_village_order["order"]
    office_marks_paid(app, order)
    for village, tracking, courier in ((ngada, "JNE0123456789", "JNE"), (sikka, "JP9876543210", "J&T Express")):
        member = member_client(app, village)
        parcel = parcel_of(order, village)
        for step in ("accepted", "packed"):
            assert move(member, parcel.id, step).status_code == 303
        # Shipping with a listed courier needs its tracking number.
        refused = move(member, parcel.id, "shipped", courier=courier, tracking_number="")
        assert refused.status_code == 422
        assert f"Ketik nomor resi dari tanda terima {courier}." in text(refused)
        assert parcel_of(order, village).status == "packed"
        assert move(member, parcel.id, "shipped", courier=courier, tracking_number=tracking).status_code == 303
        assert parcel_of(order, village).status == "shipped"

    page = text(client.get(two_village_order["path"]))
    assert "JNE0123456789" in page and "JP9876543210" in page
    events = db.session.scalars(select(OrderEvent.to_status).where(OrderEvent.village_order_id.is_not(None))
                                .order_by(OrderEvent.id)).all()
    assert events == ["accepted", "packed", "shipped"] * 2


@pytest.mark.parametrize("tracking", ["<script>", "12", "x" * 41, "JNE 0123 4567"])
def test_a_bad_tracking_number_is_refused(app, two_village_order, tracking):
    ngada, _ = two_village_order["villages"]
    order = two_village_order["order"]
    office_marks_paid(app, order)
    member = member_client(app, ngada)
    parcel = parcel_of(order, ngada)
    move(member, parcel.id, "accepted")
    move(member, parcel.id, "packed")

    answer = move(member, parcel.id, "shipped", courier="JNE", tracking_number=tracking)

    assert answer.status_code == 422
    assert parcel_of(order, ngada).status == "packed" and parcel_of(order, ngada).tracking_number is None


def test_declining_returns_the_stock_and_flags_the_transfer_for_the_office(app, client, two_village_order):
    ngada, sikka = two_village_order["villages"]
    coffee, tea = two_village_order["products"]
    order = two_village_order["order"]
    office_marks_paid(app, order)
    member = member_client(app, ngada)
    parcel = parcel_of(order, ngada)

    no_reason = move(member, parcel.id, "declined", reason="  ")
    assert no_reason.status_code == 422 and parcel_of(order, ngada).status == "paid"
    assert move(member, parcel.id, "declined", reason="Kopi rusak terkena hujan").status_code == 303

    declined = parcel_of(order, ngada)
    assert declined.status == "declined" and declined.refund_state == "office"
    db.session.expire_all()
    assert db.session.get(Product, coffee.id).stock == 10 and db.session.get(Product, tea.id).stock == 7
    assert parcel_of(order, sikka).status == "paid"  # the other village's parcel goes on
    buyer_page = text(client.get(two_village_order["path"]))
    assert "Kopi rusak terkena hujan" in buyer_page
    kinds = db.session.scalars(select(OutboxMessage.kind).where(
        OutboxMessage.village_order_id == parcel.id, OutboxMessage.channel == "email")).all()
    assert sorted(kinds) == ["order.cancelled", "order.paid"]

    office = app.test_client()
    sign_in(office, make_user("verifier"))
    page = text(office.get("/kantor/pesanan"))
    assert order.number in page and "Rp 225.000" in page  # 2 × 85.000 + 55.000 shipping to return
    assert office.post(f"/kantor/paket/{parcel.id}/uang-kembali",
                       data={"csrf_token": csrf_token(page)}).status_code == 303
    assert parcel_of(order, ngada).refund_state == "refunded"


def _status_of(parcel_id):
    db.session.expire_all()
    return db.session.get(VillageOrder, parcel_id).status


@pytest.mark.parametrize("side", [VILLAGE, OFFICE])
def test_the_transition_table_is_the_only_way_to_move_a_parcel(app, side):
    village = make_certified_village()
    product = make_sellable_food(village, stock=1000)
    order = Order(number="NTT-261129-TABLE1", idempotency_key="table-test-key-1", access_token_hash="x" * 64,
                  name="B", email="b@example.org", phone="+6281234567890", province="Jawa Timur",
                  regency="Kota Surabaya", district="Gubeng", village_ward="Airlangga", postal_code="60286",
                  street="Jl. 1", payment_method="bank_transfer", status="paid", subtotal_idr=85000,
                  shipping_idr=12000, total_idr=97000)
    db.session.add(order)
    db.session.flush()
    parcel = VillageOrder(order_id=order.id, village_id=village.id, village_name=village.name,
                          status="paid", weight_grams=250, chargeable_kg=1, zone="indonesia",
                          subtotal_idr=85000, shipping_idr=12000)
    db.session.add(parcel)
    db.session.flush()
    db.session.add(OrderLine(village_order_id=parcel.id, product_id=product.id, sku=product.sku,
                             name=product.name, village_name=village.name, price_idr=85000,
                             quantity=1, weight_grams=250))
    db.session.commit()
    checked = 0
    for frm in PARCEL_STATUSES:
        for to in PARCEL_STATUSES:
            db.session.execute(VillageOrder.__table__.update().where(VillageOrder.id == parcel.id).values(
                status=frm, courier="JNE" if frm == "shipped" else None,
                tracking_number="JNE0123456789" if frm == "shipped" else None))
            db.session.commit()
            change = Change(to, reason="alasan", courier="JNE", tracking_number="JNE0123456789")
            allowed = side in TRANSITIONS.get((frm, to), set())
            try:
                change_parcel(parcel.id, change, side=side, actor_name="test")
                db.session.commit()
                moved = True
            except OrderError:
                db.session.rollback()
                moved = False
            assert moved == allowed, (frm, to, side)
            assert _status_of(parcel.id) == (to if allowed else frm)
            checked += 1
    assert checked == len(PARCEL_STATUSES) ** 2


def test_two_members_pressing_at_once_move_the_parcel_once(app, two_village_order):
    ngada, _ = two_village_order["villages"]
    order = two_village_order["order"]
    office_marks_paid(app, order)
    first, second = member_client(app, ngada), member_client(app, ngada)
    parcel = parcel_of(order, ngada)
    pages = [text(c.get(f"/portal/pesanan/{parcel.id}")) for c in (first, second)]

    answers = [c.post(f"/portal/pesanan/{parcel.id}/status",
                      data={"csrf_token": csrf_token(p), "to_status": "accepted"})
               for c, p in zip((first, second), pages)]

    assert [a.status_code for a in answers] == [303, 422]
    assert db.session.scalar(select(func.count()).select_from(OrderEvent).where(
        OrderEvent.village_order_id == parcel.id, OrderEvent.to_status == "accepted")) == 1


def test_the_order_list_filters_and_counts_in_a_constant_number_of_queries(app, client, count_queries):
    village = make_certified_village(cod_allowed=True)
    products = [make_sellable_food(village, stock=50) for _ in range(2)]
    member = member_client(app, village)
    queries_for = {}
    for n in range(1, 7):
        shopper = app.test_client()
        buy(shopper, [(products[n % 2], 1)], method="cod")  # cash on delivery reaches the village at once
        if n in (1, 6):
            for status in ("", "action"):
                with count_queries() as counter:
                    assert member.get(f"/portal/pesanan?status={status}").status_code == 200
                queries_for.setdefault(status, set()).add(counter.count)
    orders = db.session.scalars(select(VillageOrder).order_by(VillageOrder.id)).all()
    change_parcel(orders[0].id, Change("accepted"), side=VILLAGE, actor_name="t")
    db.session.commit()
    def parcels_listed(status):
        return len(re.findall(r'href="/portal/pesanan/\d+"', text(member.get(f"/portal/pesanan?status={status}"))))

    assert (parcels_listed(""), parcels_listed("action"), parcels_listed("accepted"), parcels_listed("shipped")) == (6, 6, 1, 0)
    assert "6 paket perlu ditindaklanjuti" in text(member.get("/portal/pesanan")) or \
        "6 parcels need action" in text(member.get("/portal/pesanan"))
    with count_queries() as few:
        member.get("/portal/pesanan")
    assert len(queries_for[""]) == len(queries_for["action"]) == 1  # 1 order or 6: the same
    assert {few.count} == queries_for[""] and few.count <= 8
    assert member.get("/portal/pesanan?status=nonsense").status_code == 404


def test_the_whatsapp_link_carries_the_order_summary(app, two_village_order):
    ngada, _ = two_village_order["villages"]
    order = two_village_order["order"]
    office_marks_paid(app, order)
    member = member_client(app, ngada)
    page = member.get(f"/portal/pesanan/{parcel_of(order, ngada).id}").get_data(as_text=True)
    link = htmllib.unescape(re.search(r'href="(https://wa\.me/\?text=[^"]+)"', page).group(1))
    message = unquote(parse_qs(urlsplit(link).query, keep_blank_values=True)["text"][0]) \
        if "text" in parse_qs(urlsplit(link).query) else ""
    assert order.number in message and "2 x Kopi Arabika Bajawa" in message
    assert "Teh Kelor" not in message and "Jl. Airlangga 4" in message


def test_a_parcel_not_accepted_in_time_is_flagged_once_and_the_buyer_told(app, two_village_order):
    ngada, sikka = two_village_order["villages"]
    order = two_village_order["order"]
    office_marks_paid(app, order)
    change_parcel(parcel_of(order, sikka).id, Change("accepted"), side=VILLAGE, actor_name="t")
    db.session.commit()

    assert flag_overdue_parcels(now_utc() + timedelta(hours=47)) == []
    later = now_utc() + timedelta(hours=49)
    assert flag_overdue_parcels(later) == [(order.number, "Desa Beiposo")]
    assert flag_overdue_parcels(later + timedelta(hours=1)) == []  # once

    [notice] = db.session.scalars(select(OutboxMessage).where(OutboxMessage.kind == "order.delayed")).all()
    assert notice.target == "maria@example.org"
    body = json.loads(notice.payload)["text"]
    assert "Desa Beiposo" in body and order.number in body and "kunci=" in body
    office = app.test_client()
    sign_in(office, make_user("verifier"))
    assert "Desa Beiposo" in text(office.get("/kantor/pesanan"))


def test_a_held_order_reaches_the_villages_only_when_the_office_releases_it(app, two_village_order):
    ngada, _ = two_village_order["villages"]
    order = two_village_order["order"]
    office_marks_paid(app, order)
    db.session.execute(Order.__table__.update().where(Order.id == order.id).values(hold_reason="papers lapsed"))
    db.session.commit()
    member = member_client(app, ngada)
    parcel = parcel_of(order, ngada)
    assert member.get(f"/portal/pesanan/{parcel.id}").status_code == 404

    office = app.test_client()
    sign_in(office, make_user("verifier"))
    page = text(office.get("/kantor/pesanan"))
    assert "papers lapsed" in page
    assert office.post(f"/kantor/pesanan/{order.id}/lepas", data={"csrf_token": csrf_token(page)}).status_code == 303

    assert member.get(f"/portal/pesanan/{parcel.id}").status_code == 200
    assert move(member, parcel.id, "accepted").status_code == 303


def test_a_village_webhook_gets_every_event_of_its_own_parcels(app, two_village_order):
    ngada, sikka = two_village_order["villages"]
    order = two_village_order["order"]
    db.session.add(VillageWebhook(village_id=ngada.id, url="https://desa.example.id/hook", secret="whsec_x"))
    db.session.commit()
    office_marks_paid(app, order)
    member = member_client(app, ngada)
    move(member, parcel_of(order, ngada).id, "accepted")

    calls = db.session.scalars(select(OutboxMessage).where(OutboxMessage.channel == "webhook")
                               .order_by(OutboxMessage.id)).all()
    assert [(c.kind, c.village_id) for c in calls] == [("order.paid", ngada.id), ("order.status_changed", ngada.id)]
    body = json.loads(calls[0].payload)
    assert body["id"] == calls[0].event_id and body["type"] == "order.paid"
    assert [line["sku"] for line in body["data"]["lines"]] == ["NGD-KOPI-01"]
    assert "payment" not in json.dumps(body["data"]).replace("payment_method", "")
