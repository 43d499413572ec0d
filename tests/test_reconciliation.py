"""Money received against orders, as the office and the buyer use it over HTTP.

The office records each bank transfer from the statement (amount, date, reference): exactly the
total pays the order, less leaves it waiting ("underpaid", the buyer is mailed what is missing,
and it no longer expires on its own), more pays it and leaves the excess to refund. The buyer
says "Saya sudah transfer" with the receipt (hardened like the scans of papers; only the office
opens it), and confirms each shipped parcel ("Pesanan diterima"), which earns it for its
village. The office refunds a delivered parcel once. Stripe's reported amount is recorded.
"""
import hashlib
import hmac
import html as htmllib
import io
import json
import re
import time
from datetime import timedelta
from pathlib import Path

import pytest
from PIL import Image
from sqlalchemy import func, select

from storefront.clock import now_utc, today_wita
from storefront.extensions import db
from storefront.orders.links import access_token_hash, order_link_token
from storefront.orders.models import Order, OrderEvent
from storefront.orders.services import expire_unpaid_orders
from storefront.outbox.models import OutboxMessage
from storefront.payments.models import PaymentReceived, TransferReceipt
from storefront.products.models import Product
from storefront.settlement import ledger
from storefront.settlement.models import LedgerEntry
from storefront.unit_of_work import unit_of_work

from .conftest import build_app, csrf_token
from .factories import (make_certified_village, make_order, make_sellable_food, make_user, move_parcel,
                        parcels_of, sign_in)

PRICE, SHIPPING = 85000, 20000
TOTAL = 2 * PRICE + SHIPPING  # one parcel: two items and its shipping
OFFICE_EMAIL = "kantor@produkdesa.example"


# --- helpers -------------------------------------------------------------------------------------

def text(response):
    return htmllib.unescape(response.get_data(as_text=True))


def main_text(response):
    """The page's own content, without the footer (which links to "Cara membayar", the shop's page)."""
    page = text(response)
    return page[page.index("<main"):page.rindex("</main>")]


def idr(amount):
    return f"Rp {amount:,}".replace(",", ".")


def flashes(response):
    found = re.findall(r'<p class="flash[^"]*"[^>]*>(.*?)</p>', response.get_data(as_text=True), re.S)
    return [htmllib.unescape(m) for m in found]


_orders = iter(range(1, 10 ** 6))


def bank_order(village=None, paid=False, payment_method="bank_transfer", lang="id", quantity=2, **fields):
    """An order of two items of one village with its buyer's private link: ``(order, path)``."""
    village = village or make_certified_village()
    product = make_sellable_food(village, price_idr=PRICE, stock=10)
    key = f"rekonsiliasi-{next(_orders)}-{time.monotonic_ns()}"
    token = order_link_token(key)
    order = make_order({village: [(product, quantity)]}, payment_method=payment_method, paid=paid,
                       shipping_idr=SHIPPING, idempotency_key=key, access_token_hash=access_token_hash(token),
                       expires_at=now_utc() + timedelta(hours=48), lang=lang, **fields)
    return order, f"/pesanan/{order.number}?kunci={token}"


def office(app):
    client = app.test_client()
    sign_in(client, make_user("verifier"))
    return client


def office_page(client):
    response = client.get("/kantor/pesanan")
    assert response.status_code == 200
    return text(response)


def record(client, order, amount, reference="BNTT20261203", day=None, follow=True):
    page = office_page(client)
    return client.post(f"/kantor/pesanan/{order.id}/transfer", follow_redirects=follow, data={
        "csrf_token": csrf_token(page), "amount": str(amount),
        "received_on": (day or today_wita()).isoformat(), "reference": reference})


def fresh_order(order):
    db.session.expire_all()
    return db.session.get(Order, order.id)


def payments(order):
    db.session.expire_all()
    return db.session.execute(select(PaymentReceived.method, PaymentReceived.amount_idr, PaymentReceived.reference)
                              .where(PaymentReceived.order_id == order.id).order_by(PaymentReceived.id)).all()


def mails(kind, to=None):
    db.session.expire_all()
    stmt = select(OutboxMessage).where(OutboxMessage.kind == kind, OutboxMessage.channel == "email")
    if to:
        stmt = stmt.where(OutboxMessage.target == to)
    return [(m.target, json.loads(m.payload)) for m in db.session.scalars(stmt.order_by(OutboxMessage.id))]


def png_bytes():
    out = io.BytesIO()
    Image.new("RGB", (40, 30), (20, 120, 200)).save(out, "PNG", pnginfo=_png_comment())
    return out.getvalue()


def _png_comment():
    from PIL.PngImagePlugin import PngInfo
    info = PngInfo()
    info.add_text("Comment", "secret-metadata")
    return info


def report(client, path, filename=None, data=b""):
    """The buyer presses "Saya sudah transfer" on the order page, with a file or without."""
    page = client.get(path)
    assert page.status_code == 200
    form = {"csrf_token": csrf_token(text(page))}
    if filename:
        form["receipt"] = (io.BytesIO(data), filename)
    number = path.split("/")[2].split("?")[0]
    return client.post(f"/pesanan/{number}/sudah-transfer?{path.split('?')[1]}", data=form,
                       content_type="multipart/form-data", follow_redirects=True)


def session_token(client):
    """The CSRF token of the client's session (every form of a session carries the same one)."""
    return csrf_token(text(client.get("/masuk")))


def confirm(client, path, parcel_id, number=None):
    number = number or path.split("/")[2].split("?")[0]
    return client.post(f"/pesanan/{number}/paket/{parcel_id}/diterima?{path.split('?')[1]}",
                       data={"csrf_token": session_token(client)}, follow_redirects=True)


# --- exact, under and over --------------------------------------------------------------------------

def test_the_exact_total_pays_the_order(app, client):
    order, path = bank_order()
    assert "Saya sudah transfer" in text(client.get(path))
    verifier = office(app)
    response = record(verifier, order, TOTAL, reference="bntt123")
    assert flashes(response) == [f"Pesanan {order.number} lunas."]
    paid = fresh_order(order)
    assert paid.status == "paid" and paid.paid_at is not None
    assert payments(order) == [("bank_transfer", TOTAL, "BNTT123")]
    assert [to for to, _mail in mails("order.payment_received")] == [order.email]
    assert mails("order.underpaid") == []
    village_id = parcels_of(order)[0].village_id
    assert ledger.balance(village_id) == (TOTAL, 0)  # pending until delivery
    page = main_text(client.get(path))
    assert "sudah dibayar, sedang disiapkan" in page  # the order's status, derived from its parcels
    assert "Cara membayar" not in page and "Saya sudah transfer" not in page
    assert "Masih kurang" not in page and "Akan dikembalikan" not in page


@pytest.mark.parametrize("lang, subject", [
    ("id", "Pesanan {number}: masih kurang Rp 90.000"),
    ("en", "Order {number}: Rp 90.000 still missing"),
])
def test_too_little_keeps_the_order_waiting_and_tells_the_buyer_what_is_missing(app, client, lang, subject):
    order, path = bank_order(lang=lang)
    verifier = office(app)
    response = record(verifier, order, 100000, reference="TRF001")
    assert flashes(response) == [f"Pesanan {order.number}: Rp 100.000 dari {idr(TOTAL)} diterima, kurang Rp 90.000. "
                                 "Pembeli sudah diberi tahu; pesanan menunggu sisanya."]
    waiting = fresh_order(order)
    assert waiting.status == "awaiting_payment" and waiting.expires_at is None and waiting.paid_at is None
    [(to, mail)] = mails("order.underpaid")
    assert to == order.email and mail["subject"] == subject.format(number=order.number)
    assert "Rp 100.000" in mail["text"] and "TRF001" in mail["text"] and idr(TOTAL) in mail["text"]
    assert f"http://shop.test/pesanan/{order.number}?kunci=" in mail["text"]
    assert mails("order.payment_received") == []
    page = text(client.get(path))
    assert f"Kami sudah menerima Rp 100.000 dari {idr(TOTAL)}: masih kurang Rp 90.000." in page
    assert "Transfer kekurangan Rp 90.000" in page
    assert "Saya sudah transfer" in page
    office_html = office_page(verifier)
    assert "kurang bayar: diterima Rp 100.000, kurang Rp 90.000" in office_html
    assert "Pesanan menunggu sisanya dan tidak berakhir dengan sendirinya." in office_html

    # The rest arrives: now it is paid, and the buyer hears so.
    response = record(verifier, order, 90000, reference="TRF002")
    assert flashes(response) == [f"Pesanan {order.number} lunas."]
    assert fresh_order(order).status == "paid"
    assert [m for m, _a, _r in payments(order)] == ["bank_transfer", "bank_transfer"]
    assert len(mails("order.payment_received")) == 1 and len(mails("order.underpaid")) == 1
    assert "kurang bayar" not in office_page(verifier)


def test_an_underpaid_order_is_not_expired_but_left_to_the_office(app):
    def stock(order):
        return db.session.scalar(select(Product.stock).where(Product.village_id == parcels_of(order)[0].village_id))

    underpaid, _path = bank_order()
    untouched, _path = bank_order()
    record(office(app), underpaid, 50000, reference="SEBAGIAN1")
    with unit_of_work():
        expired = expire_unpaid_orders(now=now_utc() + timedelta(days=30))
    assert expired == [untouched.number]
    assert fresh_order(underpaid).status == "awaiting_payment"
    assert fresh_order(untouched).status == "expired"
    assert stock(underpaid) == 10 and stock(untouched) == 12  # the factory took none: the end gave 2 back


def test_the_office_cancels_an_underpaid_order_and_the_money_is_to_be_returned(app, client):
    order, path = bank_order()
    verifier = office(app)
    record(verifier, order, 50000, reference="SEBAGIAN2")
    page = office_page(verifier)
    refused = verifier.post(f"/kantor/pesanan/{order.id}/batal", data={"csrf_token": csrf_token(page), "reason": "  "},
                            follow_redirects=True)
    assert fresh_order(order).status == "awaiting_payment"
    assert "Tulis alasannya, supaya pembeli tahu." in " ".join(flashes(refused))
    response = verifier.post(f"/kantor/pesanan/{order.id}/batal", follow_redirects=True, data={
        "csrf_token": csrf_token(page), "reason": "Sisa pembayaran tidak masuk dalam 7 hari"})
    assert flashes(response) == [f"Pesanan {order.number} dibatalkan; kembalikan Rp 50.000 kepada pembeli "
                                 "dan catat pengembaliannya."]
    assert fresh_order(order).status == "cancelled"
    [(to, mail)] = mails("order.cancelled", to=order.email)
    assert mail["subject"] == f"Pesanan {order.number} dibatalkan" and "Rp 50.000" in mail["text"]
    assert "Sisa pembayaran tidak masuk dalam 7 hari" in mail["text"]
    assert "Rp 50.000 harus dikembalikan" in text(response)
    assert "Akan dikembalikan kepada Anda" in text(client.get(path))


def test_too_much_pays_the_order_and_the_excess_waits_for_its_refund(app, client):
    order, path = bank_order()
    verifier = office(app)
    response = record(verifier, order, TOTAL + 10000, reference="LEBIH01")
    assert flashes(response) == [f"Pesanan {order.number} lunas, dengan kelebihan Rp 10.000 dari totalnya: "
                                 "kembalikan kepada pembeli dan catat pengembaliannya."]
    assert fresh_order(order).status == "paid"
    assert "Rp 10.000 harus dikembalikan" in text(response)
    assert "Akan dikembalikan kepada Anda" in text(client.get(path))

    def refund(amount, reference=""):
        page = office_page(verifier)
        return verifier.post(f"/kantor/pesanan/{order.id}/dana-kembali", follow_redirects=True, data={
            "csrf_token": csrf_token(page), "amount": str(amount), "received_on": today_wita().isoformat(),
            "reference": reference})

    too_much = refund(20000)
    assert flashes(too_much) == [f"Pesanan {order.number}: Yang perlu dikembalikan hanya Rp 10.000, tidak lebih."]
    assert len(payments(order)) == 1
    done = refund(10000, reference="KEMBALI01")
    assert flashes(done) == ["Pengembalian uang sudah dicatat."]
    assert payments(order)[-1] == ("refund", -10000, "KEMBALI01")
    assert "harus dikembalikan" not in text(done)
    assert "Akan dikembalikan kepada Anda" not in text(client.get(path))
    assert flashes(refund(1)) == [f"Pesanan {order.number}: Yang perlu dikembalikan hanya Rp 0, tidak lebih."]


@pytest.mark.parametrize("amount, day, reference, message", [
    ("0", 0, "BNTT01", "Tulis jumlahnya dalam rupiah bulat"),
    ("1000000001", 0, "BNTT01", "Tulis jumlahnya dalam rupiah bulat"),
    ("-5000", 0, "BNTT01", "Tulis jumlahnya dalam rupiah bulat"),
    ("seratus ribu", 0, "BNTT01", "Tulis jumlahnya dalam rupiah bulat"),
    ("", 0, "BNTT01", "Tulis jumlah yang diterima."),
    ("190000", 1, "BNTT01", "Tanggal transfer tidak boleh di masa depan."),
    ("190000", -3, "BNTT01", "Transfer tidak mungkin lebih awal dari pesanannya"),
    ("190000", 0, "AB", "Referensi bank terdiri dari 3 sampai 60 huruf dan angka"),
    ("190000", 0, "BNTT-01", "Referensi bank terdiri dari 3 sampai 60 huruf dan angka"),
    ("190000", 0, "", "Tulis nomor referensi transfer dari bank."),
    ("190000", 0, "X" * 61, "Referensi bank"),
])
def test_a_bad_transfer_is_refused_with_a_message_and_changes_nothing(app, amount, day, reference, message):
    order, _path = bank_order()
    verifier = office(app)
    response = record(verifier, order, amount, reference=reference, day=today_wita() + timedelta(days=day))
    assert response.status_code == 200
    [shown] = flashes(response)
    assert shown.startswith(f"Pesanan {order.number}: ") and message in shown, shown
    assert payments(order) == [] and fresh_order(order).status == "awaiting_payment"
    assert mails("order.underpaid") == [] and mails("order.payment_received") == []


def test_rupiah_with_dots_is_understood(app):
    order, _path = bank_order()
    record(office(app), order, f"Rp {idr(TOTAL)[3:]}", reference="TITIK01")
    assert payments(order) == [("bank_transfer", TOTAL, "TITIK01")]


def test_the_same_reference_twice_for_one_order_is_refused(app):
    order, _path = bank_order()
    other, _path = bank_order()
    verifier = office(app)
    record(verifier, order, 50000, reference="ABC123")
    again = record(verifier, order, 50000, reference="abc123")
    assert flashes(again) == [f"Pesanan {order.number}: Transfer dengan referensi ABC123 sudah tercatat untuk "
                              "pesanan ini."]
    assert payments(order) == [("bank_transfer", 50000, "ABC123")]
    assert len(mails("order.underpaid")) == 1
    record(verifier, other, 50000, reference="ABC123")  # another order's transfer may share it
    assert payments(other) == [("bank_transfer", 50000, "ABC123")]


def test_card_orders_are_not_recorded_as_transfers(app):
    order, _path = bank_order(payment_method="stripe")
    response = record(office(app), order, TOTAL, reference="KARTU01")
    assert flashes(response) == [f"Pesanan {order.number}: Hanya transfer bank yang dicatat di sini."]
    assert payments(order) == []


def test_only_the_office_records_money(app):
    village = make_certified_village()
    order, _path = bank_order(village)
    for user in (make_user(), make_user("village_member", village)):
        client = app.test_client()
        sign_in(client, user)
        token = csrf_token(text(client.get("/masuk")))
        data = {"csrf_token": token, "amount": str(TOTAL), "received_on": today_wita().isoformat(),
                "reference": "CURANG1"}
        assert client.post(f"/kantor/pesanan/{order.id}/transfer", data=data).status_code == 403
        assert client.post(f"/kantor/pesanan/{order.id}/dana-kembali", data=data).status_code == 403
        cancel = {"csrf_token": token, "reason": "x"}
        assert client.post(f"/kantor/pesanan/{order.id}/batal", data=cancel).status_code == 403
    assert payments(order) == [] and fresh_order(order).status == "awaiting_payment"


# --- the buyer's "I have transferred" ---------------------------------------------------------------

def test_the_buyers_receipt_is_cleaned_kept_privately_and_shown_to_the_office_only(app, client):
    app.config["OFFICE_EMAIL"] = OFFICE_EMAIL
    village = make_certified_village()
    order, path = bank_order(village)
    response = report(client, path, "bukti-transfer.png", png_bytes())
    assert flashes(response) == ["Terima kasih. Kantor memeriksa mutasi rekening dan mengabari Anda setelah "
                                 "pembayaran dipastikan."]
    assert "Anda memberi tahu bahwa Anda sudah transfer, dengan bukti transfer." in text(response)
    db.session.expire_all()
    [receipt] = db.session.scalars(select(TransferReceipt)).all()
    stored = Path(app.config["SCAN_ROOT"]) / receipt.key
    assert receipt.order_id == order.id and receipt.content_type == "image/png"
    assert stored.read_bytes().startswith(b"\x89PNG") and b"secret-metadata" not in stored.read_bytes()
    [(to, mail)] = mails("order.transfer_reported")
    assert to == OFFICE_EMAIL and order.number in mail["subject"] and "bukti transfer" in mail["text"]
    assert f"/kantor/pesanan/{order.number}" in mail["text"]

    url = f"/kantor/bukti-transfer/{receipt.id}"
    assert url not in text(client.get(path))
    verifier = office(app)
    assert url in office_page(verifier)
    opened = verifier.get(url)
    assert opened.status_code == 200 and opened.mimetype == "image/png"
    assert opened.data == stored.read_bytes() and "no-store" in opened.headers["Cache-Control"]
    assert "default-src 'none'" in opened.headers["Content-Security-Policy"]
    for user in (make_user(), make_user("village_member", village)):
        other = app.test_client()
        sign_in(other, user)
        assert other.get(url).status_code == 403
    assert client.get(url).status_code == 302  # the buyer's browser, not signed in: to the sign-in page
    assert client.get(f"/static/{receipt.key}").status_code == 404
    assert client.get(f"/media/{receipt.key}").status_code == 404


@pytest.mark.parametrize("filename, data, message", [
    ("bukti.txt", b"saya sudah transfer", "Hanya berkas PDF, JPEG, atau PNG"),
    ("bukti.png", b"GIF89a" + bytes(64), "Hanya berkas PDF, JPEG, atau PNG"),
    ("bukti.pdf", b"%PDF-1.4\n" + bytes(5 * 1024 * 1024 + 1), "5 MB"),
    ("bukti.jpg", b"\xff\xd8\xff" + bytes(20 * 1024 * 1024 + 1), "20 MB"),
])
def test_a_receipt_that_is_not_a_photo_or_pdf_or_too_big_is_refused(app, client, filename, data, message):
    app.config["OFFICE_EMAIL"] = OFFICE_EMAIL
    order, path = bank_order()
    response = report(client, path, filename, data)
    [shown] = flashes(response)
    assert shown.startswith("Bukti transfer tidak diterima: ") and message in shown, shown
    db.session.expire_all()
    assert db.session.scalar(select(func.count()).select_from(TransferReceipt)) == 0
    assert mails("order.transfer_reported") == []
    root = Path(app.config["SCAN_ROOT"])
    assert not root.exists() or list(root.iterdir()) == []


def test_saying_so_without_a_receipt_and_only_while_the_order_waits(app, client):
    app.config["OFFICE_EMAIL"] = OFFICE_EMAIL
    order, path = bank_order()
    response = report(client, path)
    assert "Anda memberi tahu bahwa Anda sudah transfer." in text(response)
    [(_to, mail)] = mails("order.transfer_reported")
    assert "Pembeli tidak melampirkan bukti transfer." in mail["text"]
    assert "tanpa bukti" in office_page(office(app))

    stranger = app.test_client()
    token = csrf_token(text(stranger.get("/masuk")))
    assert stranger.post(f"/pesanan/{order.number}/sudah-transfer", data={"csrf_token": token}).status_code == 404
    assert stranger.post(f"/pesanan/{order.number}/sudah-transfer?kunci=salah",
                         data={"csrf_token": token}).status_code == 404
    paid, paid_path = bank_order(paid=True)
    assert "Saya sudah transfer" not in text(client.get(paid_path))
    answer = client.post(f"/pesanan/{paid.number}/sudah-transfer?{paid_path.split('?')[1]}",
                         data={"csrf_token": session_token(client)}, follow_redirects=True)
    assert flashes(answer) == ["Pesanan ini tidak sedang menunggu transfer bank."]
    db.session.expire_all()
    assert db.session.scalar(select(func.count()).select_from(TransferReceipt)) == 1


def test_saying_so_is_rate_limited(database_url, tmp_path):
    app = build_app(database_url, tmp_path, RATELIMIT_ENABLED=True, REDIS_URL=None,
                    RATELIMIT_TRANSFER_REPORT="2/hour")
    from storefront.ratelimit import limiter

    with app.app_context():
        try:
            order, path = bank_order()
            client = app.test_client()
            client.environ_base["REMOTE_ADDR"] = "203.0.113.51"
            assert [report(client, path).status_code for _ in range(2)] == [200, 200]
            page = text(client.get(path))
            number = order.number
            limited = client.post(f"/pesanan/{number}/sudah-transfer?{path.split('?')[1]}",
                                  data={"csrf_token": csrf_token(page)})
            assert limited.status_code == 429
            db.session.expire_all()
            assert db.session.scalar(select(func.count()).select_from(TransferReceipt)) == 2
        finally:
            limiter.enabled = False
            db.session.remove()
            from .conftest import _empty_tables
            _empty_tables()
            db.engine.dispose()


# --- the buyer confirms a parcel ----------------------------------------------------------------------

def test_the_buyer_confirms_a_parcel_and_its_village_has_earned_it(app, client):
    order, path = bank_order(paid=True)
    [parcel] = parcels_of(order)
    assert "Pesanan diterima" not in text(client.get(path))  # not shipped yet
    move_parcel(parcel, "accepted", "packed", "shipped")
    assert "Pesanan diterima" in text(client.get(path))
    assert ledger.balance(parcel.village_id) == (TOTAL, 0)
    response = confirm(client, path, parcel.id)
    assert flashes(response) == ["Terima kasih telah memastikan bahwa paket sudah sampai."]
    [delivered] = parcels_of(order)
    assert delivered.status == "delivered" and delivered.delivered_at is not None
    assert ledger.balance(parcel.village_id) == (0, TOTAL)
    event = db.session.scalars(select(OrderEvent).where(OrderEvent.village_order_id == parcel.id)
                               .order_by(OrderEvent.id.desc())).first()
    assert event.to_status == "delivered" and event.actor_name == "buyer"
    again = confirm(client, path, parcel.id)
    assert flashes(again) == ["Paket yang berstatus sampai di pembeli tidak dapat diubah menjadi sampai di pembeli."]
    assert ledger.balance(parcel.village_id) == (0, TOTAL)


def test_another_orders_link_cannot_confirm_this_parcel(app, client):
    mine, my_path = bank_order(paid=True)
    theirs, _their_path = bank_order(paid=True)
    [their_parcel] = parcels_of(theirs)
    move_parcel(their_parcel, "accepted", "packed", "shipped")
    before = ledger.balance(their_parcel.village_id)
    assert confirm(client, my_path, their_parcel.id).status_code == 404
    assert confirm(client, my_path, their_parcel.id, number=theirs.number).status_code == 404
    assert parcels_of(theirs)[0].status == "shipped"
    assert ledger.balance(their_parcel.village_id) == before == (TOTAL, 0)


# --- the office refunds a delivered parcel -------------------------------------------------------------

@pytest.mark.parametrize("method, state", [("bank_transfer", "office"), ("stripe", "refund_failed")])
def test_refunding_a_delivered_parcel_reverses_the_villages_earning_once(app, method, state):
    order, _path = bank_order(paid=True, payment_method=method)
    [parcel] = parcels_of(order)
    move_parcel(parcel, "accepted", "packed", "shipped", "delivered")
    assert ledger.balance(parcel.village_id) == (0, TOTAL)
    verifier = office(app)
    page = office_page(verifier)
    assert f'/kantor/paket/{parcel.id}/refund' in page

    def refund(reason):
        return verifier.post(f"/kantor/paket/{parcel.id}/refund", follow_redirects=True,
                             data={"csrf_token": csrf_token(office_page(verifier)), "reason": reason})

    assert "Tulis alasannya, supaya pembeli tahu." in flashes(refund(""))[0]
    assert ledger.balance(parcel.village_id) == (0, TOTAL)
    response = refund("Kopi tiba dalam keadaan basah")
    assert ledger.balance(parcel.village_id) == (0, 0)
    [refunded] = parcels_of(order)
    assert refunded.refund_state == state and refunded.status_reason == "Kopi tiba dalam keadaan basah"
    assert f"kembalikan {idr(TOTAL)} ke pembeli" in text(response)  # the attention list
    second = refund("Sekali lagi")
    assert flashes(second) == ["Hanya paket prabayar yang sudah sampai dan belum dikembalikan uangnya yang dapat "
                               "dikembalikan di sini."]
    assert ledger.balance(parcel.village_id) == (0, 0)
    db.session.expire_all()
    assert db.session.scalar(select(func.count()).select_from(LedgerEntry).where(
        LedgerEntry.village_order_id == parcel.id, LedgerEntry.cause == "refund")) == 1


def test_a_village_member_cannot_refund_a_parcel(app):
    village = make_certified_village()
    order, _path = bank_order(village, paid=True)
    [parcel] = parcels_of(order)
    move_parcel(parcel, "accepted", "packed", "shipped", "delivered")
    member = app.test_client()
    sign_in(member, make_user("village_member", village))
    token = csrf_token(text(member.get("/masuk")))
    refused = member.post(f"/kantor/paket/{parcel.id}/refund", data={"csrf_token": token, "reason": "x"})
    assert refused.status_code == 403
    assert ledger.balance(village.id) == (0, TOTAL) and parcels_of(order)[0].refund_state is None


# --- Stripe ----------------------------------------------------------------------------------------------

WEBHOOK_SECRET = "whsec_rekonsiliasi"


def _deliver(client, event):
    payload = json.dumps(event)
    timestamp = int(time.time())
    mac = hmac.new(WEBHOOK_SECRET.encode(), f"{timestamp}.{payload}".encode(), hashlib.sha256).hexdigest()
    return client.post("/stripe/webhook", data=payload.encode(), content_type="application/json",
                       headers={"Stripe-Signature": f"t={timestamp},v1={mac}"})


def _completed(order, amount_total, event_id, session_id=None):
    return {"id": event_id, "object": "event", "type": "checkout.session.completed", "created": int(time.time()),
            "data": {"object": {"id": session_id or order.stripe_session_id, "object": "checkout.session",
                                "mode": "payment", "currency": "idr", "amount_total": amount_total,
                                "payment_status": "paid", "status": "complete", "payment_intent": "pi_rekon1",
                                "metadata": {"order_number": order.number}, "client_reference_id": order.number}}}


def test_the_amount_stripe_reports_is_recorded_once_and_a_mismatch_is_held(app, client):
    app.config.update(STRIPE_SECRET_KEY="sk_test_x", STRIPE_WEBHOOK_SECRET=WEBHOOK_SECRET)
    order, _path = bank_order(payment_method="stripe", stripe_session_id="cs_test_rekon1")
    other, _path = bank_order(payment_method="stripe", stripe_session_id="cs_test_rekon2")

    wrong = _deliver(client, _completed(other, (TOTAL - 1000) * 100, "evt_rekon_wrong"))
    assert wrong.json["result"].startswith("refused") and "amount" in wrong.json["result"]
    assert fresh_order(other).status == "awaiting_payment" and payments(other) == []

    paid = _deliver(client, _completed(order, TOTAL * 100, "evt_rekon_1"))
    assert paid.json["result"] == "paid"
    assert fresh_order(order).status == "paid"
    assert payments(order) == [("stripe", TOTAL, "pi_rekon1")]
    assert _deliver(client, _completed(order, TOTAL * 100, "evt_rekon_1")).json["result"] == "duplicate"
    assert _deliver(client, _completed(order, TOTAL * 100, "evt_rekon_2")).json["result"] == "already settled"
    assert payments(order) == [("stripe", TOTAL, "pi_rekon1")]


# --- pages stay cheap --------------------------------------------------------------------------------------

def test_the_office_orders_page_costs_the_same_for_one_or_many_orders_with_money(app, count_queries):
    verifier = office(app)

    def add(n):
        for i in range(n):
            order, _path = bank_order()
            db.session.add(PaymentReceived(order_id=order.id, method="bank_transfer", amount_idr=1000,
                                           received_on=today_wita(), reference=f"Q{order.id}", recorded_by="t"))
            db.session.add(TransferReceipt(order_id=order.id))
            paid, _path = bank_order(paid=True)
            move_parcel(parcels_of(paid)[0], "accepted", "packed", "shipped", "delivered")
        db.session.commit()

    def cost():
        with count_queries() as counter:
            assert verifier.get("/kantor/pesanan").status_code == 200
        return counter.count

    add(1)
    one = cost()
    add(4)
    assert cost() == one
