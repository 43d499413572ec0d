"""Hostile input: random and malicious data posted to every form and API endpoint.

For every form a valid submission is built and then broken in one field at a time (hostile
text, a number out of range or not a number, a missing field, the field sent twice), with the
rest of the form filled with valid or hostile values. Whatever comes in:

* the answer is never a 500 (nor any 5xx);
* invalid input changes nothing: every table is the same before and after;
* nothing posted comes back unescaped (a value holding ``<`` never appears verbatim in a page).

The Hypothesis tests run on SQLite only (PostgreSQL runs the same code paths; the whole file
stays well under a minute). ``test_stored_script_is_shown_escaped_*`` store scripts through
valid paths and run on both databases.
"""
import html
import io
import re
from datetime import timedelta
from functools import lru_cache
from pathlib import Path

import pytest
from babel.messages.pofile import read_po
from hypothesis import HealthCheck, given, settings, strategies as st
from PIL import Image
from sqlalchemy import select, text
from werkzeug.datastructures import MultiDict
from wtforms.i18n import messages_path

from storefront.clock import today_wita
from storefront.extensions import db
from storefront.products.models import Product

from .browser.language import untranslated
from .conftest import csrf_token
from .factories import office_approves
from .test_access_matrix import ADMIN, ANON, CUSTOMER, MEMBER_A, PASSWORD, VERIFIER, _paid_parcel
from .test_access_public import PublicWorld

SETTINGS = settings(max_examples=30, deadline=None, derandomize=True, database=None,
                    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])

#: Values that have broken shops before.
NASTY = [
    "", " ", "\t\n", "x" * 5000, "9" * 40, "-1", "-99999999999999999999", "0", "1e309", "NaN", "inf",
    "1.5", "0x10", "١٢٣", "<script>alert(1)</script>", "<img src=x onerror=alert(1)>",
    "\"><svg onload=alert(1)>", "' OR '1'='1' --", "'; DROP TABLE users; --", "%00", "\u202eevil",
    "zero\u200bwidth", "\ufeffbom", "😀🇮🇩", "ﷺ", "\u0000", "NUL\x00byte", "../../etc/passwd",
    "javascript:alert(1)", "{{7*7}}", "${7*7}", "%s%s%s", "\ud7ff", "a\r\nSet-Cookie: x=1",
]
hostile_text = st.one_of(
    st.sampled_from(NASTY),
    st.text(st.characters(exclude_categories=("Cs",)), max_size=300),
    st.integers(min_value=-(2 ** 70), max_value=2 ** 70).map(str),
)


def not_a_count(low, high):
    """Text that is not a whole number from ``low`` to ``high``."""
    return st.one_of(
        st.integers(max_value=low - 1).map(str), st.integers(min_value=high + 1).map(str),
        hostile_text.filter(lambda v: not any(c.isdigit() for c in v)))


def no_email():
    return hostile_text.filter(lambda v: "@" not in v or len(v) > 254)


def blank_or_huge(limit):
    return st.one_of(st.sampled_from(["", "   ", "\t"]), st.integers(limit + 1, limit + 3000).map(lambda n: "y" * n))


# --- the state every check compares -------------------------------------------------------------

#: Tables a refused request may still touch: none today. (Listed here if a feature must.)
VOLATILE = set()


def snapshot():
    db.session.rollback()
    db.session.expire_all()
    state = {}
    with db.engine.connect() as conn:
        for table in db.metadata.sorted_tables:
            if table.name not in VOLATILE:
                state[table.name] = sorted(map(repr, conn.execute(table.select()).all()))
    return state


def changed_tables(before, after):
    return sorted(name for name in before if before[name] != after.get(name))


@lru_cache(maxsize=1)
def wtforms_english():
    """WTForms' own messages as the English they are written in (its .pot file), cut at their
    placeholders into phrases of three words or more."""
    with (Path(messages_path()) / "wtforms.pot").open("rb") as handle:
        catalogue = read_po(handle)
    phrases = set()
    for message in catalogue:
        for text_ in (message.id if isinstance(message.id, tuple) else (message.id,)):
            for part in re.split(r"%\(\w+\)[sd]|%s|'", text_ or ""):
                part = " ".join(part.split()).strip(" .:")
                if len(part.split()) >= 3:
                    phrases.add(part)
    return sorted(phrases)


def assert_safe(response, posted):
    """No 5xx; no posted markup verbatim in an HTML page (JSON/CSV carry text as data, served
    with nosniff and a CSP that allows nothing); an Indonesian page says nothing in English,
    the validators' own messages included."""
    assert response.status_code < 500, response.status_code
    if response.mimetype != "text/html":
        return
    body = response.get_data().decode("utf-8", "replace")
    for value in posted:
        if isinstance(value, str) and "<" in value and len(value) > 3:
            assert value not in body, f"{value!r} came back unescaped"
    if '<html lang="id"' in body:
        shown = html.unescape(re.sub(r"<[^>]+>", " ", body))
        for value in posted:  # what the visitor typed is theirs, in any language
            if isinstance(value, str) and value.strip():
                shown = shown.replace(value, " ")
        found = untranslated(shown, "id") + [p for p in wtforms_english() if p in shown]
        assert not found, found


def _values(data):
    items = data.items(multi=True) if isinstance(data, MultiDict) else data.items()
    return [v for _k, v in items if isinstance(v, str)]


# --- the world ---------------------------------------------------------------------------------

@pytest.fixture
def sqlite_only(backend):
    if backend == "postgresql":
        pytest.skip("the Hypothesis abuse runs use SQLite only, to stay fast; "
                    "the stored-script tests below run on PostgreSQL too")


@pytest.fixture
def world(sqlite_only, app, client):
    w = PublicWorld(app)
    w.sellable_id = db.session.scalars(select(Product.id).where(Product.slug == w.sellable_slug)).one()
    return w


def _png():
    out = io.BytesIO()
    Image.new("RGB", (20, 20), (1, 2, 3)).save(out, "PNG")
    return out.getvalue()


class Form:
    """A form: who posts it, from which page, to where; a valid submission; how each field breaks."""

    def __init__(self, role, page, url, valid, breaks, multipart=False, token=True):
        self.role, self.page, self.url, self.valid, self.breaks = role, page, url, valid, breaks
        self.multipart = multipart
        #: False for "Add to cart": its page holds no CSRF token (storefront/same_origin.py).
        self.token = token


def _product_form(w):
    return {"name": "Kopi Uji", "category": str(db.session.scalar(text("SELECT id FROM categories WHERE code='kopi'"))),
            "description": "Kopi.", "price_idr": "85000", "weight_grams": "250", "stock": "5", "published": "y"}


FORMS = {
    "cart add": Form(ANON, lambda w: f"/produk/{w.sellable_slug}", lambda w: "/keranjang/tambah",
                     lambda w: {"product_id": str(w.sellable_id), "quantity": "1"},
                     # Any count from 1 to 999 is a fair request: more than the stock fills the line
                     # to the stock (issue 17), so only what is not such a count is broken.
                     {"quantity": not_a_count(1, 999), "product_id": hostile_text.filter(lambda v: v.strip() != "")},
                     token=False),
    "sign in": Form(ANON, lambda w: "/masuk", lambda w: "/masuk",
                    lambda w: {"email": w.users[CUSTOMER].email, "password": PASSWORD},
                    {"email": no_email(), "password": hostile_text.filter(lambda v: v != PASSWORD)}),
    "sign up": Form(ANON, lambda w: "/daftar", lambda w: "/daftar",
                    lambda w: {"name": "Pembeli", "email": "pembeli.baru@example.org",
                               "password": "kopi-bajawa-enak-sekali", "confirm": "kopi-bajawa-enak-sekali"},
                    {"email": no_email(), "password": st.text(max_size=7), "name": blank_or_huge(120)}),
    "forgot password": Form(ANON, lambda w: "/lupa-sandi", lambda w: "/lupa-sandi",
                            lambda w: {"email": w.users[CUSTOMER].email}, {"email": no_email()}),
    "reset password": Form(ANON, lambda w: f"/reset-sandi/{w.reset_token}", lambda w: f"/reset-sandi/{w.reset_token}",
                           lambda w: {"password": "kopi-bajawa-enak-sekali", "confirm": "kopi-bajawa-enak-sekali"},
                           {"password": st.text(max_size=7), "confirm": hostile_text}),
    "saved address": Form(CUSTOMER, lambda w: "/akun/alamat", lambda w: "/akun/alamat",
                          lambda w: {"name": "Budi", "phone": "0812 3456 7890", "province": "Bali",
                                     "regency": "51.71", "district": "Denpasar Barat", "village_ward": "Dauh Puri",
                                     "postal_code": "80113", "street": "Jl. Gajah Mada 1"},
                          {"postal_code": hostile_text.filter(lambda v: not re.fullmatch(r"\s*\d{5}\s*", v))
                           | st.sampled_from(["10110", "86413", "99999"]),  # 5 digits, not Kota Denpasar's
                           "province": hostile_text.filter(lambda v: v.strip() not in ("Bali", "Nusa Tenggara Timur")),
                           "regency": hostile_text.filter(lambda v: v != "51.71") | st.sampled_from(["53.09", "Denpasar"]),
                           "name": blank_or_huge(120), "street": blank_or_huge(500)}),
    "portal product": Form(MEMBER_A, lambda w: "/portal/produk/baru", lambda w: "/portal/produk/baru",
                           _product_form,
                           {"price_idr": not_a_count(1, 100_000_000), "weight_grams": not_a_count(1, 50_000),
                            "stock": not_a_count(0, 100_000),
                            "category": hostile_text.filter(lambda v: not v.strip().isdigit()),
                            "name": blank_or_huge(200)}),
    "portal paper": Form(MEMBER_A, lambda w: "/portal/dokumen/baru", lambda w: "/portal/dokumen/baru",
                         lambda w: {"kind": "pirt", "number": "P-IRT No. 2105309123456-30",
                                    "issued_on": "2024-01-15",
                                    "expires_on": (today_wita() + timedelta(days=300)).isoformat(),
                                    "products": str(w.pa), "scan": (io.BytesIO(_png()), "scan.png")},
                         {"kind": hostile_text.filter(lambda v: v.strip() not in ("nib", "pirt", "bpom_md", "halal", "trademark", "geographical_indication")),
                          "issued_on": hostile_text.filter(lambda v: not re.fullmatch(r"\s*\d{4}-\d\d-\d\d\s*", v)),
                          "number": blank_or_huge(100),
                          "products": hostile_text.filter(lambda v: not v.strip().isdigit())},
                         multipart=True),
    "portal parcel status": Form(MEMBER_A, lambda w: f"/portal/pesanan/{w.parcel_a}",
                                 lambda w: f"/portal/pesanan/{w.parcel_a}/status",
                                 lambda w: {"to_status": "accepted"},
                                 {"to_status": hostile_text.filter(lambda v: v.strip() not in (
                                     "accepted", "declined", "packed", "shipped", "delivered", "cancelled"))}),
    "portal webhook": Form(MEMBER_A, lambda w: "/portal/webhook", lambda w: "/portal/webhook",
                           lambda w: {"url": "https://desa.example.id/hook"},
                           {"url": hostile_text.filter(lambda v: not v.strip().lower().startswith("https://"))}),
    "office shipping rates": Form(VERIFIER, lambda w: "/kantor/ongkir", lambda w: "/kantor/ongkir",
                                  lambda w: {"same_regency": "13000", "ntt": "26000", "indonesia": "57000"},
                                  {zone: not_a_count(0, 10_000_000) for zone in ("same_regency", "ntt", "indonesia")}),
    "office reject": Form(VERIFIER, lambda w: f"/kantor/dokumen/{w.pend_a}", lambda w: f"/kantor/dokumen/{w.pend_a}/tolak",
                          lambda w: {"reason": "Scan tidak terbaca."}, {"reason": blank_or_huge(2000)}),
    "office new village": Form(VERIFIER, lambda w: "/kantor/desa/baru", lambda w: "/kantor/desa/baru",
                               lambda w: {"name": "Desa Baru", "slug": "desa-baru", "regency_code": "53.09",
                                          "district": "Bajawa", "group_name": "Kelompok", "group_type": "koperasi",
                                          "phone": "", "email": "", "story": ""},
                               {"slug": hostile_text.filter(lambda v: len(v.strip()) > 80
                                                            or not re.fullmatch(r"[a-z0-9]+(?:-[a-z0-9]+)*", v.strip())),
                                "regency_code": hostile_text.filter(lambda v: not re.fullmatch(r"53\.\d\d", v.strip())),
                                "name": blank_or_huge(120)}),
    "office invite": Form(VERIFIER, lambda w: f"/kantor/desa/{w.va}/undang", lambda w: f"/kantor/desa/{w.va}/undang",
                          lambda w: {"name": "Ibu Maria", "email": "maria@desa.example.id"}, {"email": no_email()}),
    "office change role": Form(ADMIN, lambda w: "/kantor/pengguna", lambda w: f"/kantor/pengguna/{w.target_user}/peran",
                               lambda w: {"role": "verifier"},
                               {"role": hostile_text.filter(lambda v: v.strip() not in ("customer", "verifier"))}),
}


def _post(w, form, data):
    client = w.client(form.role)
    page = client.get(form.page(w))
    assert page.status_code == 200, (form.page(w), page.status_code)
    if form.token:
        token = csrf_token(page.get_data(as_text=True))
        if isinstance(data, MultiDict):
            data.add("csrf_token", token)
        else:
            data = {"csrf_token": token, **data}
    return client.post(form.url(w), data=data,
                       content_type="multipart/form-data" if form.multipart else None)


@pytest.mark.parametrize("name", sorted(FORMS))
def test_a_broken_field_changes_nothing(world, name):
    form = FORMS[name]

    @SETTINGS
    @given(st.data())
    def run(data):
        values = form.valid(world)
        field = data.draw(st.sampled_from(sorted(form.breaks)), label="field")
        how = data.draw(st.sampled_from(["hostile", "missing", "twice"]), label="how")
        bad = data.draw(form.breaks[field], label="value")
        if how == "missing":
            values.pop(field, None)
            posted = MultiDict(values)
        elif how == "twice":  # the field twice, the bad value first: the app must read one, consistently
            values.pop(field, None)
            posted = MultiDict(values)
            posted.add(field, bad)
            posted.add(field, bad)
        else:
            values[field] = bad
            posted = MultiDict(values)
        before = snapshot()
        response = _post(world, form, posted)
        assert_safe(response, _values(posted))
        after = snapshot()
        assert not changed_tables(before, after), (field, how, bad, response.status_code, changed_tables(before, after))

    run()


@pytest.mark.parametrize("name", sorted(FORMS))
def test_all_hostile_fields_never_fail_the_server(world, name):
    """Every field hostile at once (and unknown extra fields): never a 5xx, never unescaped."""
    form = FORMS[name]

    @SETTINGS
    @given(st.dictionaries(st.sampled_from(sorted(set(form.valid(world)) | {"extra", "id", "role", "village_id"})),
                           hostile_text, max_size=10))
    def run(values):
        if form.multipart:
            values = {**values, "scan": (io.BytesIO(b"<html><script>alert(1)</script>"), "scan.pdf")}
        response = _post(world, form, values)
        assert_safe(response, _values(values) if not form.multipart else [])

    run()


def test_the_valid_submissions_do_change_something(world):
    """The baseline of each form is valid, so the broken-field tests test what they claim."""
    expect_change = {"cart add": "cart_items", "sign up": "users", "forgot password": "password_resets",
                     "saved address": "addresses", "portal product": "products",
                     "portal paper": "certificates", "portal webhook": "village_webhooks",
                     "office shipping rates": "shipping_rates", "office reject": "certificates",
                     "office new village": "villages", "office invite": "invitations",
                     "office change role": "users", "portal parcel status": "village_orders",
                     "reset password": "users"}
    wrong = []
    for name, table in expect_change.items():
        form = FORMS[name]
        before = snapshot()
        response = _post(world, form, form.valid(world))
        if table not in changed_tables(before, snapshot()):
            wrong.append(f"{name}: {response.status_code}, {table} unchanged")
    assert not wrong, "\n".join(wrong)


# --- GET endpoints: search, filters, API, feeds ---------------------------------------------------

GET_PARAMS = {
    "/cari": ["q", "kategori", "page"],
    "/produk": ["kategori", "kabupaten", "desa", "halal", "urut", "page"],
    "/desa": ["kabupaten", "regency", "page"],
    "/api/v1/products": ["category", "kategori", "regency", "village", "halal", "sort", "page", "per_page", "q"],
    "/api/v1/products.csv": ["category", "regency", "village", "halal", "sort"],
    "/feed/{token}/orders.json": ["since", "before"],
    "/feed/{token}/orders.atom": ["since", "before"],
    "/feed/{token}/orders.csv": ["since", "before"],
}


@pytest.mark.parametrize("path", sorted(GET_PARAMS))
def test_hostile_query_parameters_never_fail_the_server(world, path):
    url = path.format(token=world.feed_token)

    @SETTINGS
    @given(st.lists(st.tuples(st.sampled_from(GET_PARAMS[path]), hostile_text), max_size=6))
    def run(params):
        before = snapshot()
        response = world.client(ANON).get(url, query_string=MultiDict(params))
        assert_safe(response, [v for _k, v in params])
        if response.status_code < 400 and path.startswith("/api"):
            assert response.mimetype in ("application/json", "text/csv")
        assert not changed_tables(before, snapshot())

    run()


def test_hostile_webhook_bodies_never_fail_the_server(world, app):
    app.config.update(STRIPE_SECRET_KEY="sk_test_x", STRIPE_WEBHOOK_SECRET="whsec_test")

    @SETTINGS
    @given(st.binary(max_size=2000), hostile_text)
    def run(body, signature):
        before = snapshot()
        response = world.client(ANON).post("/stripe/webhook", data=body, headers={
            "Stripe-Signature": re.sub(r"[\r\n]", "", signature).encode("utf-8", "replace").decode("latin-1")[:500],
            "Content-Type": "application/json"})
        assert response.status_code == 400
        assert not changed_tables(before, snapshot())

    run()


# --- stored scripts come back escaped (both databases) -------------------------------------------

SCRIPT = "<script>alert('xss')</script>"
IMG = '<img src=x onerror="alert(1)">'


@pytest.fixture
def stored_world(app, client):
    w = PublicWorld(app)
    w.sellable_id = db.session.scalars(select(Product.id).where(Product.slug == w.sellable_slug)).one()
    return w


def _assert_escaped(client, url, *payloads):
    response = client.get(url)
    assert response.status_code == 200, (url, response.status_code)
    body = response.get_data(as_text=True)
    for payload in payloads:
        assert payload not in body, f"{url} shows {payload!r} unescaped"
    assert "&lt;script&gt;" in body or "&lt;img" in body, f"{url} does not show the stored value at all"


def test_stored_script_in_a_product_is_shown_escaped(stored_world):
    w = stored_world
    member = w.client(MEMBER_A)
    page = member.get(f"/portal/produk/{w.sellable_id}/ubah").get_data(as_text=True)
    stock_seen = re.search(r'name="stock_seen"[^>]*value="([^"]*)"', page)
    data = {"csrf_token": csrf_token(page), "name": f"Kopi {SCRIPT}", "description": f"Enak {IMG}",
            "category": str(db.session.scalar(text("SELECT id FROM categories WHERE code='kopi'"))),
            "price_idr": "85000", "weight_grams": "250", "stock": "20", "published": "y",
            "stock_seen": stock_seen.group(1) if stock_seen else "20"}
    response = member.post(f"/portal/produk/{w.sellable_id}/ubah", data=data)
    assert response.status_code == 303, response.get_data(as_text=True)[:2000]
    slug = db.session.scalar(select(Product.slug).where(Product.id == w.sellable_id))
    # A new name waits for the office, which reads it escaped too, then approves it.
    _assert_escaped(w.client(VERIFIER), f"/kantor/produk/{w.sellable_id}", SCRIPT, IMG)
    _assert_escaped(member, f"/portal/produk/{w.sellable_id}/ubah", SCRIPT)
    office_approves(w.app, db.session.get(Product, w.sellable_id))
    db.session.expire_all()
    assert db.session.get(Product, w.sellable_id).name == f"Kopi {SCRIPT}"
    _assert_escaped(member, "/portal/produk", SCRIPT)
    for role in (ANON, CUSTOMER):
        _assert_escaped(w.client(role), f"/produk/{slug}", SCRIPT, IMG)
        _assert_escaped(w.client(role), "/cari?q=Kopi", SCRIPT)
    api = w.client(ANON).get("/api/v1/products")
    assert api.is_json  # JSON carries the text as data: served as JSON, nosniff, a CSP allowing nothing
    assert api.headers["X-Content-Type-Options"] == "nosniff"


def test_stored_script_in_a_buyer_name_is_shown_escaped(stored_world):
    w = stored_world
    from storefront.orders.models import Order, VillageOrder
    parcel = _paid_parcel(w.va, w.pa, user_id=w.user_ids[CUSTOMER])
    order = db.session.get(Order, db.session.get(VillageOrder, parcel).order_id)
    order.name, order.street, number = f"Budi {SCRIPT}", f"Jl. {IMG}", order.number
    db.session.commit()
    _assert_escaped(w.client(MEMBER_A), f"/portal/pesanan/{parcel}", SCRIPT, IMG)
    _assert_escaped(w.client(CUSTOMER), f"/pesanan/{number}", SCRIPT, IMG)
    office = w.client(VERIFIER).get("/kantor/pesanan")
    assert office.status_code == 200 and SCRIPT not in office.get_data(as_text=True)


def test_stored_script_in_a_village_story_and_sign_up_name_is_shown_escaped(stored_world):
    w = stored_world
    client = w.app.test_client()
    page = client.get("/daftar").get_data(as_text=True)
    response = client.post("/daftar", data={"csrf_token": csrf_token(page), "name": f"Ani {SCRIPT}",
                                            "email": "ani@example.org", "password": "kopi-bajawa-enak-sekali",
                                            "confirm": "kopi-bajawa-enak-sekali"})
    assert response.status_code in (302, 303), response.status_code
    _assert_escaped(w.client(ADMIN), "/kantor/pengguna", SCRIPT)  # unconfirmed, already listed
    # The mailed link (from the outbox) activates the account with that name.
    import json

    from storefront.outbox.models import OutboxMessage
    mail = db.session.scalars(select(OutboxMessage).where(OutboxMessage.target == "ani@example.org")).one()
    link = re.search(r"http://shop\.test(/daftar/konfirmasi/\S+)", json.loads(mail.payload)["text"]).group(1)
    page = client.get(link).get_data(as_text=True)
    assert client.post(link, data={"csrf_token": csrf_token(page)}).status_code == 303
    _assert_escaped(client, "/akun", SCRIPT)
    _assert_escaped(w.client(ADMIN), "/kantor/pengguna", SCRIPT)
    from storefront.villages.models import Village
    db.session.get(Village, w.va).story = f"Cerita {SCRIPT}"
    db.session.commit()
    _assert_escaped(w.client(ANON), f"/desa/{w.village_slug}", SCRIPT)
