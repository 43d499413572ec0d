"""Partners' catalogue webhooks through the outbox: ``product.listed``, ``product.changed`` and
``product.delisted``, signed like the village webhooks and delivered by the real worker to the
example receiver of docs/partner_receiver.py; a paper that expires at midnight WITA is
announced within a minute of it, with no write to the database, under an injected clock."""
import importlib.util
import json
import urllib.error
import urllib.request
from datetime import datetime, time as dtime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from storefront import clock
from storefront.catalog.caching import VERSION_QUERY, version_of
from storefront.extensions import db
from storefront.legality.models import Certificate
from storefront.outbox.models import OutboxMessage
from storefront.outbox.signing import signature_header, verify as shop_verify
from storefront.outbox.worker import HOUSEKEEPING_SECONDS, deliver_due, housekeeping
from storefront.partners import sync as sync_module
from storefront.partners.keys import issue_key
from storefront.partners.models import CatalogueSyncState
from storefront.partners.services import create_partner, deactivate_partner_webhook, save_partner_webhook
from storefront.partners.sync import _take, sync_catalogue
from storefront.products.models import Product
from storefront.unit_of_work import unit_of_work
from storefront.villages.models import Village

from .factories import make_certificate, make_certified_village, make_product, make_sellable_food
from .local_http import serve_in_thread
from .mail_server import free_port

ROOT = Path(__file__).resolve().parent.parent


def example_receiver():
    """docs/partner_receiver.py, imported as a partner would run it."""
    spec = importlib.util.spec_from_file_location("partner_receiver", ROOT / "docs" / "partner_receiver.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


class Partner:
    """A partner with a key and its webhook on, and the example receiver listening for it (it
    records the headers of each call it gets, then lets the example handle it)."""

    def __init__(self, name="NTT Mart"):
        with unit_of_work():
            partner = create_partner(name)
            self.id = partner.id
            _row, self.key = issue_key(partner.id)
        port = free_port()
        self.url = f"http://127.0.0.1:{port}/produk-desa"
        with unit_of_work():
            self.secret = save_partner_webhook(self.id, self.url).webhook_secret
        self.module = example_receiver()
        self.server = self.module.make_server(port, self.secret)
        self.calls = []
        handler, calls = self.server.RequestHandlerClass, self.calls
        example = handler.do_POST

        def recording(request):
            calls.append(dict(request.headers))
            example(request)

        handler.do_POST = recording
        serve_in_thread(self.server, name=f"partner-{name}")

    @property
    def products(self):
        return self.server.catalogue.products

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def partners():
    made = []

    def make(name="NTT Mart"):
        partner = Partner(name)
        made.append(partner)
        return partner

    yield make
    for partner in made:
        partner.close()


def set_clock(monkeypatch, moment):
    monkeypatch.setattr(clock, "now_utc", lambda: moment)


def messages(kind=None):
    db.session.expire_all()
    stmt = select(OutboxMessage).where(OutboxMessage.partner_id.is_not(None)).order_by(OutboxMessage.id)
    if kind:
        stmt = stmt.where(OutboxMessage.kind == kind)
    found = db.session.scalars(stmt).all()
    db.session.commit()
    return found


def events_by_product(found):
    return {(m.kind, json.loads(m.payload)["data"]["id"]) for m in found}


def sync(now=None):
    with unit_of_work():
        return sync_catalogue(now or clock.now_utc())


def test_a_paper_expiring_at_midnight_wita_is_delisted_within_a_minute(app, client, partners, monkeypatch):
    real_now = clock.now_utc()
    midnight = datetime.combine(real_now.astimezone(clock.WITA).date() + timedelta(days=1), dtime(0),
                                tzinfo=clock.WITA)
    last_day = (midnight - timedelta(days=1)).date()
    village = make_certified_village()
    coffee = make_product(village, "kopi")
    make_certificate(village, "pirt", [coffee], expires_on=last_day)  # valid through its last day
    make_certificate(village, "halal", [coffee])
    cloth = make_product(village, "tenun")
    partner = partners()

    before = midnight - timedelta(seconds=30)
    set_clock(monkeypatch, before)
    housekeeping()  # the worker's minute: every job, each in its own unit of work
    assert events_by_product(messages()) == {("product.listed", coffee.id), ("product.listed", cloth.id)}
    assert deliver_due(now=before) == {"delivered": 2}
    assert set(partner.products) == {coffee.id, cloth.id}
    papers = {paper["kind"]: paper for paper in partner.products[coffee.id]["certificates"]}
    assert papers["pirt"]["expires_on"] == last_day.isoformat()
    version_before = db.session.execute(VERSION_QUERY).first()
    db.session.commit()

    after = midnight + timedelta(seconds=30)  # the worker's next minute; nothing was written
    set_clock(monkeypatch, after)
    assert HOUSEKEEPING_SECONDS <= 60
    housekeeping()
    delisted = messages("product.delisted")
    assert events_by_product(delisted) == {("product.delisted", coffee.id)}
    event = json.loads(delisted[0].payload)
    assert event["type"] == "product.delisted" and event["created"] - midnight.timestamp() <= 60
    assert event["data"] == {"id": coffee.id, "sku": coffee.sku, "status": "not_available",
                             "removed_at": event["data"]["removed_at"], "cursor": event["data"]["cursor"]}
    # The catalogue's counter did not move (no write), but its version did: it holds the date.
    version_after = db.session.execute(VERSION_QUERY).first()
    db.session.commit()
    assert tuple(version_after) == tuple(version_before)
    set_clock(monkeypatch, before)
    page_before = version_of(version_before)
    set_clock(monkeypatch, after)
    assert version_of(version_after) != page_before

    assert deliver_due(now=after) == {"delivered": 1}
    assert set(partner.products) == {cloth.id}, "the receiver took the coffee off its shelf"
    headers = partner.calls[-1]
    assert headers["X-Desa-Event-Type"] == "product.delisted" and headers["X-Desa-Event-Id"] == event["id"]

    # The same through the API: removed, with only id, SKU and when.
    answer = client.get("/api/v1/products?changed_since=0", headers={"Authorization": f"Bearer {partner.key}"})
    assert [r["id"] for r in answer.json["removed"]] == [coffee.id]
    assert [i["id"] for i in answer.json["items"]] == [cloth.id]
    assert set(answer.json["removed"][0]) == {"id", "sku", "status", "removed_at", "cursor"}
    # A minute later nothing is new.
    set_clock(monkeypatch, after + timedelta(minutes=1))
    housekeeping()
    assert len(messages()) == 3


def test_the_example_receiver_checks_the_shops_real_signature(app, partners):
    coffee = make_sellable_food()
    partner = partners()
    sync()
    message = messages()[0]
    body = message.payload.encode()
    assert deliver_due() == {"delivered": 1}
    assert partner.products[coffee.id]["sku"] == coffee.sku
    module = partner.module
    # The receiver refuses what is not signed with its secret, and what is too old.
    request = urllib.request.Request(partner.url, data=body, method="POST", headers={
        "Content-Type": "application/json", "X-Desa-Signature": "t=1,v1=00"})
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(request, timeout=5)
    assert refused.value.code == 400
    header = signature_header(body, partner.secret)
    assert module.verify(body, header, partner.secret) and shop_verify(body, header, partner.secret)
    assert not module.verify(body, header, "whsec_other")
    assert not module.verify(body + b" ", header, partner.secret)
    old = signature_header(body, partner.secret, timestamp=1_000_000)
    assert not module.verify(body, old, partner.secret)
    # A repeat of the same event changes nothing.
    assert module.Catalogue().apply(json.loads(body)) is True
    catalogue = module.Catalogue()
    catalogue.apply(json.loads(body))
    assert catalogue.apply(json.loads(body)) is False


def test_every_reason_to_leave_is_a_delisting_and_stock_zero_is_not(app, partners):
    kept, priced, sold_out, revoked, suspended, refused = (make_sellable_food() for _ in range(6))
    partners()
    with unit_of_work():
        quiet = create_partner("Pasar Tanpa Webhook")  # no webhook: nothing queued for it
        issue_key(quiet.id)
    sync()
    listed = messages()
    assert {m.kind for m in listed} == {"product.listed"} and len(listed) == 6

    db.session.get(Product, priced.id).price_idr = 90000
    db.session.get(Product, sold_out.id).stock = 0
    paper = db.session.scalars(select(Certificate).where(
        Certificate.village_id == revoked.village_id, Certificate.kind == "pirt")).one()
    paper.status = "revoked"
    db.session.get(Village, suspended.village_id).active = False
    db.session.get(Product, refused.id).review_status = "rejected"
    db.session.commit()
    result = sync()
    assert (result.changed, sorted(result.delisted), result.listed) == (
        [priced.id, sold_out.id], sorted([revoked.id, suspended.id, refused.id]), [])
    new = messages()[6:]
    assert events_by_product(new) == {("product.changed", priced.id), ("product.changed", sold_out.id),
                                      ("product.delisted", revoked.id), ("product.delisted", suspended.id),
                                      ("product.delisted", refused.id)}
    data = {json.loads(m.payload)["data"]["id"]: json.loads(m.payload)["data"] for m in new}
    assert data[priced.id]["price_idr"] == 90000 and data[sold_out.id]["in_stock"] is False
    assert all(set(data[i]) == {"id", "sku", "status", "removed_at", "cursor"}
               for i in (revoked.id, suspended.id, refused.id)), "never why"
    assert kept.id not in data

    db.session.get(Village, suspended.village_id).active = True  # reinstated: listed again
    db.session.commit()
    assert sync().listed == [suspended.id]


def test_while_nothing_changes_the_minute_costs_two_reads_and_writes_nothing(app, partners, count_queries):
    make_sellable_food()
    partners()
    sync()
    with count_queries() as counter:
        assert sync().skipped
    assert counter.count <= 2, counter.statements
    assert not any(s.lstrip().upper().startswith(("INSERT", "UPDATE")) for s in counter.statements)
    assert len(messages()) == 1


def test_a_sync_that_lost_the_race_gives_way(app):
    make_sellable_food()
    sync()
    seq = db.session.get(CatalogueSyncState, 1).seq
    db.session.commit()
    make_sellable_food()
    sync()
    with unit_of_work():
        assert _take(seq, clock.now_utc()) is False  # another run moved the snapshot on
        assert _take(seq + 1, clock.now_utc()) is True


def test_a_partner_whose_webhook_is_off_is_not_called(app, partners):
    make_sellable_food()
    partner = partners()
    sync()
    with unit_of_work():
        deactivate_partner_webhook(partner.id)
    assert [m.status for m in messages()] == ["failed"]
    make_sellable_food()
    sync()
    assert len(messages()) == 1  # nothing new queued for it
    assert deliver_due() == {} and partner.calls == []


def test_an_order_changes_stock_only_and_only_those_products_are_compared(app, partners, monkeypatch):
    coffee, honey = make_sellable_food(stock=5), make_sellable_food(category_code="gula-madu", stock=5)
    partners()
    sync()
    monkeypatch.setattr(sync_module, "_diff", lambda *args: pytest.fail("stock alone needs no full comparison"))
    # As checkout reserves stock: a conditional UPDATE of stock alone (the listing version holds).
    db.session.execute(Product.__table__.update().where(Product.id == coffee.id, Product.stock >= 5)
                       .values(stock=Product.stock - 5))
    db.session.commit()
    result = sync()
    assert (result.changed, result.listed, result.delisted) == ([coffee.id], [], [])
    data = json.loads(messages("product.changed")[0].payload)["data"]
    assert (data["id"], data["stock"], data["in_stock"], data["status"]) == (coffee.id, 0, False, "listed")
    assert honey.id not in {json.loads(m.payload)["data"]["id"] for m in messages("product.changed")}
