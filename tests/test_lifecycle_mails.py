"""The order lifecycle speaks (issue 16, "Notifications"): every mail goes through the outbox in
the transaction of the change it reports, in the recipient's language (the order's for the
buyer, Indonesian for villages and the office), once per event, and arrives through a real SMTP
server even when that server was down for a while."""
import json
import re
from datetime import timedelta

import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import func, select
from sqlalchemy.orm import selectinload

from storefront import mailing
from storefront.accounts.models import User
from storefront.clock import as_utc, now_utc
from storefront.extensions import db
from storefront.legality.services import (LegalityError, reject_certificate, revoke_certificate,
                                          verify_certificate)
from storefront.mailing import Mail
from storefront.orders.deadlines import flag_overdue_parcels
from storefront.orders.fulfilment import (BUYER, OFFICE, VILLAGE, Change, OrderError, change_parcel,
                                          deliver_unconfirmed_parcels)
from storefront.orders.models import Order
from storefront.orders.reminders import remind_unpaid_orders
from storefront.orders.services import expire_unpaid_orders, mark_paid
from storefront.outbox.models import OutboxMessage
from storefront.outbox.queue import enqueue_mail
from storefront.outbox.worker import deliver_due
from storefront.products.models import Product
from storefront.products.review import decide_revision, propose_change
from storefront.unit_of_work import unit_of_work

from .conftest import csrf_token
from .factories import (make_certificate, make_certified_village, make_order, make_product,
                        make_sellable_food, make_user, make_village, move_parcel, office_approves, parcels_of,
                        sign_in)
from .mail_server import Mailbox, free_port
from .threads import in_threads


def queued(kind, to=None):
    """The e-mails of ``kind`` in the outbox (to ``to``), oldest first."""
    db.session.expire_all()
    stmt = select(OutboxMessage).where(OutboxMessage.kind == kind, OutboxMessage.channel == "email")
    if to is not None:
        stmt = stmt.where(OutboxMessage.target == to)
    return db.session.scalars(stmt.order_by(OutboxMessage.id)).all()


def text_of(message):
    return json.loads(message.payload)["text"]


def move(parcel, to, side=VILLAGE, actor="Ibu Maria (desa)", **change):
    with unit_of_work():
        change_parcel(parcel.id, Change(to, **change), side=side, actor_name=actor)


def shop(lang="id", payment_method="bank_transfer", villages=1, **fields):
    """A paid order (or an unpaid one, ``paid=False``) with one parcel per village."""
    parts = {}
    for n in range(villages):
        village = make_certified_village(name=f"Desa Lewa {n + 1}", phone="+6281234567890")
        coffee = make_sellable_food(village, name=f"Kopi Lewa {n + 1}", stock=10, price_idr=85000)
        parts[village] = [(coffee, 2)]
    order = make_order(parts, payment_method=payment_method, lang=lang, **fields)
    return order, list(parts), parcels_of(order)


# --- the buyer follows a parcel --------------------------------------------------------------------

def test_an_english_buyer_is_told_each_step_in_english_and_the_village_in_indonesian(app, smtp):
    order, [village], [parcel] = shop(lang="en")
    move(parcel, "accepted")
    move(parcel, "packed")  # packing is the village's business: no mail
    move(parcel, "shipped", courier="Ninja Xpress", tracking_number="NV123 456")
    move(parcel, "delivered", side=BUYER, actor="Maria Buyer")  # "Parcel received" on the order page

    assert deliver_due() == {"delivered": 5}  # payment received, accepted, shipped; village: paid, received
    subjects = [m["subject"] for m in smtp.to(order.email)]
    assert subjects == [f"Payment for order {order.number} received",
                        f"Order {order.number}: Desa Lewa 1 is preparing your parcel",
                        f"Order {order.number}: the parcel from Desa Lewa 1 is on its way"]
    accepted, shipped = smtp.to(order.email)[1]["body"], smtp.to(order.email)[2]["body"]
    assert "Desa Lewa 1 has accepted your parcel" in accepted and "2 x Kopi Lewa 1 - Rp 170.000" in accepted
    assert "Your order: paid, being prepared" in accepted
    assert "Courier: Ninja Xpress" in shipped and "Tracking number: NV123 456" in shipped
    assert "https://www.ninjaxpress.co/id-id/tracking?id=NV123%20456" in shipped
    assert "(type the tracking number there)" not in shipped  # this courier's page opens the parcel
    assert "Your order: shipped" in shipped and "Parcel received" in shipped and "14 days" in shipped
    assert re.search(r"/pesanan/" + order.number + r"\?kunci=\S+", shipped)
    # The buyer pressed "received" themselves: no mail tells them so; the village hears of it.
    [to_village] = [m for m in smtp.to(village.email) if "sudah sampai" in m["subject"]]
    assert to_village["subject"] == f"Paket pesanan {order.number} sudah sampai: Desa Lewa 1"
    assert "Pembeli telah mengonfirmasi penerimaan paket pesanan" in to_village["body"]
    assert "saldo tersedia" in to_village["body"] and "/portal/keuangan" in to_village["body"]


def test_an_indonesian_buyer_of_two_villages_hears_of_each_parcel_in_indonesian(app, smtp):
    order, [first, second], [a, b] = shop(villages=2)
    move(a, "accepted", side=OFFICE, actor="Kantor")  # the office accepted it on the village's behalf
    move(a, "packed")
    move(a, "shipped", courier="JNE", tracking_number="JNE0123456789")
    move(b, "declined", reason="Stok kopi habis terkena hujan")
    deliver_due()
    mails = {m["subject"]: m["body"] for m in smtp.to(order.email)}
    shipped = mails[f"Pesanan {order.number}: paket dari Desa Lewa 1 dalam perjalanan"]
    assert "Kurir: JNE" in shipped and "Nomor resi: JNE0123456789" in shipped
    assert "https://www.jne.co.id/tracking-package" in shipped and "ketik nomor resi di sana" in shipped
    declined = mails[f"Pesanan {order.number}: Desa Lewa 2 tidak dapat mengirim paket Anda"]
    assert "Alasan: Stok kopi habis terkena hujan" in declined
    assert ("Kantor provinsi akan mengembalikan Rp 190.000 yang Anda bayar untuk paket ini "
            "melalui transfer bank") in declined
    # The order's status is named as the order page names it: one paid parcel on its way, one cancelled.
    assert "Pesanan Anda: dikirim, sebagian dibatalkan" in declined


def test_a_parcel_the_village_carries_itself_needs_no_courier_line(app, smtp):
    order, _villages, [parcel] = shop(lang="en")
    move(parcel, "accepted")
    move(parcel, "packed")
    move(parcel, "shipped", courier="village", tracking_number="")
    [message] = queued("parcel.shipped")
    body = text_of(message)
    assert "Desa Lewa 1 has set off with your parcel" in body
    assert "Courier:" not in body and "Tracking number" not in body and "courier's page" not in body


@pytest.mark.parametrize("payment_method, refund, to, says", [
    ("stripe", lambda order, parcel: ("refunded", "re_123"), "cancelled",
     "The Rp 190.000 paid for this parcel is refunded to your card."),
    ("stripe", lambda order, parcel: ("refund_failed", None), "cancelled",
     "The provincial office will return the Rp 190.000 you paid for this parcel to you."),
    ("bank_transfer", None, "declined",
     "The provincial office will return the Rp 190.000 you paid for this parcel to you by bank transfer."),
    ("cod", None, "declined", "You pay nothing for this parcel: it was to be paid on delivery."),
])
def test_a_cancelled_parcel_says_why_and_what_happens_to_the_money(app, payment_method, refund, to, says):
    order, _villages, [parcel] = shop(lang="en", payment_method=payment_method)
    side = OFFICE if to == "cancelled" else VILLAGE
    with unit_of_work():
        change_parcel(parcel.id, Change(to, reason="Jalan ke desa putus"), side=side, actor_name="x",
                      refund=refund)
    [message] = queued(f"parcel.{to}", to=order.email)
    body = text_of(message)
    assert "Reason: Jalan ke desa putus" in body and says in body
    assert "Your order: cancelled" in body
    assert "2 x Kopi Lewa 1" in body


def test_a_parcel_nobody_confirmed_counts_as_delivered_and_both_sides_are_told_once(app, smtp):
    order, [village], [parcel] = shop(lang="en")
    move_parcel(parcel, "accepted", "packed", "shipped")
    later = now_utc() + timedelta(days=15)
    assert deliver_unconfirmed_parcels(now=later) == [parcel.id]
    assert deliver_unconfirmed_parcels(now=later) == []  # the next run finds nothing to do
    deliver_due()
    [delivered] = [m for m in smtp.to(order.email) if "delivered" in m["subject"]]
    assert "was sent 14 days ago and its receipt was not confirmed, so it now counts as delivered" \
        in delivered["body"]
    assert "If it has not arrived, call Desa Lewa 1 at +6281234567890." in delivered["body"]
    [to_village] = [m for m in smtp.to(village.email) if "sudah sampai" in m["subject"]]
    assert "pembeli tidak mengonfirmasi penerimaan" in to_village["body"]


def test_a_delivery_the_village_records_itself_tells_the_buyer_only(app):
    order, [village], [parcel] = shop(payment_method="cod")
    move(parcel, "accepted")
    move(parcel, "packed")
    move(parcel, "shipped", courier="village")
    move(parcel, "delivered")
    [message] = queued("parcel.delivered", to=order.email)
    assert "Paket Anda dari Desa Lewa 1 untuk pesanan" in text_of(message)
    assert queued("parcel.delivered_village") == []


# --- once per event --------------------------------------------------------------------------------

def test_a_repeated_move_does_not_mail_again(app):
    order, _villages, [parcel] = shop()
    move(parcel, "accepted")
    with pytest.raises(OrderError):
        move(parcel, "accepted")
    assert len(queued("parcel.accepted")) == 1


def test_two_phones_shipping_one_parcel_at_once_mail_the_buyer_once(app):
    order, _villages, [parcel] = shop()
    move_parcel(parcel, "accepted", "packed")
    parcel_id = parcel.id

    def ship():
        change_parcel(parcel_id, Change("shipped", courier="JNE", tracking_number="JNE1"), side=VILLAGE,
                      actor_name="member")

    outcomes = in_threads(app, [ship, ship, ship])
    assert sum(o is None for o in outcomes) == 1
    assert all(o is None or isinstance(o, OrderError) for o in outcomes), outcomes
    assert len(queued("parcel.shipped")) == 1


def test_two_workers_counting_deliveries_at_once_mail_once(app):
    order, [village], [parcel] = shop()
    move_parcel(parcel, "accepted", "packed", "shipped")
    later = now_utc() + timedelta(days=15)
    outcomes = in_threads(app, [lambda: deliver_unconfirmed_parcels(now=later)] * 2)
    assert outcomes == [None, None]
    assert len(queued("parcel.delivered", to=order.email)) == 1
    assert len(queued("parcel.delivered_village", to=village.email)) == 1


def test_no_mail_is_lost_while_the_mail_server_is_down(app):
    order, _villages, [parcel] = shop(lang="en")
    port = free_port()
    app.config.update(MAIL_SERVER="127.0.0.1", MAIL_PORT=port, MAIL_STARTTLS=False, MAIL_USERNAME=None,
                      MAIL_TIMEOUT=5)
    move(parcel, "accepted")
    assert deliver_due() == {"pending": 3}  # payment received, accepted, the village's new order
    [accepted] = queued("parcel.accepted")
    assert accepted.attempts == 1 and accepted.last_error
    waiting = db.session.scalars(select(OutboxMessage)).all()
    assert deliver_due(now=min(as_utc(m.next_attempt_at) for m in waiting) - timedelta(seconds=1)) == {}

    mailbox = Mailbox()
    controller = Controller(mailbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        retry_at = max(as_utc(m.next_attempt_at) for m in waiting)
        assert deliver_due(now=retry_at) == {"delivered": 3}
        assert deliver_due(now=retry_at + timedelta(hours=1)) == {}
        [mail] = [m for m in mailbox.to(order.email) if "preparing" in m["subject"]]
        assert mail["message_id"] == f"<{accepted.event_id}@produkdesa-ntt.example>"
        assert len(mailbox.to(order.email)) == 2
    finally:
        controller.stop()


# --- the payment deadline and the end of an unpaid order -----------------------------------------

def test_the_payment_reminder_comes_once_a_few_hours_before_the_end(app, smtp):
    placed = now_utc()
    ends = placed + timedelta(hours=48)
    order, _villages, _parcels = shop(lang="en", paid=False, created_at=placed, expires_at=ends)
    assert remind_unpaid_orders(now=ends - timedelta(hours=7)) == []  # not yet: 6 hours before
    assert remind_unpaid_orders(now=ends - timedelta(hours=5)) == [order.number]
    assert remind_unpaid_orders(now=ends - timedelta(hours=4)) == []  # once
    db.session.commit()
    deliver_due()
    [mail] = smtp.to(order.email)
    assert mail["subject"].startswith(f"Order {order.number}: please pay by ") and "WITA" in mail["subject"]
    assert "Please transfer Rp 190.000 to Bank NTT, account 001.01.02.012345-6" in mail["body"]
    assert "We hold its goods for you until" in mail["body"] and "I have transferred" in mail["body"]
    assert db.session.get(Order, order.id).payment_reminded_at is not None


def test_the_reminder_hours_are_a_setting(app):
    app.config["PAYMENT_REMINDER_HOURS"] = 12
    placed = now_utc()
    order, _villages, _parcels = shop(paid=False, created_at=placed, expires_at=placed + timedelta(hours=48))
    assert remind_unpaid_orders(now=placed + timedelta(hours=37)) == [order.number]


def test_no_reminder_for_paid_orders_other_payments_or_an_order_placed_inside_the_window(app):
    placed = now_utc()
    ends = placed + timedelta(hours=48)
    shop(paid=True, created_at=placed, expires_at=ends)
    shop(paid=False, payment_method="stripe", created_at=placed, expires_at=ends)
    shop(paid=False, payment_method="cod", created_at=placed, expires_at=ends)
    # Placed 3 hours before its end: its confirmation said until when.
    shop(paid=False, created_at=ends - timedelta(hours=3), expires_at=ends)
    assert remind_unpaid_orders(now=ends - timedelta(hours=1)) == []
    assert queued("order.payment_reminder") == []


def test_an_order_ended_unpaid_is_told_once_in_its_language(app, smtp):
    placed = now_utc()
    order, _villages, _parcels = shop(lang="en", paid=False, created_at=placed,
                                      expires_at=placed + timedelta(hours=48))
    paid, _v, _p = shop(lang="en", paid=False, created_at=placed, expires_at=placed + timedelta(hours=48))
    with unit_of_work():
        mark_paid(paid.id, "office")
    later = placed + timedelta(hours=49)
    with unit_of_work():
        assert expire_unpaid_orders(now=later) == [order.number]
    with unit_of_work():
        assert expire_unpaid_orders(now=later) == []
    deliver_due()
    [mail] = smtp.to(order.email)
    assert mail["subject"] == f"Order {order.number} has ended unpaid"
    assert "did not arrive in time, so the order has ended" in mail["body"]
    assert "If you transferred the money after all" in mail["body"] and "http://shop.test/" in mail["body"]
    assert not [m for m in smtp.to(paid.email) if "ended" in m["subject"]]


# --- villages: papers and listings -----------------------------------------------------------------

def test_a_village_is_told_in_indonesian_when_its_papers_are_verified_rejected_or_revoked(app, smtp):
    village = make_village(name="Desa Beiposo", group_name="Kelompok Tani Beiposo")
    product = make_product(village, name="Kopi Bajawa")
    office = make_user("verifier")
    pirt = "P-IRT No. 2105309000001-30"
    pending = make_certificate(village, "pirt", [product], status="pending", number=pirt)
    wrong = make_certificate(village, "halal", [product], status="pending", number="ID53000000000000001")
    verified = make_certificate(village, "nib", status="verified", number="1234567890123")
    with unit_of_work():
        verify_certificate(pending, office)
    with unit_of_work():
        reject_certificate(wrong, office, "Foto buram, nomor tidak terbaca")
    with unit_of_work():
        revoke_certificate(verified, office, "NIB dicabut oleh OSS")
    with pytest.raises(LegalityError):  # a second press changes nothing, and tells nobody
        with unit_of_work():
            verify_certificate(pending, office)
    deliver_due()
    mails = {m["subject"]: m["body"] for m in smtp.to(village.email)}
    assert len(mails) == 3
    ok = next(body for subject, body in mails.items()
              if subject.startswith("Dokumen terverifikasi: ") and subject.endswith(pirt))
    assert "Yth. Kelompok Tani Beiposo (Desa Beiposo)," in ok and "- Kopi Bajawa" in ok
    assert f"/portal/dokumen/{pending.id}" in ok
    rejected = next(body for subject, body in mails.items() if subject.startswith("Dokumen tidak diterima"))
    assert "Alasan: Foto buram, nomor tidak terbaca" in rejected and "ajukan lagi" in rejected
    revoked = next(body for subject, body in mails.items() if subject.startswith("Dokumen dicabut"))
    assert "Alasan: NIB dicabut oleh OSS" in revoked and "tidak lagi ditampilkan" in revoked


def test_a_village_without_an_address_is_not_mailed_and_the_decision_stands(app):
    village = make_village(email=None)
    paper = make_certificate(village, "nib", status="pending")
    with unit_of_work():
        verify_certificate(paper, make_user("verifier"))
    assert paper.status == "verified" and queued("paper.verified") == []


def test_a_village_hears_of_its_listings_through_the_office_pages(app, smtp):
    village = make_certified_village(name="Desa Wolwal")
    approved = make_sellable_food(village, name="Madu Hutan", review_status="pending")
    refused = make_sellable_food(village, name="Kopi Sachet", review_status="pending")
    office_approves(app, approved)
    office_approves(app, refused, reason="Foto produk bukan milik desa")
    deliver_due()
    mails = {m["subject"]: m["body"] for m in smtp.to(village.email)}
    assert "Kantor provinsi telah menyetujui produk Anda Madu Hutan" in mails["Produk disetujui: Madu Hutan"]
    body = mails["Produk tidak diterima: Kopi Sachet"]
    assert "Alasan: Foto produk bukan milik desa" in body and f"/portal/produk/{refused.id}/ubah" in body


def test_a_village_hears_whether_its_proposed_change_was_accepted(app):
    village = make_certified_village()
    product = make_sellable_food(village, name="Kopi Lama")
    office = make_user("verifier")
    def loaded():
        db.session.expire_all()
        return db.session.scalars(select(Product).where(Product.id == product.id)
                                  .options(selectinload(Product.photos))).one()

    for decision, reason in (("approved", ""), ("rejected", "Nama baru menyesatkan")):
        with unit_of_work():
            revision_id = propose_change(loaded(), {"description": f"Deskripsi {decision}"}, None)[0].id
        with unit_of_work():
            decide_revision(loaded(), revision_id, decision, office, reason)
    [yes] = queued("listing.change_approved", to=village.email)
    [no] = queued("listing.change_rejected", to=village.email)
    assert "Perubahan disetujui: Kopi Lama" == json.loads(yes.payload)["subject"]
    assert "Alasan: Nama baru menyesatkan" in text_of(no)
    assert "Toko tetap menampilkan produk seperti semula" in text_of(no)


# --- the office ------------------------------------------------------------------------------------

def test_the_office_is_told_once_of_parcels_not_accepted_in_time(app, smtp):
    verifier = make_user("verifier")
    order, _villages, _parcels = shop(villages=2)
    later = now_utc() + timedelta(hours=49)
    assert len(flag_overdue_parcels(later)) == 2
    assert flag_overdue_parcels(later + timedelta(hours=1)) == []
    db.session.commit()
    deliver_due()
    [mail] = smtp.to(verifier.email)
    assert mail["subject"] == "Paket dibayar yang belum diterima desa tepat waktu: 2"
    assert "dalam 48 jam setelah pembayaran" in mail["body"]
    assert f"- {order.number}: Desa Lewa 1\r\n- {order.number}: Desa Lewa 2" in mail["body"]
    assert "/kantor/pesanan" in mail["body"]


# --- the buyer's choice of optional mail ---------------------------------------------------------

def test_a_buyer_turns_optional_mail_off_on_the_account_page_and_back_on(app, client):
    user = make_user()
    sign_in(client, user)
    page = client.get("/akun").get_data(as_text=True)
    assert re.search(r'<input checked[^>]*id="optional_mail"', page)
    assert "Surel tentang pesanan, pembayaran, dan akun Anda selalu dikirim" in page
    answer = client.post("/akun/surel", data={"csrf_token": csrf_token(page)})
    assert answer.status_code == 303 and answer.headers["Location"].endswith("/akun")
    db.session.expire_all()
    assert db.session.get(User, user.id).optional_mail is False
    page = client.get("/akun").get_data(as_text=True)
    assert "kami hanya mengirimi Anda surel tentang pesanan dan akun Anda" in page
    assert '<input id="optional_mail"' in page and not re.search(r'<input checked[^>]*id="optional_mail"', page)
    client.post("/akun/surel", data={"csrf_token": csrf_token(page), "optional_mail": "y"})
    db.session.expire_all()
    assert db.session.get(User, user.id).optional_mail is True


def test_a_post_without_its_token_changes_nothing(app, client):
    user = make_user()
    sign_in(client, user)
    assert client.post("/akun/surel", data={}).status_code == 400  # the shop's CSRF protection answers
    db.session.expire_all()
    assert db.session.get(User, user.id).optional_mail is True


def test_the_mail_layer_skips_optional_kinds_for_someone_who_turned_them_off(app, monkeypatch):
    mail = Mail("Berita", "Isi\n")
    monkeypatch.setattr(mailing, "OPTIONAL_KINDS", frozenset({"shop.news"}))
    with unit_of_work():
        assert enqueue_mail("a@example.org", mail, kind="shop.news", optional_mail=False) is None
        assert enqueue_mail("b@example.org", mail, kind="shop.news", optional_mail=True) is not None
        assert enqueue_mail("a@example.org", mail, kind="parcel.shipped", optional_mail=False) is not None
    assert db.session.scalars(select(OutboxMessage.target).order_by(OutboxMessage.id)).all() == [
        "b@example.org", "a@example.org"]


def test_mail_about_orders_accounts_and_villages_is_never_optional():
    never = ("order.", "parcel.", "account.", "paper.", "papers.", "listing.", "payout.")
    assert not [kind for kind in mailing.OPTIONAL_KINDS if kind.startswith(never)]


def test_every_new_mail_has_a_plain_text_part(app):
    order, _villages, [parcel] = shop()
    move_parcel(parcel, "accepted", "packed", "shipped", "delivered")
    kinds = ("parcel.accepted", "parcel.shipped", "parcel.delivered")
    for kind in kinds:
        [message] = queued(kind)
        payload = json.loads(message.payload)
        assert payload["subject"] and payload["text"].strip() and order.number in payload["text"]
    assert db.session.scalar(select(func.count()).select_from(OutboxMessage)
                             .where(OutboxMessage.target == order.email)) == 4  # and payment received


def test_a_delivered_parcel_refunded_by_the_office_tells_the_buyer_and_the_village_hook_once(app, client):
    from storefront.orders.fulfilment import refund_delivered
    from storefront.outbox.services import save_webhook

    order, [village], [parcel] = shop(lang="en")
    with unit_of_work():
        save_webhook(village.id, "https://desa.example.id/hook")
    for to in ("accepted", "packed"):
        move(parcel, to)
    move(parcel, "shipped", courier="JNE", tracking_number="JNE0123456789")
    move(parcel, "delivered", side=BUYER, actor="buyer", reason="received, confirmed by the buyer")
    hooks_before = db.session.scalar(select(func.count(OutboxMessage.id)).where(OutboxMessage.channel == "webhook"))
    with unit_of_work():
        refund_delivered(parcel.id, "Kemasan pecah saat tiba", actor_name="Kantor")
    [message] = queued("parcel.refunded", to=order.email)
    body = text_of(message)
    assert "Reason: Kemasan pecah saat tiba" in body
    assert "will return the Rp 190.000 you paid for this parcel to you by bank transfer" in body
    assert db.session.scalar(select(func.count(OutboxMessage.id)).where(
        OutboxMessage.channel == "webhook")) == hooks_before + 1
    with pytest.raises(OrderError), unit_of_work():
        refund_delivered(parcel.id, "again", actor_name="Kantor")
    assert len(queued("parcel.refunded")) == 1

    member = make_user("village_member", village=village)
    portal = client
    sign_in(portal, member)
    history = portal.get(f"/portal/pesanan/{parcel.id}").get_data(as_text=True)
    assert order.email not in history
    assert "pembeli mengonfirmasi paket sudah sampai" in history and "received, confirmed" not in history
    assert "uang akan dikembalikan" in history and "→ refund" not in history
