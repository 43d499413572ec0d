"""``flask legality remind``: expiry reminders to villages and hidden-product notices to the
office, queued in the outbox and delivered by the outbox worker to a real SMTP server on
loopback while the calendar moves forward."""
import logging
from datetime import date, datetime, timedelta, timezone

import pytest
from babel.dates import format_date
from sqlalchemy import select

from storefront import clock
from storefront.extensions import db
from storefront.legality.models import ExpiryReminder
from storefront.outbox.models import OutboxMessage
from storefront.outbox.worker import deliver_due
from storefront.villages.models import Village

from .factories import make_certificate, make_certified_village, make_product, make_sellable_food, make_user
from .mail_server import free_port as _free_port

START = date(2026, 3, 2)


@pytest.fixture
def today(monkeypatch):
    """``today.set(d)`` makes ``d`` today in NTT (noon WITA)."""

    class Calendar:
        def set(self, day):
            moment = datetime(day.year, day.month, day.day, 4, 0, tzinfo=timezone.utc)
            monkeypatch.setattr(clock, "now_utc", lambda: moment)
            self.value = day
            assert clock.today_wita() == day

    calendar = Calendar()
    calendar.set(START)
    return calendar


def remind(runner, deliver=True):
    """Run the daily command, then (as the outbox worker does within seconds) deliver its mail."""
    result = runner.invoke(args=["legality", "remind"])
    assert result.exit_code == 0, f"{result.output}\n{result.exception!r}"
    # The command shares this test's session; a real run is a process of its own, and when it
    # ends only what it committed is left.
    db.session.rollback()
    if deliver:
        worked = runner.invoke(args=["outbox", "work", "--once"])
        assert worked.exit_code == 0, f"{worked.output}\n{worked.exception!r}"
        db.session.rollback()
    return result.output


def deliver_after_backoff():
    """The outbox worker's retry, an hour on (the worker keeps real time: its backoff is real)."""
    deliver_due(now=datetime.now(timezone.utc) + timedelta(hours=1))
    db.session.rollback()


def _reminders(certificate_id):
    db.session.expire_all()
    return sorted(r.days_before for r in db.session.scalars(
        select(ExpiryReminder).where(ExpiryReminder.certificate_id == certificate_id)))


# --- reminders to villages -----------------------------------------------------------------------

def test_a_paper_gets_60_30_and_7_day_reminders_once_each(app, runner, smtp, today):
    village = make_certified_village()
    product = make_product(village, "kopi")
    paper = make_certificate(village, "pirt", [product], expires_on=START + timedelta(days=59))
    address = village.email

    output = remind(runner)
    [first] = smtp.to(address)
    assert "59 hari" in first["subject"]
    assert paper.number in first["body"] and "59 hari lagi" in first["body"]
    assert format_date(paper.expires_on, "d MMMM yyyy", locale="id") in first["body"]
    assert village.slug in output

    assert "reminded" not in remind(runner)  # same day again: nothing new
    assert len(smtp.to(address)) == 1

    sent_on = {}
    for offset in range(1, 62):  # every day until two days past expiry
        today.set(START + timedelta(days=offset))
        before = len(smtp.to(address))
        remind(runner)
        remind(runner)  # a second run the same day (a restarted timer) never repeats
        for message in smtp.to(address)[before:]:
            sent_on[offset] = message
    days_left = {offset: 59 - offset for offset in sent_on}
    assert sorted(days_left.values(), reverse=True) == [30, 7], days_left
    assert "30 hari" in sent_on[29]["subject"] and "30 hari lagi" in sent_on[29]["body"]
    assert "7 hari" in sent_on[52]["subject"] and "7 hari lagi" in sent_on[52]["body"]
    assert all(paper.number in m["body"] for m in sent_on.values())
    assert len(smtp.to(address)) == 3
    assert _reminders(paper.id) == [7, 30, 60]


def test_a_paper_first_seen_at_20_days_gets_the_30_day_then_the_7_day_reminder(app, runner, smtp, today):
    village = make_certified_village()
    product = make_product(village, "kopi")
    paper = make_certificate(village, "pirt", [product], expires_on=START + timedelta(days=20))

    remind(runner)
    [first] = smtp.to(village.email)
    assert "20 hari" in first["subject"] and "20 hari lagi" in first["body"]
    assert _reminders(paper.id) == [30, 60]  # the passed 60-day notice will never follow

    for offset in range(1, 23):
        today.set(START + timedelta(days=offset))
        remind(runner)
    later = smtp.to(village.email)[1:]
    assert [m["subject"] for m in later] == ["Pengingat: dokumen legalitas kedaluwarsa dalam 7 hari"]
    assert _reminders(paper.id) == [7, 30, 60]


def test_several_papers_of_a_village_come_in_one_mail(app, runner, smtp, today):
    village = make_certified_village()
    product = make_product(village, "kopi")
    pirt = make_certificate(village, "pirt", [product], expires_on=START + timedelta(days=40))
    halal = make_certificate(village, "halal", [product], expires_on=START + timedelta(days=6))
    remind(runner)
    [message] = smtp.to(village.email)
    assert pirt.number in message["body"] and halal.number in message["body"]
    assert "6 hari" in message["subject"]  # the soonest one


def test_papers_that_need_no_reminder_get_none(app, runner, smtp, today):
    soon = START + timedelta(days=25)
    quiet = make_certified_village()
    product = make_product(quiet, "kopi")
    for status in ("pending", "revoked", "rejected"):
        make_certificate(quiet, "halal", [product], status=status, expires_on=soon)
    make_certificate(quiet, "pirt", [product], expires_on=None)  # never expires
    make_certificate(quiet, "bpom_md", [product], expires_on=START + timedelta(days=61))  # not yet
    make_certificate(quiet, "trademark", expires_on=START - timedelta(days=1))  # already expired
    suspended = make_certified_village(active=False)
    make_certificate(suspended, "pirt", [make_product(suspended, "kopi")], expires_on=soon)
    # A control in the same run, so "nothing was sent at all" cannot pass for the rule.
    control = make_certified_village()
    make_certificate(control, "pirt", [make_product(control, "kopi")], expires_on=soon)

    output = remind(runner)
    assert [m["to"] for m in smtp.messages] == [[control.email]]
    assert quiet.slug not in output and suspended.slug not in output
    db.session.expire_all()
    assert len(db.session.scalars(select(ExpiryReminder.certificate_id).distinct()).all()) == 1


def test_a_village_without_email_is_reported_and_reminded_once_it_has_one(app, runner, smtp, today):
    village = make_certified_village(email=None)
    paper = make_certificate(village, "pirt", [make_product(village, "kopi")],
                             expires_on=START + timedelta(days=10))
    output = remind(runner)
    assert f"no e-mail address for village {village.slug}" in output
    assert smtp.messages == []
    assert _reminders(paper.id) == []

    fresh = db.session.get(Village, village.id)
    fresh.email = "baru@desa.example.id"
    db.session.commit()
    today.set(START + timedelta(days=1))
    remind(runner)
    [message] = smtp.to("baru@desa.example.id")
    assert "9 hari" in message["subject"]


def test_mail_server_down_the_reminder_waits_in_the_outbox_and_is_sent_once_it_is_back(
        app, runner, smtp, today):
    village = make_certified_village()
    paper = make_certificate(village, "pirt", [make_product(village, "kopi")],
                             expires_on=START + timedelta(days=10))
    listening = app.config["MAIL_PORT"]
    app.config.update(MAIL_PORT=_free_port(), MAIL_TIMEOUT=2)  # nobody listens there
    remind(runner)
    assert _reminders(paper.id) == [30, 60]  # recorded with its mail, which waits in the outbox
    [waiting] = db.session.scalars(select(OutboxMessage).where(OutboxMessage.target == village.email)).all()
    assert waiting.status == "pending" and waiting.attempts == 1 and "Connection" in (waiting.last_error or "")
    assert smtp.messages == []

    app.config["MAIL_PORT"] = listening  # the server is back: the worker's retry delivers it
    deliver_after_backoff()
    today.set(START + timedelta(days=1))
    remind(runner)  # the next run adds nothing new; the mail went out once
    assert [m["to"] for m in smtp.messages] == [[village.email.lower()]]
    assert "10 hari" in smtp.messages[0]["subject"]


def test_a_refused_address_is_retried_and_nothing_is_sent_twice(app, runner, smtp, today):
    first, second = make_certified_village(), make_certified_village()
    paper_1 = make_certificate(first, "pirt", [make_product(first, "kopi")],
                               expires_on=START + timedelta(days=50))
    paper_2 = make_certificate(second, "pirt", [make_product(second, "kopi")],
                               expires_on=START + timedelta(days=50))
    smtp.refuse.add(second.email.lower())
    remind(runner)
    assert len(smtp.to(first.email)) == 1 and smtp.to(second.email) == []
    assert (_reminders(paper_1.id), _reminders(paper_2.id)) == ([60], [60])

    smtp.refuse.clear()
    deliver_after_backoff()
    today.set(START + timedelta(days=1))
    remind(runner)
    deliver_after_backoff()
    assert len(smtp.to(first.email)) == 1 and len(smtp.to(second.email)) == 1


def test_days_left_are_counted_in_wita(app, runner, smtp, monkeypatch):
    # 16:30 UTC on 2 March is 00:30 on 3 March in NTT.
    monkeypatch.setattr(clock, "now_utc", lambda: datetime(2026, 3, 2, 16, 30, tzinfo=timezone.utc))
    village = make_certified_village()
    make_certificate(village, "pirt", [make_product(village, "kopi")], expires_on=date(2026, 4, 2))
    remind(runner)
    [message] = smtp.to(village.email)
    assert "30 hari" in message["subject"]  # counted from 3 March, not from the UTC date


def test_without_mail_server_the_mail_goes_to_the_log(app, runner, today, caplog, monkeypatch):
    app.config["MAIL_SERVER"] = None
    # Running the migrations in this process (conftest) calls logging.config.fileConfig, which
    # disables loggers that existed before; a served app never migrates in-process.
    monkeypatch.setattr(app.logger, "disabled", False)
    village = make_certified_village()
    make_certificate(village, "pirt", [make_product(village, "kopi")],
                             expires_on=START + timedelta(days=30))
    with caplog.at_level(logging.WARNING):
        output = remind(runner)
    logged = "\n".join(record.getMessage() for record in caplog.records)
    assert "MAIL NOT SENT" in logged
    assert village.email in logged
    assert "30 hari" in logged
    assert village.slug in output

    app.config["OFFICE_EMAIL"] = "kantor@ntt.example"
    product = make_sellable_food(name="Sirup Asam Kupang")
    remind(runner)
    db.session.get(Village, product.village_id).active = False
    db.session.commit()
    caplog.clear()
    with caplog.at_level(logging.WARNING):
        output = remind(runner)
    logged = "\n".join(record.getMessage() for record in caplog.records)
    assert "MAIL NOT SENT" in logged and "kantor@ntt.example" in logged
    assert product.name in logged
    assert "told the office" in output


# --- notices to the office -----------------------------------------------------------------------

def test_office_is_told_once_when_a_product_becomes_hidden(app, runner, smtp, today):
    app.config["OFFICE_EMAIL"] = "kantor@ntt.example, kepala@ntt.example"
    expiry = START + timedelta(days=3)
    village = make_certified_village(email=None)
    food = make_product(village, "kopi", name="Kopi Arabika Bajawa")
    make_certificate(village, "pirt", [food], expires_on=expiry)
    make_certificate(village, "halal", [food])
    steady = make_sellable_food(village, name="Gula Aren Stabil")
    never = make_product(village, "kopi", name="Kopi Tanpa Izin")  # never sellable: no notice

    output = remind(runner)
    assert smtp.to("kantor@ntt.example") == []  # the first run only records the state
    assert "newly hidden" not in output

    today.set(expiry)  # still valid on its last day
    remind(runner)
    assert smtp.to("kantor@ntt.example") == []

    today.set(expiry + timedelta(days=1))
    output = remind(runner)
    [notice] = smtp.to("kantor@ntt.example")
    [same] = smtp.to("kepala@ntt.example")
    assert notice["message_id"] == same["message_id"] and notice["body"] == same["body"]
    assert "1 produk" in notice["subject"]
    assert food.name in notice["body"] and food.sku in notice["body"]
    assert "P-IRT" in notice["body"]  # the reason
    assert steady.name not in notice["body"] and never.name not in notice["body"]
    assert "told the office" in output

    remind(runner)
    today.set(expiry + timedelta(days=2))
    remind(runner)
    assert len(smtp.to("kantor@ntt.example")) == 1


def test_office_notice_goes_to_active_office_accounts_when_no_address_is_set(app, runner, smtp, today):
    app.config["OFFICE_EMAIL"] = ""
    verifier = make_user("verifier", email="verifikator@ntt.example")
    admin = make_user("admin", email="admin@ntt.example")
    gone = make_user("verifier", email="mantan@ntt.example")
    gone.active = False
    customer = make_user("customer", email="pembeli@example.org")
    village = make_certified_village(email=None)
    member = make_user("village_member", village=village, email="anggota@desa.example.id")
    product = make_sellable_food(village, name="Madu Hutan Timor")
    db.session.commit()

    remind(runner)
    assert smtp.messages == []
    db.session.get(Village, village.id).active = False  # suspended: hidden at once
    db.session.commit()
    remind(runner)
    notices = smtp.messages
    recipients = sorted(address for m in notices for address in m["to"])
    assert recipients == sorted([verifier.email, admin.email])
    assert gone.email not in recipients and customer.email not in recipients and member.email not in recipients
    notice = notices[0]
    assert product.name in notice["body"] and "desa ditangguhkan" in notice["body"]
    remind(runner)
    assert len(smtp.messages) == 2
