"""A village's order feeds (Atom, JSON Feed 1.1, CSV) at a secret address, and the portal page
that shows and rotates it."""
import codecs
import csv
import io
import json
import re
import secrets
import uuid
import xml.etree.ElementTree as ET
from datetime import datetime, timedelta, timezone
from itertools import count
from urllib.parse import urlsplit

import pytest
from sqlalchemy import select

from storefront.clock import now_utc
from storefront.extensions import db
from storefront.feeds import routes as feed_routes
from storefront.feeds.services import rotate_feed_token
from storefront.orders.models import Order, OrderLine, VillageOrder
from storefront.villages.models import Village

from .conftest import csrf_token
from .factories import make_user, make_village, sign_in

ATOM = "{http://www.w3.org/2005/Atom}"
KINDS = ("atom", "json", "csv")
BASE = now_utc().replace(microsecond=0) - timedelta(days=3)
_seq = count(1)


# --- building orders --------------------------------------------------------------------------

def make_order(payment_method="bank_transfer", status="paid", hold_reason=None, **fields):
    n = next(_seq)
    values = dict(
        number=f"NTT-TEST-{n:04d}", idempotency_key=secrets.token_hex(16),
        access_token_hash=secrets.token_hex(32), name=f"Pembeli {n}", email=f"pembeli{n}@contoh.id",
        phone="+6281234500000", province="Nusa Tenggara Timur", regency="Kota Kupang",
        district="Oebobo", village_ward="Oebufu", postal_code="85111", street="Jl. Eltari No. 7",
        payment_method=payment_method, status=status, hold_reason=hold_reason,
        subtotal_idr=0, shipping_idr=0, total_idr=0,
        stripe_payment_intent="pi_SECRET_intent" if payment_method == "stripe" else None)
    values.update(fields)
    order = Order(**values)
    db.session.add(order)
    db.session.flush()
    return order


def add_parcel(order, village, status="paid", minutes=0, lines=(("SKU-KOPI", "Kopi Bajawa", 85000, 2),),
               **fields):
    """A parcel of ``village`` in ``order``, last changed ``minutes`` after BASE."""
    moment = BASE + timedelta(minutes=minutes)
    parcel = VillageOrder(
        order_id=order.id, village_id=village.id, village_name=village.name, status=status,
        weight_grams=500, chargeable_kg=1, zone="ntt",
        subtotal_idr=sum(price * qty for _, _, price, qty in lines), shipping_idr=25000,
        created_at=moment - timedelta(minutes=1), updated_at=moment, **fields)
    db.session.add(parcel)
    db.session.flush()
    for sku, name, price, qty in lines:
        db.session.add(OrderLine(village_order_id=parcel.id, sku=sku, name=name,
                                 village_name=village.name, price_idr=price, quantity=qty,
                                 weight_grams=250))
    db.session.commit()
    return parcel


def parcel(village, status="paid", payment_method="bank_transfer", minutes=0, **fields):
    order_status = "awaiting_payment" if status == "awaiting_payment" else "paid"
    return add_parcel(make_order(payment_method, order_status), village, status, minutes, **fields)


def with_token(village):
    rotate_feed_token(village.id)
    db.session.commit()
    return village.feed_token


def url(village_or_token, kind, **args):
    token = village_or_token if isinstance(village_or_token, str) else village_or_token.feed_token
    query = "&".join(f"{k}={v}" for k, v in args.items())
    return f"/feed/{token}/orders.{kind}" + (f"?{query}" if query else "")


# --- reading the three formats the same way ---------------------------------------------------

def parcel_ids(response, kind):
    """The parcel ids of a feed response, in the order given."""
    assert response.status_code == 200, response.get_data(as_text=True)
    if kind == "json":
        return [item["_ntt_parcel"]["parcel_id"] for item in response.get_json(force=True)["items"]]
    if kind == "atom":
        text = [e.find(f"{ATOM}content").text for e in ET.fromstring(response.data).iter(f"{ATOM}entry")]
        return [int(re.search(r"paket (\d+)", t).group(1)) for t in text]
    ids = []
    for row in csv_rows(response):
        if int(row["parcel_id"]) not in ids:
            ids.append(int(row["parcel_id"]))
    return ids


def csv_rows(response):
    assert response.data.startswith(codecs.BOM_UTF8)
    return list(csv.DictReader(io.StringIO(response.data.decode("utf-8-sig"), newline="")))


@pytest.fixture
def two_villages(app):
    """Village A with parcels in every visibility case, village B with its own; one order has both."""
    a, b = make_village(name="Beiposo"), make_village(name="Wolomeze")
    with_token(a)
    with_token(b)
    shared = make_order("stripe", "paid")
    w = type("World", (), {})()
    w.a, w.b = a, b
    w.a_shared = add_parcel(shared, a, "accepted", minutes=10)
    w.b_shared = add_parcel(shared, b, "paid", minutes=11, lines=(("SKU-TENUN", "Tenun Ikat Sumba", 1500000, 1),))
    w.a_paid = parcel(a, "paid", minutes=20)
    w.a_shipped = parcel(a, "shipped", minutes=5, courier="JNE", tracking_number="JNE123456789")
    w.a_cod = parcel(a, "awaiting_payment", "cod", minutes=30)
    w.a_unpaid = parcel(a, "awaiting_payment", "bank_transfer", minutes=40)
    w.a_unpaid_card = parcel(a, "awaiting_payment", "stripe", minutes=41)
    w.a_held = add_parcel(make_order("bank_transfer", "paid", hold_reason="Izin PIRT kedaluwarsa"), a, "paid",
                          minutes=42)
    w.a_cancelled = parcel(a, "cancelled", minutes=1, status_reason="Stok habis")
    w.b_own = parcel(b, "paid", minutes=50, lines=(("SKU-MADU", "Madu Hutan Timor", 120000, 1),))
    return w


# --- who sees what ----------------------------------------------------------------------------

@pytest.mark.parametrize("kind", KINDS)
def test_feed_lists_own_visible_parcels_newest_first(client, two_villages, kind):
    w = two_villages
    response = client.get(url(w.a, kind))
    assert parcel_ids(response, kind) == [w.a_cod.id, w.a_paid.id, w.a_shared.id, w.a_shipped.id,
                                          w.a_cancelled.id]
    body = response.get_data(as_text=True)
    for secret in ("Tenun Ikat Sumba", "SKU-TENUN", "Madu Hutan Timor", "stripe", "bank_transfer",
                   "pi_SECRET_intent", "@contoh.id", "Wolomeze"):
        assert secret not in body, secret
    assert response.headers["Cache-Control"] in ("private, no-cache", "no-cache, private")


def test_village_b_sees_its_parcels_only(client, two_villages):
    w = two_villages
    assert parcel_ids(client.get(url(w.b, "json")), "json") == [w.b_own.id, w.b_shared.id]
    body = client.get(url(w.b, "csv")).get_data(as_text=True)
    assert "Kopi Bajawa" not in body and "Tenun Ikat Sumba" in body


def test_payment_is_only_cod_or_prepaid(client, two_villages):
    w = two_villages
    items = {i["_ntt_parcel"]["parcel_id"]: i["_ntt_parcel"] for i in client.get(url(w.a, "json")).get_json(force=True)["items"]}
    assert items[w.a_cod.id]["payment_method"] == "cod"
    assert items[w.a_shared.id]["payment_method"] == "prepaid"
    assert {row["payment"] for row in csv_rows(client.get(url(w.a, "csv")))} == {"cod", "prepaid"}


# --- tokens -----------------------------------------------------------------------------------

@pytest.mark.parametrize("kind", KINDS)
def test_wrong_rotated_and_missing_tokens_are_404(client, two_villages, kind):
    w = two_villages
    old = w.a.feed_token
    assert client.get(url(old, kind)).status_code == 200
    one_character_off = ("y" if old[0] == "x" else "x") + old[1:]
    assert client.get(url(one_character_off, kind)).status_code == 404
    assert client.get(url(old.upper(), kind)).status_code == 404
    assert client.get(url("a" * 200, kind)).status_code == 404
    assert client.get(url("None", kind)).status_code == 404
    new = with_token(db.session.get(Village, w.a.id))
    assert new != old
    assert client.get(url(old, kind)).status_code == 404
    assert client.get(url(new, kind)).status_code == 200
    # A village without a token has no feed at all; its neighbours' feeds are untouched.
    make_village()
    assert client.get(url(w.b, kind)).status_code == 200


def test_suspended_village_feed_is_404_like_an_unknown_one(client, two_villages):
    w = two_villages
    unknown = client.get(url("no-such-token", "json"))
    w.a.active = False
    db.session.commit()
    suspended = client.get(url(w.a, "json"))
    assert suspended.status_code == unknown.status_code == 404
    # The same page, but for the address itself (the language links carry it).
    assert suspended.data.replace(w.a.feed_token.encode(), b"no-such-token") == unknown.data


# --- since, paging ----------------------------------------------------------------------------

def _iso(moment):
    return moment.isoformat().replace("+", "%2B")


@pytest.mark.parametrize("kind", KINDS)
def test_since_returns_parcels_changed_after_it(client, two_villages, kind):
    w = two_villages
    since = BASE + timedelta(minutes=10)  # a_shared changed exactly then: not after it
    assert parcel_ids(client.get(url(w.a, kind, since=_iso(since))), kind) == [w.a_cod.id, w.a_paid.id]
    # The same moment written in WITA, naive (= UTC), with Z, and with a "+" that a query string
    # turned into a space.
    wita = since.astimezone(timezone(timedelta(hours=8)))
    for written in (_iso(wita), since.replace(tzinfo=None).isoformat(),
                    since.strftime("%Y-%m-%dT%H:%M:%SZ"), wita.isoformat().replace("+", " ")):
        assert parcel_ids(client.get(url(w.a, kind, since=written)), kind) == [w.a_cod.id, w.a_paid.id], written
    assert parcel_ids(client.get(url(w.a, kind, since=_iso(BASE + timedelta(days=1)))), kind) == []


@pytest.mark.parametrize("bad", ["yesterday", "2026-13-01", "1", "0001-01-01T00:00:00%2B08:00",
                                 "2026-11-29T25:00", "%F0%9F%98%80"])
def test_bad_since_is_a_clear_400(client, two_villages, bad):
    response = client.get(url(two_villages.a, "json", since=bad))
    assert response.status_code == 400
    assert response.mimetype == "text/plain"
    assert "since" in response.get_data(as_text=True) and "ISO 8601" in response.get_data(as_text=True)


def test_bad_since_on_an_unknown_token_is_still_404(client):
    assert client.get(url("nope", "json", since="yesterday")).status_code == 404


def test_bad_cursor_is_400(client, two_villages):
    for bad in ("42", "garbage,1", "2026-11-29T00:00:00Z,x"):
        response = client.get(url(two_villages.a, "atom", before=bad))
        assert response.status_code == 400 and "before" in response.get_data(as_text=True)


@pytest.mark.parametrize("kind", KINDS)
def test_a_long_feed_pages_through_next_links_without_gaps(client, two_villages, monkeypatch, kind):
    w = two_villages
    monkeypatch.setattr(feed_routes, "LIMIT", 2)
    # Two parcels changed at the same instant: the cursor must not skip or repeat either.
    twin = parcel(w.a, "packed", minutes=20)
    expected = [w.a_cod.id, twin.id, w.a_paid.id, w.a_shared.id, w.a_shipped.id, w.a_cancelled.id]
    seen, link, pages = [], url(w.a, kind), 0
    while link:
        response = client.get(link)
        seen += parcel_ids(response, kind)
        pages += 1
        link = _next_link(response, kind)
        assert pages <= 4
    assert seen == expected and pages == 3
    # Paging keeps ``since``.
    since = _iso(BASE + timedelta(minutes=6))
    first = client.get(url(w.a, kind, since=since))
    assert parcel_ids(first, kind) == [w.a_cod.id, twin.id]
    second = client.get(_next_link(first, kind))
    assert parcel_ids(second, kind) == [w.a_paid.id, w.a_shared.id]
    assert _next_link(second, kind) is None


def _next_link(response, kind):
    if kind == "json":
        link = response.get_json(force=True).get("next_url")
    elif kind == "atom":
        links = [l for l in ET.fromstring(response.data).findall(f"{ATOM}link") if l.get("rel") == "next"]
        link = links[0].get("href") if links else None
    else:
        header = response.headers.get("Link")
        link = re.match(r"<([^>]+)>; rel=\"next\"", header).group(1) if header else None
    if link is None:
        return None
    parts = urlsplit(link)
    assert parts.netloc == "shop.test"
    return f"{parts.path}?{parts.query}"


# --- conditional requests ---------------------------------------------------------------------

@pytest.mark.parametrize("kind", KINDS)
def test_the_etag_answers_304_until_a_parcel_changes(client, two_villages, count_queries, kind):
    w = two_villages
    first = client.get(url(w.a, kind))
    etag = first.headers["ETag"]
    # No Last-Modified: whole seconds cannot tell a change made in the second of the last poll.
    assert "Last-Modified" not in first.headers
    modified = "Fri, 01 Jan 2100 00:00:00 GMT"
    assert etag.startswith('"') and not etag.startswith("W/")
    address = url(w.a, kind)
    with count_queries() as counter:
        again = client.get(address, headers={"If-None-Match": etag})
    assert again.status_code == 304 and again.data == b""
    assert again.headers["ETag"] == etag
    assert counter.count <= 2, "a 304 should need only the token and one narrow query"
    # If-Modified-Since alone never answers 304, whatever date it names.
    assert client.get(url(w.a, kind), headers={"If-Modified-Since": modified}).status_code == 200
    # Each format, and each ``since``, has its own tag.
    others = {client.get(url(w.a, k)).headers["ETag"] for k in KINDS}
    assert len(others) == 3
    assert client.get(url(w.a, kind, since=_iso(BASE))).headers["ETag"] != etag

    row = db.session.get(VillageOrder, w.a_shipped.id)
    row.status = "delivered"
    db.session.commit()
    changed = client.get(url(w.a, kind), headers={"If-None-Match": etag, "If-Modified-Since": modified})
    assert changed.status_code == 200
    assert changed.headers["ETag"] != etag
    assert parcel_ids(changed, kind)[0] == w.a_shipped.id
    assert client.get(url(w.a, kind), headers={"If-None-Match": changed.headers["ETag"]}).status_code == 304


def test_another_villages_change_keeps_the_304(client, two_villages):
    w = two_villages
    etag = client.get(url(w.a, "json")).headers["ETag"]
    row = db.session.get(VillageOrder, w.b_own.id)
    row.status = "accepted"
    db.session.commit()
    assert client.get(url(w.a, "json"), headers={"If-None-Match": etag}).status_code == 304


def test_a_parcel_becoming_visible_changes_the_etag(client, two_villages):
    """A paid bank transfer appears in the feed (its parcel's updated_at moves)."""
    w = two_villages
    etag = client.get(url(w.a, "json")).headers["ETag"]
    row = db.session.get(VillageOrder, w.a_unpaid.id)
    row.status = "paid"
    db.session.commit()
    response = client.get(url(w.a, "json"), headers={"If-None-Match": etag})
    assert response.status_code == 200 and parcel_ids(response, "json")[0] == w.a_unpaid.id


# --- the formats ------------------------------------------------------------------------------

RFC3339 = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)$")
ATOM_FEED_CHILDREN = {"author", "category", "contributor", "generator", "icon", "id", "link", "logo",
                      "rights", "subtitle", "title", "updated", "entry"}
ATOM_ENTRY_CHILDREN = {"author", "category", "content", "contributor", "id", "link", "published",
                       "rights", "source", "summary", "title", "updated"}


def _date_construct(element):
    assert element is not None and element.text and RFC3339.match(element.text), element
    assert element.text.endswith("+08:00"), "feeds speak WITA"
    return datetime.fromisoformat(element.text)


def _one(parent, name):
    found = parent.findall(f"{ATOM}{name}")
    assert len(found) == 1, f"{parent.tag} must contain exactly one atom:{name}"
    return found[0]


def _iri(value):
    parts = urlsplit(value)
    assert parts.scheme, f"not an absolute IRI: {value}"
    return value


def _links(parent):
    links = parent.findall(f"{ATOM}link")
    for link in links:
        _iri(link.get("href"))
    alternates = [(l.get("type"), l.get("hreflang")) for l in links if l.get("rel", "alternate") == "alternate"]
    assert len(alternates) == len(set(alternates)), "at most one alternate link per type and language"
    return {l.get("rel", "alternate"): l for l in links}


def _text_construct(element):
    assert element.get("type", "text") in ("text", "html", "xhtml")
    assert element.get("type", "text") != "xhtml" or len(element) == 1
    return element


def test_atom_is_valid_rfc_4287(client, two_villages):
    """The RFC's requirements (sections 4.1.1, 4.1.2, 4.2), checked on a real parse."""
    w = two_villages
    response = client.get(url(w.a, "atom"))
    assert response.mimetype == "application/atom+xml"
    assert response.data.startswith(b"<?xml version='1.0' encoding='utf-8'?>")
    feed = ET.fromstring(response.data)
    assert feed.tag == f"{ATOM}feed"
    assert feed.get("{http://www.w3.org/XML/1998/namespace}lang") == "id"
    for child in feed:
        assert child.tag.startswith(ATOM) and child.tag[len(ATOM):] in ATOM_FEED_CHILDREN, child.tag
    feed_id = _iri(_one(feed, "id").text)
    assert feed_id.startswith("urn:uuid:") and uuid.UUID(feed_id[9:])
    assert w.a.feed_token not in feed_id, "the feed's identity must survive a token rotation"
    assert _text_construct(_one(feed, "title")).text == "Pesanan Beiposo — Produk Desa NTT"
    updated = _date_construct(_one(feed, "updated"))
    links = _links(feed)
    assert links["self"].get("href") == f"http://shop.test/feed/{w.a.feed_token}/orders.atom"
    assert links["alternate"].get("href") == "http://shop.test/portal/pesanan"
    assert _one(_one(feed, "author"), "name").text  # a feed author covers every entry

    entries = feed.findall(f"{ATOM}entry")
    assert len(entries) == 5
    ids, times = set(), []
    for entry in entries:
        for child in entry:
            assert child.tag.startswith(ATOM) and child.tag[len(ATOM):] in ATOM_ENTRY_CHILDREN, child.tag
        entry_id = _iri(_one(entry, "id").text)
        assert entry_id.startswith("urn:uuid:") and uuid.UUID(entry_id[9:])
        ids.add(entry_id)
        assert _text_construct(_one(entry, "title")).text.startswith("Pesanan NTT-TEST-")
        times.append(_date_construct(_one(entry, "updated")))
        assert _date_construct(_one(entry, "published")) <= times[-1]
        content = _text_construct(_one(entry, "content"))
        assert content.get("src") is None and content.text.strip()
        assert re.fullmatch(r"http://shop\.test/portal/pesanan/\d+", _links(entry)["alternate"].get("href"))
        for category in entry.findall(f"{ATOM}category"):
            assert category.get("term")
    assert len(ids) == len(entries), "entry ids are unique"
    assert times == sorted(times, reverse=True) and updated >= times[0]
    # An entry's id is stable: the same parcel keeps it after a change and a new token.
    first_id = _one(entries[0], "id").text
    with_token(db.session.get(Village, w.a.id))
    row = db.session.get(VillageOrder, w.a_cod.id)
    row.status = "accepted"
    db.session.commit()
    again = ET.fromstring(client.get(url(db.session.get(Village, w.a.id), "atom")).data)
    assert _one(again.find(f"{ATOM}entry"), "id").text == first_id
    assert _one(again, "id").text == feed_id


def test_atom_content_is_escaped_and_xml_safe(client, app):
    village = make_village(name='Desa <Uji> & "Kutip"')
    with_token(village)
    parcel(village, lines=(("SKU-1", "Kain <b>tenun</b> & selendang\x0b\x01", 100000, 1),))
    response = client.get(url(village, "atom"))
    feed = ET.fromstring(response.data)  # a control character would make this fail
    assert "Desa <Uji> & \"Kutip\"" in feed.find(f"{ATOM}title").text
    assert "Kain <b>tenun</b> & selendang" in feed.find(f"{ATOM}entry/{ATOM}content").text
    assert b"<b>" not in response.data


def _check_json_feed_1_1(feed):
    """The JSON Feed 1.1 spec as a small schema: required fields, types, known keys."""
    problems = []

    def check(obj, where, fields, required):
        if not isinstance(obj, dict):
            problems.append(f"{where} is not an object")
            return
        for key in required:
            if key not in obj:
                problems.append(f"{where}.{key} is required")
        for key, value in obj.items():
            if key.startswith("_"):
                if not isinstance(value, dict):
                    problems.append(f"{where}.{key}: extensions are objects")
                continue
            if key not in fields:
                problems.append(f"{where}.{key} is not in JSON Feed 1.1")
            elif not fields[key](value):
                problems.append(f"{where}.{key} has the wrong type: {value!r}")

    string = lambda v: isinstance(v, str)  # noqa: E731
    url_ = lambda v: isinstance(v, str) and bool(urlsplit(v).scheme in ("http", "https"))  # noqa: E731
    date = lambda v: isinstance(v, str) and bool(RFC3339.match(v))  # noqa: E731
    boolean = lambda v: isinstance(v, bool)  # noqa: E731
    author_fields = {"name": string, "url": url_, "avatar": url_}
    authors = lambda v: isinstance(v, list) and all(  # noqa: E731
        isinstance(a, dict) and set(a) <= set(author_fields) and a for a in v)
    check(feed, "feed", {
        "version": lambda v: v == "https://jsonfeed.org/version/1.1", "title": string,
        "home_page_url": url_, "feed_url": url_, "description": string, "user_comment": string,
        "next_url": url_, "icon": url_, "favicon": url_, "authors": authors, "language": string,
        "expired": boolean, "hubs": lambda v: isinstance(v, list),
        "items": lambda v: isinstance(v, list)}, ("version", "title", "items"))
    for i, item in enumerate(feed.get("items", [])):
        check(item, f"items[{i}]", {
            "id": string, "url": url_, "external_url": url_, "title": string, "content_html": string,
            "content_text": string, "summary": string, "image": url_, "banner_image": url_,
            "date_published": date, "date_modified": date, "authors": authors,
            "tags": lambda v: isinstance(v, list) and all(isinstance(t, str) for t in v),
            "language": string, "attachments": lambda v: isinstance(v, list)}, ("id",))
        if isinstance(item, dict) and not ({"content_html", "content_text"} & set(item)):
            problems.append(f"items[{i}] needs content_html or content_text")
    return problems


def test_json_feed_is_valid_1_1(client, two_villages):
    w = two_villages
    response = client.get(url(w.a, "json"))
    assert response.mimetype == "application/feed+json"
    assert response.mimetype_params.get("charset") == "utf-8"
    feed = json.loads(response.data.decode("utf-8"))
    assert _check_json_feed_1_1(feed) == []
    assert feed["feed_url"] == f"http://shop.test/feed/{w.a.feed_token}/orders.json"
    assert "next_url" not in feed
    ids = [item["id"] for item in feed["items"]]
    assert len(set(ids)) == len(ids) == 5
    for item in feed["items"]:
        assert item["date_modified"].endswith("+08:00")
        assert item["url"] == item["_ntt_parcel"]["url"]
    shipped = next(i["_ntt_parcel"] for i in feed["items"] if i["_ntt_parcel"]["parcel_id"] == w.a_shipped.id)
    assert shipped["courier"] == "JNE" and shipped["tracking_number"] == "JNE123456789"
    assert shipped["lines"] == [{"sku": "SKU-KOPI", "name": "Kopi Bajawa", "quantity": 2,
                                 "price_idr": 85000, "total_idr": 170000}]
    # The checker itself catches what the spec forbids.
    assert _check_json_feed_1_1({"version": "1.1", "items": [{"title": 1}]})


def test_empty_feed_is_valid_in_every_format(client, app):
    village = make_village()
    with_token(village)
    assert _check_json_feed_1_1(client.get(url(village, "json")).get_json(force=True)) == []
    feed = ET.fromstring(client.get(url(village, "atom")).data)
    _date_construct(_one(feed, "updated"))
    assert feed.findall(f"{ATOM}entry") == []
    response = client.get(url(village, "csv"))
    assert csv_rows(response) == [] and response.headers["ETag"]


def test_csv_has_one_row_per_line_and_opens_in_excel(client, app):
    village = make_village(name="Nggela", slug="nggela")
    with_token(village)
    two = parcel(village, lines=(("SKU-A", "Selendang Ikat Lio", 450000, 1), ("SKU-B", "Kopi Flores", 60000, 3)))
    response = client.get(url(village, "csv"))
    assert response.mimetype == "text/csv"
    assert response.headers["Content-Disposition"] == 'attachment; filename="pesanan-nggela.csv"'
    rows = csv_rows(response)
    assert [(r["sku"], r["quantity"], r["price_idr"], r["total_idr"]) for r in rows] == [
        ("SKU-A", "1", "450000", "450000"), ("SKU-B", "3", "60000", "180000")]
    first = rows[0]
    assert first["parcel_id"] == str(two.id) and first["status"] == "paid"
    assert first["ship_to_street"] == "Jl. Eltari No. 7" and first["ship_to_postal_code"] == "85111"
    assert first["updated_at"].endswith("+08:00")
    assert list(rows[0]) == list(feed_routes.formats.CSV_COLUMNS)


def test_csv_cells_cannot_run_as_formulas(client, app):
    village = make_village()
    with_token(village)
    order = make_order(name="=HYPERLINK(\"http://evil.example\",\"klik\")", street="@SUM(A1:A9)",
                       district="-2+3", village_ward="\tTab")
    add_parcel(order, village, lines=(("+SKU", "=cmd|' /C calc'!A0", 1000, 1),))
    rows = csv_rows(client.get(url(village, "csv")))
    for column in ("ship_to_name", "ship_to_street", "ship_to_district", "ship_to_village_ward", "sku", "name",
                   "ship_to_phone"):
        assert rows[0][column].startswith("'"), column
    assert rows[0]["ship_to_name"] == "'=HYPERLINK(\"http://evil.example\",\"klik\")"
    for row in rows:
        for value in row.values():
            assert not value.startswith(("=", "+", "-", "@", "\t", "\r")), value


# --- few queries ------------------------------------------------------------------------------

@pytest.mark.parametrize("kind", KINDS)
def test_feed_queries_do_not_grow_with_parcels(client, app, count_queries, kind):
    village = make_village()
    with_token(village)
    parcel(village)

    address = url(village, kind)

    def queries():
        with count_queries() as counter:
            assert client.get(address).status_code == 200
        return counter.count

    small = queries()
    for i in range(12):
        parcel(village, ["paid", "shipped", "awaiting_payment"][i % 3], "cod" if i % 3 == 2 else "stripe",
               minutes=i, courier="JNE", tracking_number=f"JNE{i:09d}",
               lines=(("SKU-1", "Kopi", 1000, 1), ("SKU-2", "Madu", 2000, 2)))
    assert queries() == small <= 4  # token, aggregate, parcels with orders, lines


# --- the portal page --------------------------------------------------------------------------

def _member(client, village):
    return sign_in(client, make_user("village_member", village=village))


def test_member_creates_and_rotates_own_feed_addresses(client, app):
    village = make_village()
    _member(client, village)
    page = client.get("/portal/umpan")
    assert page.status_code == 200 and page.headers["Cache-Control"] == "no-store"
    assert "/feed/" not in page.get_data(as_text=True)

    response = client.post("/portal/umpan/token-baru", data={"csrf_token": csrf_token(page.get_data(as_text=True))})
    assert response.status_code == 303 and response.headers["Location"].endswith("/portal/umpan")
    first = db.session.scalar(select(Village.feed_token).where(Village.id == village.id))
    assert first and len(first) >= 43
    html = client.get("/portal/umpan").get_data(as_text=True)
    for kind in KINDS:
        assert f"http://shop.test/feed/{first}/orders.{kind}" in html
    assert "%2B08:00" in html  # the example keeps its escaped plus
    assert client.get(url(first, "json")).status_code == 200

    unconfirmed = client.post("/portal/umpan/token-baru", data={"csrf_token": csrf_token(html)},
                              follow_redirects=True).get_data(as_text=True)
    assert "Tidak ada yang berubah" in unconfirmed
    assert db.session.scalar(select(Village.feed_token).where(Village.id == village.id)) == first
    response = client.post("/portal/umpan/token-baru", data={"csrf_token": csrf_token(html), "confirm": "y"},
                           follow_redirects=True)
    text = response.get_data(as_text=True)
    second = db.session.scalar(select(Village.feed_token).where(Village.id == village.id))
    assert second != first and second in text
    assert "no longer work" in text or "tidak berlaku" in text.lower() or "tidak lagi" in text.lower()
    assert client.get(url(first, "json")).status_code == 404
    assert client.get(url(second, "json")).status_code == 200


def test_rotating_needs_the_csrf_token(client, app):
    village = make_village()
    _member(client, village)
    assert client.post("/portal/umpan/token-baru", data={}).status_code == 400
    assert db.session.scalar(select(Village.feed_token).where(Village.id == village.id)) is None


def test_member_of_b_rotates_only_b(client, two_villages):
    w = two_villages
    a_token, b_token = w.a.feed_token, w.b.feed_token
    _member(client, w.b)
    page = client.get("/portal/umpan").get_data(as_text=True)
    assert a_token not in page and b_token in page
    client.post("/portal/umpan/token-baru", data={"csrf_token": csrf_token(page), "confirm": "y"})
    tokens = dict(db.session.execute(select(Village.id, Village.feed_token)).all())
    assert tokens[w.a.id] == a_token
    assert tokens[w.b.id] != b_token


@pytest.mark.parametrize("role", ["customer", "verifier", "admin"])
def test_only_members_reach_the_feed_page(client, app, role):
    sign_in(client, make_user(role))
    assert client.get("/portal/umpan").status_code == 403
    assert client.post("/portal/umpan/token-baru", data={}).status_code in (400, 403)


def test_anonymous_visitor_is_sent_to_sign_in(client, app):
    assert client.get("/portal/umpan").status_code == 302


@pytest.mark.parametrize("courier, tracking, says", [
    ("JNE", "JNE0123456789", "Kurir: JNE, resi JNE0123456789"),
    ("Kurir Desa Wae Rebo", None, "Kurir: Kurir Desa Wae Rebo"),
    ("village", None, "Diantar sendiri oleh desa"),
    (None, None, None),
])
def test_the_feed_text_says_how_the_parcel_travels(courier, tracking, says):
    from storefront.feeds.formats import item_text

    doc = {"order_number": "NTT-261203-AB12", "parcel_id": 1, "status": "shipped", "status_reason": None,
           "payment_method": "prepaid", "created_at": None, "updated_at": None, "lines": [],
           "subtotal_idr": 0, "shipping_idr": 0, "weight_grams": 0,
           "ship_to": {"name": "A", "phone": "+62", "street": "Jl.", "village_ward": "W", "district": "D",
                       "regency": "R", "province": "P", "postal_code": "80113"},
           "courier": courier, "tracking_number": tracking, "url": "https://shop.test/x"}
    text = item_text(doc)
    if says:
        assert text.rstrip().endswith(says)
    else:
        assert "Kurir" not in text and "Diantar" not in text


def test_rotating_existing_addresses_asks_first_and_changes_nothing_without_it(client, two_villages):
    w = two_villages
    _member(client, w.a)
    page = client.get("/portal/umpan").get_data(as_text=True)
    assert 'name="confirm"' in page and f'href="http://shop.test/feed/{w.a.feed_token}/orders.csv"' in page
    answer = client.post("/portal/umpan/token-baru", data={"csrf_token": csrf_token(page)})
    assert answer.status_code == 303
    assert db.session.scalar(select(Village.feed_token).where(Village.id == w.a.id)) == w.a.feed_token
