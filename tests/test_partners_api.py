"""Partners' API keys (made, hashed, shown once, rotated, revoked, limited, audited) and the
catalogue API's ``changed_since`` across hiding and showing again; the office's partner pages."""
import hashlib
import html as htmllib
import re
from datetime import timedelta

import pytest
from sqlalchemy import inspect, select

from storefront import clock
from storefront.extensions import db
from storefront.partners.keys import (ROTATION_OVERLAP, authenticate, hash_key, issue_key, key_prefix,
                                      revoke_key, rotate_key)
from storefront.partners.models import CatalogueEntry, Partner, PartnerKey, PartnerRead
from storefront.partners.services import create_partner
from storefront.partners.sync import sync_catalogue
from storefront.products.models import Product
from storefront.unit_of_work import unit_of_work

from .conftest import csrf_token
from .factories import make_certified_village, make_product, make_sellable_food, make_user, sign_in

API = "/api/v1/products"


def new_partner(name="NTT Mart", limit=120):
    """A partner with one key: ``(partner id, key)``."""
    with unit_of_work():
        partner = create_partner(name, "it@nttmart.example")
        _row, key = issue_key(partner.id, requests_per_minute=limit, actor_name="Kantor")
        partner_id = partner.id
    return partner_id, key


def bearer(key):
    return {"Authorization": f"Bearer {key}"}


def key_row(prefix):
    db.session.expire_all()
    return db.session.scalars(select(PartnerKey).where(PartnerKey.prefix == prefix)).one()


def sync(now=None):
    with unit_of_work():
        return sync_catalogue(now or clock.now_utc())


def text(response):
    return htmllib.unescape(response.get_data(as_text=True))


# --- keys -----------------------------------------------------------------------------------------

def test_a_key_is_kept_only_as_its_prefix_and_hash(app):
    partner_id, key = new_partner()
    prefix = key_prefix(key)
    secret = key[len(prefix) + 1:]
    assert prefix.startswith("mitra_") and len(secret) >= 43
    row = key_row(prefix)
    assert row.key_hash == hashlib.sha256(key.encode()).hexdigest() == hash_key(key)
    stored = [str(getattr(row, column.key)) for column in inspect(PartnerKey).columns]
    assert not any(secret in value for value in stored), "the secret part is stored nowhere"
    assert authenticate(key).id == row.id
    assert authenticate(key[:-1] + ("A" if key[-1] != "A" else "B")) is None
    assert authenticate(prefix + "_" + "x" * 43) is None
    assert authenticate("mitra_") is None and authenticate("") is None and authenticate("x" * 500) is None


def test_anonymous_reading_works_as_before_and_a_key_is_audited(client):
    product = make_sellable_food()
    anonymous = client.get(API)
    assert anonymous.status_code == 200 and [i["sku"] for i in anonymous.json["items"]] == [product.sku]
    assert anonymous.json["items"][0]["id"] == product.id
    assert client.get(API + ".csv").status_code == 200
    assert db.session.scalar(select(PartnerRead.id)) is None

    _partner_id, key = new_partner()
    prefix = key_prefix(key)
    for _ in range(3):
        assert client.get(API, headers=bearer(key)).status_code == 200
    assert client.get(API + ".csv", headers=bearer(key)).status_code == 200
    assert client.get(API + "?changed_since=0", headers=bearer(key)).status_code == 200
    db.session.expire_all()
    reads = {r.endpoint: r.requests for r in db.session.scalars(select(PartnerRead))}
    assert reads == {"products": 3, "products.csv": 1, "changes": 1}
    assert key_row(prefix).last_used_at is not None

    wrong = client.get(API, headers=bearer(key + "x"))
    assert wrong.status_code == 401 and wrong.json["error"] == "invalid_key"
    assert "Bearer" in wrong.headers["WWW-Authenticate"]
    assert client.get(API, headers={"Authorization": "Bearer"}).status_code == 401
    assert client.get(API, headers={"Authorization": "Basic dXNlcjpwYXNz"}).status_code == 401


def test_rotation_keeps_the_old_key_for_a_day_and_revocation_stops_at_once(client, monkeypatch):
    partner_id, old = new_partner()
    old_row = key_row(key_prefix(old))
    with unit_of_work():
        successor, new = rotate_key(partner_id, old_row.id, actor_name="Kantor")
        successor_id = successor.id
    assert key_row(key_prefix(new)).requests_per_minute == old_row.requests_per_minute
    assert client.get(API, headers=bearer(old)).status_code == 200
    assert client.get(API, headers=bearer(new)).status_code == 200

    later = clock.now_utc() + ROTATION_OVERLAP + timedelta(minutes=1)
    monkeypatch.setattr(clock, "now_utc", lambda: later)
    assert client.get(API, headers=bearer(old)).status_code == 401
    assert client.get(API, headers=bearer(new)).status_code == 200

    with unit_of_work():
        assert revoke_key(partner_id, successor_id) is True
    assert client.get(API, headers=bearer(new)).status_code == 401
    with pytest.raises(LookupError):
        revoke_key(partner_id + 1, successor_id)


def test_each_key_has_its_own_limit(client):
    make_sellable_food()
    _a, slow = new_partner("Pasar Daring", limit=3)
    _b, fast = new_partner("NTT Mart", limit=100)
    answers = [client.get(API, headers=bearer(slow)).status_code for _ in range(4)]
    assert answers == [200, 200, 200, 429]
    refused = client.get(API + ".csv", headers=bearer(slow))
    assert refused.status_code == 429 and refused.json["error"] == "rate_limited"
    assert 1 <= int(refused.headers["Retry-After"]) <= 60
    assert "3" in refused.json["message"]
    assert client.get(API, headers=bearer(fast)).status_code == 200  # another key counts on its own
    assert client.get(API).status_code == 200                         # and so does anonymous reading
    db.session.expire_all()
    assert sum(r.requests for r in db.session.scalars(select(PartnerRead))) == 4  # refused reads are not reads


# --- changed_since --------------------------------------------------------------------------------

def changes(client, key, since, **args):
    response = client.get(API, query_string={"changed_since": since, **args}, headers=bearer(key))
    assert response.status_code == 200, response.get_data(as_text=True)
    return response.json


def set_product(product_id, **values):
    product = db.session.get(Product, product_id)
    for name, value in values.items():
        setattr(product, name, value)
    db.session.commit()


def test_changed_since_needs_a_key_and_a_readable_value(client):
    _partner_id, key = new_partner()
    refused = client.get(API + "?changed_since=0")
    assert refused.status_code == 401 and refused.json["error"] == "key_required"
    for bad in ("kemarin", "-1", "1.5", "2026-13-01"):
        answer = client.get(API, query_string={"changed_since": bad}, headers=bearer(key))
        assert answer.status_code == 400, bad
        assert "changed_since" in answer.json["problems"][0]
    mixed = client.get(API + "?changed_since=0&kategori=kopi", headers=bearer(key))
    assert mixed.status_code == 400 and "kategori" in mixed.json["problems"][0]
    huge = changes(client, key, "9" * 18)
    assert huge["items"] == [] and huge["removed"] == [] and huge["cursor"] == "0"


def test_changed_since_across_hiding_and_showing_again(client):
    coffee, honey = make_sellable_food(), make_sellable_food(category_code="gula-madu")
    _partner_id, key = new_partner()
    sync()
    first = changes(client, key, "0")
    assert [i["sku"] for i in first["items"]] == [coffee.sku, honey.sku]
    assert all(i["status"] == "listed" and i["cursor"] for i in first["items"])
    assert first["removed"] == [] and first["next"] is None
    cursor = first["cursor"]
    assert changes(client, key, cursor) == {**changes(client, key, cursor), "items": [], "removed": []}

    set_product(coffee.id, published=False)  # hidden by its village
    sync()
    hidden = changes(client, key, cursor)
    assert hidden["items"] == []
    assert hidden["removed"] == [{"id": coffee.id, "sku": coffee.sku, "status": "not_available",
                                  "removed_at": hidden["removed"][0]["removed_at"], "cursor": hidden["cursor"]}]
    after_hiding = hidden["cursor"]

    set_product(coffee.id, published=True)  # shown again
    set_product(honey.id, stock=0)           # sold out: still sellable, only changed
    sync()
    shown = changes(client, key, after_hiding)
    assert {i["sku"]: i["in_stock"] for i in shown["items"]} == {coffee.sku: True, honey.sku: False}
    assert shown["removed"] == []
    # From the first cursor: each product once, as it is now (not hidden, then shown).
    since_first = changes(client, key, cursor)
    assert sorted(i["sku"] for i in since_first["items"]) == sorted([coffee.sku, honey.sku])
    assert since_first["removed"] == []
    # The full history from 0 pages through with ``next`` and gives each product once.
    seen, page = [], changes(client, key, "0", per_page="1")
    while True:
        seen += [i["sku"] for i in page["items"]] + [r["sku"] for r in page["removed"]]
        if not page["next"]:
            break
        page = client.get(page["next"], headers=bearer(key)).json
    assert sorted(seen) == sorted([coffee.sku, honey.sku])


def test_changed_since_a_time_and_never_the_data_of_an_unsellable_product(client, monkeypatch):
    coffee = make_sellable_food()
    _partner_id, key = new_partner()
    start = clock.now_utc()
    sync(start)
    before = (start - timedelta(seconds=1)).astimezone(clock.WITA).isoformat()
    assert [i["sku"] for i in changes(client, key, before)["items"]] == [coffee.sku]
    assert changes(client, key, (start + timedelta(seconds=1)).isoformat())["items"] == []
    # Hidden, and the minute's sync has not run yet: given as removed, never with its data.
    set_product(coffee.id, review_status="rejected")
    lagging = changes(client, key, "0")
    assert lagging["items"] == [] and [r["id"] for r in lagging["removed"]] == [coffee.id]
    sync()
    assert db.session.get(CatalogueEntry, coffee.id).listed is False


# --- the office's pages ---------------------------------------------------------------------------

def office_client(app, role="verifier"):
    client = app.test_client()
    sign_in(client, make_user(role))
    assert client.get("/bahasa/en").status_code == 303
    return client


def post_form(client, page_path, action_path, **data):
    page = text(client.get(page_path))
    return client.post(action_path, data={"csrf_token": csrf_token(page), **data})


def test_the_office_adds_a_partner_and_its_key_is_shown_once(app, client):
    make_sellable_food()
    office = office_client(app)
    answer = post_form(office, "/kantor/mitra", "/kantor/mitra", name="NTT Mart", contact_email="it@nttmart.example")
    assert answer.status_code == 303
    partner = db.session.scalars(select(Partner)).one()
    assert answer.headers["Location"].endswith(f"/kantor/mitra/{partner.id}")
    again = post_form(office, "/kantor/mitra", "/kantor/mitra", name="ntt mart")
    assert again.status_code == 422 and "exists already" in text(again)

    page_path = f"/kantor/mitra/{partner.id}"
    made = post_form(office, page_path, f"{page_path}/kunci", requests_per_minute="30")
    assert made.status_code == 303
    shown = office.get(page_path)
    assert shown.headers["Cache-Control"] == "no-store"
    key = re.search(r'<code id="new-key">([^<]+)</code>', text(shown)).group(1)
    assert "shown only this once" in text(shown)
    assert "new-key" not in text(office.get(page_path)), "the key is shown once"
    assert client.get(API, headers=bearer(key)).status_code == 200
    page = text(office.get(page_path))
    prefix = key_prefix(key)
    assert prefix in page and key not in page and "30 a minute" in page and "never" not in page.split(prefix)[1][:300]
    assert "products" in page  # the audit names what the key read

    refused = post_form(office, page_path, f"{page_path}/kunci", requests_per_minute="0")
    assert refused.status_code == 422 and "from 1 to 6000" in text(refused)

    row = key_row(prefix)
    assert post_form(office, page_path, f"{page_path}/kunci/{row.id}/ganti").status_code == 303
    rotated = text(office.get(page_path))
    successor = re.search(r'<code id="new-key">([^<]+)</code>', rotated).group(1)
    assert successor != key and "works until" in rotated
    assert post_form(office, page_path, f"{page_path}/kunci/{row.id}/cabut").status_code == 303
    assert client.get(API, headers=bearer(key)).status_code == 401
    assert client.get(API, headers=bearer(successor)).status_code == 200
    assert "revoked" in text(office.get(page_path))
    assert office.get("/kantor/mitra/999999").status_code == 404


def test_the_office_sets_a_partners_webhook_https_only(app):
    office = office_client(app, "admin")
    with unit_of_work():
        partner_id = create_partner("NTT Mart").id
    page_path = f"/kantor/mitra/{partner_id}"
    hook = f"{page_path}/webhook"
    for url, message in (("http://nttmart.example/hook", "must start with https://"),
                         ("https://10.0.0.5/hook", "private network"), ("", "Enter the address")):
        refused = post_form(office, page_path, hook, action="save", url=url)
        assert refused.status_code == 422 and message in text(refused), url
    assert db.session.get(Partner, partner_id).webhook_url is None
    assert post_form(office, page_path, hook, action="save", url="https://api.nttmart.example/produk-desa").status_code == 303
    db.session.expire_all()
    partner = db.session.get(Partner, partner_id)
    assert partner.webhook_active and partner.webhook_secret.startswith("whsec_")
    secret = partner.webhook_secret
    assert secret in text(office.get(page_path))
    with unit_of_work():
        other = create_partner("Pasar Lain").id
    taken = post_form(office, f"/kantor/mitra/{other}", f"/kantor/mitra/{other}/webhook", action="save",
                      url="https://api.nttmart.example/produk-desa")
    assert taken.status_code == 422 and "Another partner" in text(taken)
    assert post_form(office, page_path, hook, action="rotate").status_code == 303
    db.session.expire_all()
    assert db.session.get(Partner, partner_id).webhook_secret != secret
    assert post_form(office, page_path, hook, action="deactivate").status_code == 303
    db.session.expire_all()
    assert db.session.get(Partner, partner_id).webhook_active is False
    assert office.post(hook, data={"action": "rotate"}).status_code == 400  # no CSRF token


def test_the_partner_list_is_office_only_and_says_who_uses_keys(app, client, count_queries):
    for n in range(3):
        new_partner(f"Mitra {n}")
    office = office_client(app)
    with count_queries() as counter:
        page = office.get("/kantor/mitra")
    assert page.status_code == 200
    body = text(page)
    assert all(f"Mitra {n}" in body for n in range(3)) and "never" in body
    assert counter.count <= 8, counter.statements
    customer = app.test_client()
    sign_in(customer, make_user("customer"))
    assert customer.get("/kantor/mitra").status_code == 403


def test_the_guide_explains_keys_changes_and_signatures(client):
    page = client.get("/mitra")
    assert page.status_code == 200
    body = text(page)
    for needle in ("Authorization: Bearer", "changed_since", "product.delisted", "X-Desa-Signature",
                   "hmac.compare_digest", "curl", "Retry-After"):
        assert needle in body, needle
    assert "Untuk mitra" in body  # Indonesian first
    client.get("/bahasa/en")
    assert "For partners" in text(client.get("/mitra"))


def test_a_hidden_product_of_another_village_is_never_listed(client):
    village = make_certified_village()
    make_product(village, "tenun")  # cloth needs only the NIB
    make_product(village, "kopi")   # coffee without its P-IRT: not sellable
    _partner_id, key = new_partner()
    sync()
    listed = changes(client, key, "0")
    assert [i["category"] for i in listed["items"]] == ["tenun"]
