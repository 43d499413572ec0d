"""The village portal's webhook page and delivery log: a member's own village only."""
import html as htmllib
import re
from datetime import timedelta

import pytest
from sqlalchemy import select

from storefront.clock import as_utc, now_utc
from storefront.extensions import db
from storefront.outbox.models import OutboxAttempt, OutboxMessage, VillageWebhook
from storefront.outbox.worker import GIVE_UP_AFTER, deliver_due

from .conftest import csrf_token
from .factories import make_user, make_village, sign_in
from .test_outbox import Receiver, make_parcel, record


def text(response):
    return htmllib.unescape(response.get_data(as_text=True))


def member(app, village):
    """A signed-in member reading the portal in English (the msgids), whatever the catalogue says."""
    client = app.test_client()
    sign_in(client, make_user("village_member", village))
    assert client.get("/bahasa/en").status_code == 303
    return client


def webhook_of(village):
    db.session.expire_all()
    return db.session.scalars(select(VillageWebhook).where(VillageWebhook.village_id == village.id)).one_or_none()


def post_url(client, url):
    page = text(client.get("/portal/webhook"))
    return client.post("/portal/webhook", data={"csrf_token": csrf_token(page), "action": "save", "url": url})


def press(client, page_path, action_path, **data):
    page = text(client.get(page_path))
    return client.post(action_path, data={"csrf_token": csrf_token(page), **data})


def outbox_row(village, status="failed", channel="webhook", **fields):
    """A message of ``village`` straight in the table, with one logged attempt."""
    values = dict(event_id=f"evt_{village.id:04d}{status}{channel}", kind="order.paid", village_id=village.id,
                  channel=channel, target="https://desa.example.id/hook" if channel == "webhook" else village.email,
                  payload='{"id": "x"}', status=status, attempts=1, next_attempt_at=now_utc(),
                  last_status_code=500, last_error="HTTP 500: rusak")
    values.update(fields)
    message = OutboxMessage(**values)
    db.session.add(message)
    db.session.flush()
    db.session.add(OutboxAttempt(message_id=message.id, status_code=500, error="HTTP 500: rusak", duration_ms=12))
    db.session.commit()
    return message


def test_a_member_registers_a_webhook_and_sees_its_secret(app):
    village = make_village()
    client = member(app, village)
    assert client.get("/portal/webhook").status_code == 200
    answer = post_url(client, "https://sistem.desa.example.id/pesanan")
    assert answer.status_code == 303 and answer.headers["Location"].endswith("/portal/webhook")
    webhook = webhook_of(village)
    assert webhook.url == "https://sistem.desa.example.id/pesanan" and webhook.active
    assert webhook.secret.startswith("whsec_")
    page = text(client.get("/portal/webhook"))
    assert webhook.secret in page and "https://sistem.desa.example.id/pesanan" in page
    assert "X-Desa-Signature" in page

    secret = webhook.secret
    assert post_url(client, "https://baru.desa.example.id/hook").status_code == 303
    assert webhook_of(village).url == "https://baru.desa.example.id/hook"
    assert webhook_of(village).secret == secret  # changing the address keeps the secret

    assert press(client, "/portal/webhook", "/portal/webhook", action="rotate").status_code == 303
    assert webhook_of(village).secret != secret and webhook_of(village).secret.startswith("whsec_")

    assert press(client, "/portal/webhook", "/portal/webhook", action="deactivate").status_code == 303
    assert webhook_of(village).active is False
    assert "Turn the webhook off" not in text(client.get("/portal/webhook"))
    assert post_url(client, "https://baru.desa.example.id/hook").status_code == 303
    assert webhook_of(village).active is True


@pytest.mark.parametrize("url, message", [
    ("http://evil.example/hook", "must start with https://"),
    ("https://admin:rahasia@desa.example.id/hook", "user name or password"),
    ("https://192.168.1.10/hook", "private network"),
    ("https://[64:ff9b::a9fe:a9fe]/latest/meta-data", "private network"),  # NAT64 form of 169.254.169.254
    ("https://[2002:a00:5::1]/hook", "private network"),                    # 6to4 form of 10.0.0.5
    ("https://[::ffff:127.0.0.1]/hook", "private network"),                 # IPv4-mapped 127.0.0.1
    ("https://localhost/hook", "private network"),       # tests allow http to loopback, never https
    ("https://desa.example.id/" + "a" * 500, "too long"),
    ("", "Enter the address"),
])
def test_a_bad_address_is_refused_with_a_reason(app, url, message):
    village = make_village()
    client = member(app, village)
    answer = post_url(client, url)
    assert answer.status_code == 422
    assert message in text(answer)
    assert webhook_of(village) is None


def test_every_form_needs_its_csrf_token(app):
    village = make_village()
    client = member(app, village)
    assert client.post("/portal/webhook", data={"action": "save", "url": "https://desa.example.id/h"}).status_code == 400
    assert webhook_of(village) is None
    post_url(client, "https://desa.example.id/h")
    secret = webhook_of(village).secret
    assert client.post("/portal/webhook", data={"action": "rotate"}).status_code == 400
    assert webhook_of(village).secret == secret
    message = outbox_row(village)
    assert client.post(f"/portal/webhook/kiriman/{message.id}/kirim-ulang").status_code == 400
    db.session.expire_all()
    assert db.session.get(OutboxMessage, message.id).status == "failed"


def test_only_members_reach_the_pages(app):
    anonymous = app.test_client()
    assert anonymous.get("/portal/webhook").status_code == 302
    customer = app.test_client()
    sign_in(customer, make_user("customer"))
    assert customer.get("/portal/webhook").status_code == 403
    assert customer.get("/portal/webhook/kiriman").status_code == 403
    office = app.test_client()
    sign_in(office, make_user("verifier"))
    assert office.get("/portal/webhook/kiriman").status_code == 403


def test_the_delivery_log_shows_only_the_members_village(app):
    ours, theirs = make_village(), make_village()
    mine = outbox_row(ours, status="failed", last_error="HTTP 500: punya kami")
    mail = outbox_row(ours, status="delivered", channel="email", last_error=None, last_status_code=None,
                      delivered_at=now_utc())
    other = outbox_row(theirs, status="failed", last_error="HTTP 500: punya desa lain")
    client = member(app, ours)
    page = text(client.get("/portal/webhook/kiriman"))
    assert mine.event_id in page and mail.event_id in page and ours.email in page
    assert "punya kami" in page and "HTTP 500: rusak" in page  # last error and the attempt list
    assert other.event_id not in page and "punya desa lain" not in page
    assert page.index(mail.event_id) < page.index(mine.event_id)  # newest first

    # Another village's message cannot be sent again from here.
    answer = press(client, "/portal/webhook/kiriman", f"/portal/webhook/kiriman/{other.id}/kirim-ulang")
    assert answer.status_code == 404
    db.session.expire_all()
    assert db.session.get(OutboxMessage, other.id).status == "failed"


def test_resending_a_failed_or_delivered_message_keeps_its_event_id(app):
    village = make_village()
    client = member(app, village)
    post_url(client, "https://desa.example.id/hook")
    failed = outbox_row(village, status="failed", locked_until=now_utc() + timedelta(seconds=30),
                        target="https://lama.example.id/hook")
    answer = press(client, "/portal/webhook/kiriman", f"/portal/webhook/kiriman/{failed.id}/kirim-ulang")
    assert answer.status_code == 303
    db.session.expire_all()
    message = db.session.get(OutboxMessage, failed.id)
    assert (message.status, message.event_id, message.locked_until) == ("pending", failed.event_id, None)
    assert message.target == "https://desa.example.id/hook"  # to the address registered now
    assert as_utc(message.next_attempt_at) <= now_utc()

    delivered = outbox_row(village, status="delivered", channel="email", delivered_at=now_utc())
    assert press(client, "/portal/webhook/kiriman",
                 f"/portal/webhook/kiriman/{delivered.id}/kirim-ulang").status_code == 303
    db.session.expire_all()
    assert db.session.get(OutboxMessage, delivered.id).status == "pending"

    press(client, "/portal/webhook", "/portal/webhook", action="deactivate")
    failed_again = db.session.get(OutboxMessage, failed.id)
    assert failed_again.status == "failed"  # what waited for the webhook is marked failed
    answer = press(client, "/portal/webhook/kiriman", f"/portal/webhook/kiriman/{failed.id}/kirim-ulang")
    assert answer.status_code == 303
    assert "Turn the webhook on" in text(client.get("/portal/webhook/kiriman"))


def test_a_message_given_up_after_24_hours_shows_as_failed_in_the_log(app):
    village = make_village(email=None)
    receiver = Receiver()
    receiver.default = 500
    try:
        client = member(app, village)
        assert post_url(client, receiver.url).status_code == 303  # loopback http is allowed in tests
        receiver.secret = webhook_of(village).secret
        event_id = record("order.paid", make_parcel(village))
        message = db.session.scalars(select(OutboxMessage).where(OutboxMessage.event_id == event_id)).one()
        deliver_due(now=as_utc(message.created_at) + GIVE_UP_AFTER)
        db.session.commit()
    finally:
        receiver.close()
    page = text(client.get("/portal/webhook/kiriman"))
    row = re.search(rf'<li id="kiriman-{message.id}">(.*?)</li>', page, re.S).group(1)
    assert ("failed" in row or "gagal" in row) and "HTTP 500" in row
    assert "Send again" in row or "Kirim ulang" in row


def test_the_log_pages_by_fifty(app):
    village = make_village()
    for n in range(55):
        db.session.add(OutboxMessage(event_id=f"evt_page{n:03d}", kind="order.paid", village_id=village.id,
                                     channel="email", target=village.email, payload="{}", status="delivered",
                                     attempts=1))
    db.session.commit()
    client = member(app, village)
    page = text(client.get("/portal/webhook/kiriman"))
    assert page.count('<li id="kiriman-') == 50
    assert "evt_page054" in page and "evt_page004" not in page
    older = re.search(r'href="([^"]*sebelum=\d+)"', page).group(1)
    rest = text(client.get(older))
    assert rest.count('<li id="kiriman-') == 5 and "evt_page000" in rest
