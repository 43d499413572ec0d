"""The office's orders (issue 17): a search by number, buyer or amount and a status filter on
the list, every order number a link to the order's own page (goods, parcels, money, history and
the office's actions), labels in the reader's language instead of stored codes, a fixed number
of queries however many orders there are, and only the office gets in."""
import html as htmllib
import re

from sqlalchemy import select

from storefront.clock import today_wita
from storefront.extensions import db
from storefront.orders.models import Order
from storefront.orders.queries import search_orders
from storefront.orders.status import LABELS, state_of
from storefront.payments.models import PaymentReceived, TransferReceipt

from .conftest import csrf_token
from .factories import (make_certified_village, make_order, make_sellable_food, make_user, move_parcel,
                        parcels_of, sign_in)

#: Stored codes that must never reach the office's eyes as they are.
CODES = ("bank_transfer", "awaiting_payment", "paid", "stripe", "cod", "refund_failed", "accepted", "packed",
         "shipped", "delivered", "declined", "cancelled", "expired", "held", "released")
#: Of those, the ones that are not also English words.
ENGLISH_CODES = ("bank_transfer", "awaiting_payment", "stripe", "cod", "refund_failed")
LINK = re.compile(r'href="/kantor/pesanan/([A-Z0-9-]+)"')


def text(response):
    return htmllib.unescape(response.get_data(as_text=True))


def visible(response):
    """What a person reads on the page: the HTML without its tags, attributes and stylesheets."""
    page = re.sub(r"<(script|style)\b.*?</\1>", " ", response.get_data(as_text=True), flags=re.S)
    return " ".join(htmllib.unescape(re.sub(r"<[^>]+>", " ", page)).split())


def raw_codes(response, codes=CODES):
    words = visible(response)
    return [code for code in codes if re.search(rf"(?<![\w-]){code}(?![\w-])", words)]


def office(app):
    return sign_in(app.test_client(), make_user("verifier"))


def found(client, **args):
    """The order numbers a search lists (the links of its results)."""
    response = client.get("/kantor/pesanan", query_string=args)
    assert response.status_code == 200
    page = text(response)
    assert "Pesanan yang ditemukan" in page  # only the results: the work lists are left out
    return set(LINK.findall(page))


def two_buyers():
    village = make_certified_village(name="Desa Bena")
    coffee = make_sellable_food(village, name="Kopi Bajawa", price_idr=85000, stock=50)
    honey = make_sellable_food(village, name="Madu Hutan", price_idr=120000, stock=50)
    maria = make_order({village: [(coffee, 1)]}, name="Maria Lero", email="maria.lero@example.org",
                       phone="+6281311112222", shipping_idr=20000)
    yohanes = make_order({village: [(honey, 2)]}, name="Yohanes Bria", email="yohanes@contoh.id",
                         phone="+6285233334444", shipping_idr=20000, paid=False)
    return maria, yohanes


# --- the search ------------------------------------------------------------------------------------

def test_the_search_finds_an_order_by_each_of_its_keys_and_not_the_others(app):
    maria, yohanes = two_buyers()
    assert (maria.total_idr, yohanes.total_idr) == (105000, 260000)
    client = office(app)
    for query in (maria.number, maria.number.lower(), maria.number[-6:], f" {maria.number} ".replace("-", " - "),
                  "Maria", "lero", "MARIA.LERO@", "example.org", "0813-1111-2222", "+62 813 1111 2222", "81311112222",
                  "105000", "105.000", "Rp 105.000", "Rp105.000,-"):
        assert found(client, q=query) == {maria.number}, query
    for query in ("Bria", "yohanes@contoh.id", "0852 3333 4444", "260.000", "Rp 260.000", yohanes.number[-4:]):
        assert found(client, q=query) == {yohanes.number}, query
    assert found(client, q="NTT-261203") == {maria.number, yohanes.number}
    for query in ("Petrus", "105.001", "Rp 85.000", "0899 0000", "%", "_", "'; DROP TABLE orders; --"):
        assert found(client, q=query) == set(), query
    nothing = text(client.get("/kantor/pesanan", query_string={"q": "Petrus"}))
    assert "0 pesanan ditemukan" in nothing and "Tidak ada pesanan yang cocok" in nothing


def test_the_status_filter_and_the_search_together(app):
    maria, yohanes = two_buyers()
    client = office(app)
    assert found(client, status="awaiting_payment") == {yohanes.number}
    assert found(client, status="paid") == {maria.number}
    assert found(client, status="paid", q="Bria") == set()
    assert found(client, status="delivered") == set()
    # An unknown status is ignored, not an error: the list as it is without it.
    response = client.get("/kantor/pesanan?status=bogus")
    assert response.status_code == 200 and "Pesanan yang ditemukan" not in text(response)
    assert {maria.number, yohanes.number} <= set(LINK.findall(text(response)))
    page = text(client.get("/kantor/pesanan?status=paid"))
    assert '<option value="paid" selected>sudah dibayar, sedang disiapkan</option>' in page


def _order_in(village, product, **fields):
    return make_order({village: [(product, 1)]}, **fields)


def test_the_status_filter_gives_the_same_status_as_the_order_pages(app):
    """The filter's SQL and ``status.order_state`` answer the same for orders in every state."""
    a, b = make_certified_village(), make_certified_village(cod_allowed=True)
    coffee, cloth = make_sellable_food(a, stock=99), make_sellable_food(b, stock=99)
    both = {a: [(coffee, 1)], b: [(cloth, 1)]}
    orders = [make_order(both, paid=False), make_order({b: [(cloth, 1)]}, payment_method="cod"),
              make_order(both), make_order(both, hold_reason="papers lapsed")]
    for moves in ((("accepted", "packed", "shipped"), ()),
                  (("accepted", "packed", "shipped"), ("accepted", "packed", "shipped")),
                  (("accepted", "packed", "shipped", "delivered"), ("accepted", "packed", "shipped")),
                  (("accepted", "packed", "shipped", "delivered"),) * 2,
                  (("declined",), ("accepted", "packed", "shipped", "delivered")),
                  (("declined",), ("accepted", "cancelled"))):
        order = make_order(both)
        for parcel, statuses in zip(parcels_of(order), moves):
            move_parcel(parcel, *statuses)
        orders.append(order)
    cod = make_order({b: [(cloth, 1)]}, payment_method="cod")
    move_parcel(parcels_of(cod)[0], "accepted", "packed", "shipped")
    ended = make_order(both, paid=False)
    db.session.execute(Order.__table__.update().where(Order.id == ended.id).values(status="expired"))
    db.session.commit()
    orders += [cod, ended]

    db.session.expire_all()
    expected = {}
    for order in db.session.scalars(select(Order)):
        expected.setdefault(state_of(order, parcels_of(order)).code, set()).add(order.id)
    assert len(expected) >= 9, expected  # most of the states are there
    for code in LABELS:
        assert set(db.session.scalars(search_orders(status=code).with_only_columns(Order.id))) \
            == expected.get(code, set()), code


def test_the_list_is_paged(app, monkeypatch):
    import storefront.office.orders as office_orders
    village = make_certified_village()
    coffee = make_sellable_food(village, stock=999)
    numbers = [make_order({village: [(coffee, 1)]}, name=f"Pembeli {i}").number for i in range(3)]
    client = office(app)
    monkeypatch.setattr(office_orders, "PAGE_SIZE", 2)
    first = text(client.get("/kantor/pesanan?q=Pembeli"))
    assert "3 pesanan ditemukan" in first and "Halaman 1 dari 2" in first
    assert set(LINK.findall(first)) == set(numbers[1:])
    nxt = re.search(r'rel="next" href="([^"]+)"', first).group(1)
    assert set(LINK.findall(text(client.get(nxt)))) == {numbers[0]}
    # Without a search, the latest orders are paged the same way (page 2 is only the list).
    second = text(client.get("/kantor/pesanan?page=2"))
    assert set(LINK.findall(second)) == {numbers[0]} and "Menunggu pembayaran" not in second


# --- the order's own page ------------------------------------------------------------------------

def busy_order():
    """A bank-transfer order from two villages, paid, with one parcel shipped and the other
    declined, a buyer's receipt and a transfer recorded by the office."""
    ngada = make_certified_village(name="Desa Bena", phone="+6281234500001")
    sikka = make_certified_village(name="Desa Wolotopo")
    coffee = make_sellable_food(ngada, name="Kopi Bajawa", price_idr=85000, stock=20)
    cloth = make_sellable_food(sikka, name="Sarung Tenun", price_idr=400000, stock=5)
    order = make_order({ngada: [(coffee, 2)], sikka: [(cloth, 1)]}, name="Maria Lero",
                       email="maria.lero@example.org", phone="+6281311112222", shipping_idr=20000, paid=False)
    db.session.add(PaymentReceived(order_id=order.id, method="bank_transfer", amount_idr=order.total_idr,
                                   received_on=today_wita(), reference="BNTT778899", recorded_by="Petugas Ani"))
    db.session.add(TransferReceipt(order_id=order.id))
    db.session.commit()
    from storefront.orders.services import mark_paid
    from storefront.unit_of_work import unit_of_work
    with unit_of_work():
        mark_paid(order.id, "Petugas Ani", "bank transfer received")
    first, second = parcels_of(order)
    move_parcel(first, "accepted", "packed", "shipped")
    move_parcel(second, "declined")
    return order


def test_the_order_page_shows_goods_parcels_money_and_history(app):
    order = busy_order()
    client = office(app)
    response = client.get(f"/kantor/pesanan/{order.number}")
    assert response.status_code == 200
    page = visible(response)
    source = text(response)
    assert f"Pesanan {order.number}" in page
    assert "Maria Lero" in page and 'href="mailto:maria.lero@example.org"' in source
    assert 'href="tel:+6281311112222"' in source and 'href="https://wa.me/6281311112222?text=' in source
    assert "Jl. Gajah Mada 1, Pemecutan, Kecamatan Denpasar Barat, Kota Denpasar, Bali 80119" in page
    # Goods per parcel, with quantities and amounts.
    assert "Paket dari Desa Bena" in page and "Paket dari Desa Wolotopo" in page
    assert re.search(r"2 Kopi Bajawa SKU-\d+ Rp 85.000 Rp 170.000", page)
    assert "1 Sarung Tenun" in page and "Rp 400.000" in page
    # Each parcel: status, courier and tracking, history in WITA with who did it.
    assert "Status paket: dalam perjalanan · JNE · nomor resi JNE0123456789" in page
    assert re.search(r"\d{1,2} \w{3} \d{4} \d{2}:\d{2} WITA · dikirim · test", page)
    assert "ditolak desa · test · test reason" in page
    assert "uang harus dikembalikan kepada pembeli secara manual" in page.lower()
    # Money: what came, how, when, its reference and who recorded it; the order's own history.
    assert "transfer bank BNTT778899 Petugas Ani" in page and f"Rp {order.total_idr:,}".replace(",", ".") in page
    assert "tanpa bukti" in page
    assert re.search(r"WITA · pembayaran diterima · Petugas Ani", page)
    assert re.search(r"WITA · pesanan dibuat|pembayaran diterima", page)
    assert raw_codes(response) == []


def test_every_order_number_on_the_list_links_to_its_page_and_no_code_is_shown(app):
    order = busy_order()
    maria, yohanes = two_buyers()
    db.session.add(PaymentReceived(order_id=yohanes.id, method="bank_transfer", amount_idr=1000,
                                   received_on=today_wita(), reference="SEBAGIAN1", recorded_by="Petugas"))
    db.session.commit()
    delivered = parcels_of(maria)[0]
    move_parcel(delivered, "accepted", "packed", "shipped", "delivered")
    client = office(app)
    response = client.get("/kantor/pesanan")
    page = text(response)
    numbers = {order.number, maria.number, yohanes.number}
    assert numbers <= set(LINK.findall(page))
    # Every order number shown is inside a link to its page.
    shown = set(re.findall(r"NTT-\d{6}-\d{4}", visible(response)))
    assert shown == numbers
    for number in numbers:
        assert client.get(f"/kantor/pesanan/{number}").status_code == 200
    # The delivered parcel may be refunded from its order's page too (a buyer's complaint).
    assert f'/kantor/paket/{delivered.id}/refund?kembali=pesanan"' in text(client.get(f"/kantor/pesanan/{maria.number}"))
    assert raw_codes(response) == []
    assert "Transfer bank" in visible(response)
    english = sign_in(app.test_client(), make_user("admin"))
    assert english.get("/bahasa/en").status_code == 303
    for path in ("/kantor/pesanan", f"/kantor/pesanan/{order.number}", f"/kantor/pesanan/{yohanes.number}"):
        answer = english.get(path)
        # English words such as "paid" and "shipped" are labels there: the codes that are not words.
        assert answer.status_code == 200 and raw_codes(answer, ENGLISH_CODES) == [], path
    assert "Bank transfer" in visible(english.get("/kantor/pesanan"))
    assert "bank transfer" in visible(english.get(f"/kantor/pesanan/{order.number}"))


def test_an_unknown_order_is_404(app):
    client = office(app)
    assert client.get("/kantor/pesanan/NTT-000000-NONE").status_code == 404
    assert client.get("/kantor/pesanan/" + "X" * 41).status_code == 404


def test_actions_on_the_order_page_come_back_to_it(app):
    maria, yohanes = two_buyers()
    client = office(app)
    path = f"/kantor/pesanan/{yohanes.number}"
    page = text(client.get(path))
    assert f'action="/kantor/pesanan/{yohanes.id}/transfer?kembali=pesanan"' in page
    response = client.post(f"/kantor/pesanan/{yohanes.id}/transfer?kembali=pesanan", data={
        "csrf_token": csrf_token(page), "amount": "Rp 100.000", "received_on": today_wita().isoformat(),
        "reference": "SEBAGIAN7"})
    assert response.status_code == 303 and response.headers["Location"].endswith(path)
    after = visible(client.get(path))
    assert f"Pesanan {yohanes.number}: Rp 100.000 dari Rp 260.000 diterima" in after
    assert "kurang bayar: diterima Rp 100.000, kurang Rp 160.000" in after
    assert "transfer bank SEBAGIAN7" in after
    # The rest did not come: cancelled from the page, the money to return is shown there.
    cancel = client.post(f"/kantor/pesanan/{yohanes.id}/batal?kembali=pesanan", follow_redirects=True, data={
        "csrf_token": csrf_token(page), "reason": "Sisa tidak datang"})
    assert "Rp 100.000 harus dikembalikan" in visible(cancel)
    refund = client.post(f"/kantor/pesanan/{yohanes.id}/dana-kembali?kembali=pesanan", follow_redirects=True, data={
        "csrf_token": csrf_token(page), "amount": "100.000", "received_on": today_wita().isoformat(),
        "reference": "KEMBALI7"})
    assert "Pengembalian uang sudah dicatat." in visible(refund) and "harus dikembalikan" not in visible(refund)
    assert "dikembalikan kepada pembeli KEMBALI7" in visible(refund) and "-Rp 100.000" in visible(refund)
    # Without the way back, the list as before.
    other = client.post(f"/kantor/pesanan/{maria.id}/transfer", data={
        "csrf_token": csrf_token(page), "amount": "1000", "received_on": today_wita().isoformat(),
        "reference": "LEBIH01"})
    assert other.headers["Location"].endswith(f"/kantor/pesanan#order-{maria.id}")


def test_the_office_cancels_a_parcel_and_releases_a_held_order_from_its_page(app):
    village = make_certified_village()
    coffee = make_sellable_food(village, stock=9)
    held = make_order({village: [(coffee, 1)]}, hold_reason="Sertifikat kedaluwarsa saat pembayaran")
    client = office(app)
    path = f"/kantor/pesanan/{held.number}"
    page = text(client.get(path))
    assert "Sertifikat kedaluwarsa saat pembayaran" in page
    assert "/status?kembali=pesanan" not in page  # nothing moves while it is held
    answer = client.post(f"/kantor/pesanan/{held.id}/lepas?kembali=pesanan", data={"csrf_token": csrf_token(page)})
    assert answer.headers["Location"].endswith(path)
    page = text(client.get(path))
    assert "Sertifikat kedaluwarsa" not in page and "sudah diperiksa kantor, diteruskan ke desa" in page
    [parcel] = parcels_of(held)
    answer = client.post(f"/kantor/paket/{parcel.id}/status?kembali=pesanan", follow_redirects=True, data={
        "csrf_token": csrf_token(page), "to_status": "cancelled", "reason": "Desa tidak dapat mengirim"})
    assert "Paket sekarang berstatus dibatalkan." in visible(answer)
    assert parcels_of(held)[0].status == "cancelled"
    assert "Desa tidak dapat mengirim" in visible(answer)


# --- cost -------------------------------------------------------------------------------------------

def test_the_list_the_search_and_the_order_page_cost_the_same_for_few_or_many(app, count_queries):
    client = office(app)
    village = make_certified_village()
    coffee = make_sellable_food(village, stock=999)

    def add(n):
        for _ in range(n):
            order = busy_order()
            make_order({village: [(coffee, 1)]}, paid=False)
        return order

    def cost(path):
        with count_queries() as counter:
            assert client.get(path).status_code == 200
        return counter.count

    paths = lambda order: ("/kantor/pesanan", "/kantor/pesanan?q=Maria", "/kantor/pesanan?status=paid",
                           "/kantor/pesanan?q=NTT&status=partly_shipped", f"/kantor/pesanan/{order.number}")
    one = add(1)
    few = [cost(path) for path in paths(one)]
    many_order = add(3)
    # A bigger order: more parcels, lines, payments and steps.
    move_parcel(parcels_of(many_order)[0], "delivered")
    many = [cost(path) for path in paths(many_order)]
    assert many == few, (few, many)
    assert max(few) <= 20, few


# --- who gets in --------------------------------------------------------------------------------------

def test_only_the_office_opens_an_order(app):
    maria, _yohanes = two_buyers()
    village = make_certified_village()
    path = f"/kantor/pesanan/{maria.number}"
    for user, expected in ((make_user(), 403), (make_user("village_member", village), 403)):
        client = sign_in(app.test_client(), user)
        assert client.get(path).status_code == expected
        assert client.get("/kantor/pesanan?q=Maria").status_code == expected
    anonymous = app.test_client().get(path)
    assert anonymous.status_code == 302 and "/masuk" in anonymous.headers["Location"]
    assert office(app).get(path).status_code == 200
