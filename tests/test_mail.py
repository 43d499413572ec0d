"""Every mail is written to the outbox with the change it reports, from a template, in the
recipient's language, and sent by the outbox worker (issue 14, item 4)."""
import json

from sqlalchemy import select

from storefront.extensions import db
from storefront.orders.models import Order
from storefront.outbox.models import OutboxMessage
from storefront.outbox.worker import deliver_due

from .conftest import csrf_token
from .factories import make_certified_village, make_sellable_food, make_user
from .mail_server import free_port
from .test_portal_orders import buy, office_marks_paid, only_order


def outbox(kind):
    db.session.expire_all()
    return db.session.scalars(select(OutboxMessage).where(OutboxMessage.kind == kind)
                              .order_by(OutboxMessage.id)).all()


def test_placing_an_order_queues_its_confirmation_and_talks_to_no_mail_server(app, client):
    app.config.update(MAIL_SERVER="127.0.0.1", MAIL_PORT=free_port(), MAIL_TIMEOUT=1)  # nobody there
    coffee = make_sellable_food(make_certified_village(), stock=5)
    buy(client, [(coffee, 1)])  # answers 303 at once: no SMTP in the request
    order = only_order()
    [mail] = outbox("order.placed")
    assert (mail.target, mail.status, mail.attempts) == (order.email, "pending", 0)
    assert order.number in json.loads(mail.payload)["subject"]
    deliver_due()  # the worker tries, fails, and keeps it for a retry
    [mail] = outbox("order.placed")
    assert mail.status == "pending" and mail.attempts == 1 and mail.last_error


def test_names_with_commas_and_ampersands_arrive_as_written(app, client, smtp):
    village = make_certified_village(name="Desa Ratu, Lewa & Sekitar")
    product = make_sellable_food(village, name="Kopi, Gula & Madu <Spesial>", stock=5, price_idr=85000)
    buy(client, [(product, 2)])
    order = only_order()
    office_marks_paid(app, order)
    deliver_due()
    buyer = smtp.to(order.email)
    placed = next(m for m in buyer if m["subject"] == f"Pesanan {order.number}")
    assert "2 x Kopi, Gula & Madu <Spesial> - Rp 170.000" in placed["body"]
    assert "Paket dari Desa Ratu, Lewa & Sekitar" in placed["body"]
    [to_village] = smtp.to(village.email)
    assert "Kopi, Gula & Madu <Spesial>" in to_village["body"] and "Desa Ratu, Lewa & Sekitar" in to_village["subject"]


def test_the_confirmation_has_an_html_part_that_escapes_what_villages_typed(app, client, smtp):
    import email
    from email import policy

    product = make_sellable_food(make_certified_village(), name="Kopi <b>Enak</b>", stock=5)
    buy(client, [(product, 1)])
    deliver_due()
    [envelope] = smtp.envelopes
    message = email.message_from_bytes(envelope.content, policy=policy.default)
    html = message.get_body(preferencelist=("html",)).get_content()
    assert "Kopi &lt;b&gt;Enak&lt;/b&gt;" in html and "<b>Enak</b>" not in html
    assert "Kopi <b>Enak</b>" in message.get_body(preferencelist=("plain",)).get_content()


def test_a_buyer_who_shops_in_english_is_written_to_in_english(app, client, smtp):
    coffee = make_sellable_food(make_certified_village(), stock=5)
    client.get("/bahasa/en")
    buy(client, [(coffee, 1)])
    order = only_order()
    assert order.lang == "en"
    office_marks_paid(app, order)
    deliver_due()
    subjects = [m["subject"] for m in smtp.to(order.email)]
    assert subjects == [f"Your order {order.number}", f"Payment for order {order.number} received"]
    placed = smtp.to(order.email)[0]["body"]
    assert "Thank you. We have received your order" in placed and "Please transfer" in placed
    # The village reads its notice in Indonesian whatever language the buyer used.
    village_mail = next(m for m in smtp.messages if m["subject"].startswith("Pesanan baru"))
    assert "Mohon terima pesanan di portal desa" in village_mail["body"]


def test_an_indonesian_buyer_is_written_to_in_indonesian(app, client, smtp):
    coffee = make_sellable_food(make_certified_village(), stock=5)
    buy(client, [(coffee, 1)])
    order = only_order()
    deliver_due()
    [placed] = smtp.to(order.email)
    assert placed["subject"] == f"Pesanan {order.number}"
    assert "Terima kasih. Pesanan" in placed["body"] and "Silakan transfer" in placed["body"]


def test_a_password_reset_is_written_in_the_language_its_owner_signed_in_with(app, client, smtp):
    user = make_user(email="ana@example.org")
    client.get("/bahasa/en")
    page = client.get("/masuk").get_data(as_text=True)
    client.post("/masuk", data={"csrf_token": csrf_token(page), "email": user.email,
                                "password": "a-long-test-password"})
    db.session.expire_all()
    assert db.session.get(type(user), user.id).lang == "en"
    other = app.test_client()  # the request for a reset comes from anywhere, in any language
    page = other.get("/lupa-sandi").get_data(as_text=True)
    other.post("/lupa-sandi", data={"csrf_token": csrf_token(page), "email": user.email})
    deliver_due()
    [mail] = smtp.to(user.email)
    assert mail["subject"] == "Reset your Produk Desa NTT password"
    assert "Open this link to choose a new password" in mail["body"]


def test_payment_received_is_told_once_whoever_confirms_it(app, client, smtp):
    coffee = make_sellable_food(make_certified_village(), stock=5)
    buy(client, [(coffee, 1)])
    order = only_order()
    office_marks_paid(app, order)
    office_marks_paid(app, order)  # a second press changes nothing
    deliver_due()
    received = [m for m in smtp.to(order.email) if "diterima" in m["subject"] and "Pembayaran" in m["subject"]]
    assert len(received) == 1
    assert db.session.get(Order, order.id).status == "paid"
