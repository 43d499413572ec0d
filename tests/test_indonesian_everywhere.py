"""No English on Indonesian screens (issue 17): every GET page each role can open, and every CSV a
village or the office downloads, speaks Indonesian to a visitor who has not chosen English.

``tests/browser/language.py`` finds catalogue phrases of the other language; it cannot see words
that never went through the catalogue (a raw status code, a hard-coded label). This walks the
app's URL map instead: every GET rule is either filled from one world (``FILL``) or skipped with
a reason (``SKIP``), so a new page fails here until someone says how to open it. Each role opens
the pages of its area and follows the links on them one level deep (filter tabs, pages of a list,
a parcel from a list). What a visitor reads is taken from the HTML (text, ``title``,
``aria-label``, ``placeholder``, ``alt``, button values, option labels; not scripts, styles or
what fields hold, nor code samples in ``<code>``/``<pre>``: documented names for programmers),
the world's own typed data is removed, and what remains must hold no ``snake_case`` code and none
of ``ENGLISH`` (common English words that are not Indonesian).

One world per module and database: the pages only read it, so it is built once and the tables
are emptied after the module (conftest's ``app`` fixture would empty them after every test).
"""
import csv
import io
import re
from dataclasses import dataclass, field
from html.parser import HTMLParser
from urllib.parse import parse_qsl, urlsplit

import pytest
from flask import url_for
from sqlalchemy import String, Text, select
from sqlalchemy.orm import selectinload
from werkzeug.exceptions import HTTPException

from storefront.accounts.models import Address
from storefront.accounts.services import invite_member, request_password_reset, sign_up
from storefront.catalog.caching import clear_cache
from storefront.extensions import db
from storefront.feeds.services import rotate_feed_token
from storefront.legality.scans import CleanScan, store_scan
from storefront.orders.links import access_token_hash, order_link_token
from storefront.outbox.models import VillageWebhook
from storefront.partners.services import create_partner
from storefront.payments.models import StripeEvent, TransferReceipt
from storefront.products.models import Product
from storefront.products.review import propose_change
from storefront.ratelimit import limiter
from storefront.settlement import ledger, payouts
from storefront.unit_of_work import unit_of_work

from .conftest import _empty_tables
from .factories import (make_certificate, make_certified_village, make_order, make_product,
                        make_sellable_food, make_user, move_parcel, parcels_of, sign_in)

# --- what counts as English ----------------------------------------------------------------------

#: Common English words that are not Indonesian words, as shown on screens. Words both languages
#: use (status, data, total, bank, transfer, email, admin, online, link, format, web, batch,
#: halal, non, video, foto, kode...) are left out on purpose, and so are brand and technical
#: names (Email, WhatsApp, QRIS, NIB, P-IRT, BPOM, CSV, PDF, JPEG, Stripe, Atom, JSON Feed, JNE
#: YES/REG/OKE, J&T Express, POS Indonesia, SiCepat). Not listed: "a" (a.n., "atas nama"), "no"
#: ("No." of papers and accounts), "yes" (JNE YES, a service).
ENGLISH = frozenset("""
    about account accept accepted add address all an and any approve approved are as at available
    awaiting back balance be been before buy buyer by can cancel cancelled card cart categories
    category certificate change choose close confirm could courier customer date day days decline
    declined delete delivered delivery description did do does done download each edit enter error
    expired expires expiry failed fee file files first food for free from had has have held here
    hidden history home how if in invitation invite is issued it item items its last left less list
    may member members money month more must my name new next none not now number of office old on
    one only open or order orders other our out overdue packed page paid paper papers parcel parcels
    password payment payments payout payouts pending phone photo photos please prepaid previous price
    print product products province published quantity reason receipt refund refunded refused
    regency reject rejected remove report required review revoked sale sales save search see send
    sent ship shipped shipping should show sign sold stock street that the their them there these
    they this time to today tracking underpaid unpaid until upload user users valid verified
    verifier village villages waiting was we week were what when where which while who why will with
    year you your
""".split())

#: Names that hold English words, taken out of the text before it is read, each with its reason.
PROPER_NAMES = {
    "One Village One Product": "the programme's own name, used in Indonesian too",
    "Lion Parcel": "a courier's name (orders/tracking.py)",
    "J&T Express": "a courier's name",
}

#: (endpoint, text) of English allowed on a page while another change that owns it is being
#: finished: a line holding ``text`` (any line for ``"*"``) is not read on that endpoint's pages.
#: Empty: every page of the shop speaks Indonesian.
OWNED_ELSEWHERE = set()

SNAKE = re.compile(r"\b[a-z][a-z0-9]*(?:_[a-z0-9]+)+\b")
WORD = re.compile(r"[A-Za-z]+")
NOT_TEXT = re.compile(r"https?://\S+|[\w.+-]+@[\w-]+(?:\.[\w-]+)+|/[\w./?=&%-]+")


class VisibleText(HTMLParser):
    """What a visitor reads or hears: text outside scripts, styles and fields' contents, and the
    attributes a browser shows or speaks."""

    SKIP = {"script", "style", "textarea", "code", "pre"}
    SPOKEN = ("title", "aria-label", "placeholder", "alt")

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.parts, self._skipping = [], 0

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag in self.SKIP:
            self._skipping += 1
        self.parts += [attrs[name] for name in self.SPOKEN if attrs.get(name)]
        if tag == "input" and attrs.get("type") in ("submit", "button", "reset") and attrs.get("value"):
            self.parts.append(attrs["value"])
        if tag == "meta" and attrs.get("name") == "description" and attrs.get("content"):
            self.parts.append(attrs["content"])

    def handle_endtag(self, tag):
        if tag in self.SKIP and self._skipping:
            self._skipping -= 1

    def handle_data(self, data):
        if not self._skipping and data.strip():
            self.parts.append(data)


def visible_text(html):
    parser = VisibleText()
    parser.feed(html)
    return "\n".join(parser.parts)


def english_in(text, typed, owned=()):
    """The snake_case codes and English words left in ``text`` once the world's typed data,
    addresses and e-mail addresses are taken out: ``{word: the line it is on}``."""
    for value in (*PROPER_NAMES, *typed):
        if value in text:
            text = text.replace(value, " ")
    text = NOT_TEXT.sub(" ", text)
    found = {}
    for line in text.splitlines():
        if any(phrase == "*" or phrase in line for phrase in owned):
            continue
        words = set(SNAKE.findall(line)) | {w.lower() for w in WORD.findall(line)
                                            if w.lower() in ENGLISH}
        for word in words:
            found.setdefault(word, " ".join(line.split())[:90])
    return found


# --- the world -------------------------------------------------------------------------------------

@dataclass
class World:
    """One village with sellable food, cloth, a product waiting for review and one with a proposed
    change; its papers (verified, pending, rejected); orders of a signed-up buyer and a guest in
    every parcel state; a verified bank account, a payout batch, a webhook with calls; an
    admin; open invitation, sign-up and password-reset links."""

    ids: dict = field(default_factory=dict)
    users: dict = field(default_factory=dict)
    #: Every text the world typed (names, descriptions, addresses...), longest first.
    typed: list = field(default_factory=list)


PASSWORD = "a-long-test-password"


def _build_world(app):
    w = World()
    village = make_certified_village(name="Desa Nggela", slug="nggela", story="Tenun ikat dari Ende.")
    coffee = make_sellable_food(village, "kopi", name="Kopi Arabika Bajawa", description="Kopi sangrai sedang.")
    cloth = make_product(village, "tenun", name="Sarung Ikat Nggela", description="Ditenun tangan.")
    waiting = make_product(village, "camilan", name="Keripik Pisang", review_status="pending")
    pending_paper = make_certificate(village, "bpom_md", [waiting], status="pending")
    rejected_paper = make_certificate(village, "halal", [waiting], status="rejected")
    with unit_of_work():
        loaded = db.session.scalars(select(Product).where(Product.id == coffee.id)
                                    .options(selectinload(Product.photos))).one()
        propose_change(loaded, {"name": "Kopi Arabika Bajawa Premium"}, None)
    member = make_user("village_member", village)
    buyer = make_user("customer")
    admin = make_user("admin")
    w.users = {"member": member, "buyer": buyer, "office": admin}
    address = Address(user_id=buyer.id, name="Maria Lado", phone="+6281234567890", province="Bali",
                      regency="Kota Denpasar", regency_code="51.71", district="Denpasar Barat",
                      village_ward="Pemecutan", postal_code="80119", street="Jl. Gajah Mada 1", is_default=True)
    db.session.add(address)
    db.session.add(VillageWebhook(village_id=village.id, url="https://desa.example.id/kait", secret="whsec_uji"))
    db.session.commit()

    orders = {}
    for state in ("paid", "accepted", "packed", "shipped", "delivered", "declined"):
        order = make_order({village: [(coffee, 1), (cloth, 1)]}, user_id=buyer.id, name="Maria Lado")
        moves = {"paid": (), "accepted": ("accepted",), "packed": ("accepted", "packed"),
                 "shipped": ("accepted", "packed", "shipped"),
                 "delivered": ("accepted", "packed", "shipped", "delivered"), "declined": ("declined",)}[state]
        move_parcel(parcels_of(order)[0], *moves)
        orders[state] = order
    orders["cod"] = make_order({village: [(coffee, 2)]}, payment_method="cod", user_id=buyer.id, name="Maria Lado")
    orders["unpaid"] = make_order({village: [(cloth, 1)]}, paid=False, user_id=buyer.id, name="Maria Lado")
    guest_key = "tamu-kunci-1"
    orders["guest"] = make_order({village: [(coffee, 1)]}, paid=False, idempotency_key=guest_key,
                                 access_token_hash=access_token_hash(order_link_token(guest_key)), name="Yohanes Tamu")
    db.session.add(TransferReceipt(order_id=orders["unpaid"].id, content_type="image/png",
                                   key=store_scan(CleanScan(_png(), "image/png", "png", "bukti.png"))))
    db.session.add(StripeEvent(id="evt_bahasa1", type="checkout.session.completed", session_id="cs_test_bahasa1",
                               amount_total=1_000_000, currency="idr", payment_status="paid",
                               refusal="not_card other_session"))
    db.session.commit()

    with unit_of_work():
        account = payouts.submit_account(village.id, bank_code="130", account_number="1234567890",
                                         holder_name="Kelompok Tenun Nggela", actor_name="uji")
        payouts.review_account(account.id, verified=True, actor_name="uji")
        ledger.adjust(village.id, 150_000, "uji", "saldo awal")
    with unit_of_work():
        batch = payouts.build_batch(50_000, "uji")
    with unit_of_work():
        _invitation, invitation_token = invite_member(village_id=village.id, email="calon@desa.example.id",
                                                      name="Calon Anggota", invited_by=admin, days=7)
        confirmation = sign_up(email="baru@example.org", name="Pembeli Baru", password=PASSWORD, hours=48)
        _user, reset_token = request_password_reset(buyer.email, minutes=60)
        rotate_feed_token(village.id)
        partner = create_partner("NTT Mart", "mitra@nttmart.example.id", actor_name="uji")

    w.ids = dict(
        village=village.id, village_slug=village.slug, coffee=coffee.id, coffee_slug=coffee.slug,
        cloth_slug=cloth.slug, waiting=waiting.id, code=coffee.verification_code,
        pending_paper=pending_paper.id, rejected_paper=rejected_paper.id,
        nib=db.session.scalars(select(type(pending_paper).id).where(type(pending_paper).kind == "nib")).one(),
        parcels={state: parcels_of(order)[0].id for state, order in orders.items()},
        numbers={state: order.number for state, order in orders.items()},
        guest_token=order_link_token(guest_key), batch=batch.id, invitation=invitation_token,
        confirmation=confirmation.token, address=address.id, partner=partner.id, reset=reset_token, feed_token=village.feed_token)
    w.typed = _typed_data()
    return w


def _png():
    from PIL import Image
    out = io.BytesIO()
    Image.new("RGB", (24, 16), (200, 30, 30)).save(out, "PNG")
    return out.getvalue()


#: Tables whose text is the shop's own wording (reference data, edited pages) or never shown.
NOT_TYPED = {"categories", "alembic_version", "catalogue_state", "shipping_rates", "page_revisions",
             "outbox_messages", "outbox_attempts"}


def _typed_data():
    """Every free text in the world's rows (not one-word codes like ``shipped``): what the people
    of the world typed, which a page shows as typed."""
    values = set()
    for table in db.metadata.sorted_tables:
        if table.name in NOT_TYPED:
            continue
        columns = [c for c in table.columns if isinstance(c.type, (String, Text))]
        if not columns:
            continue
        for row in db.session.execute(select(*columns)):
            values |= {v for v in row if isinstance(v, str) and len(v) >= 3 and not re.fullmatch(r"[a-z_]+", v)}
    # A sentence of English in a row was written by the shop, not by a person of the world (who
    # types Indonesian here, e.g. "Kopi sangrai sedang."): it stays, for the check to read.
    english = {v for v in values if len({w.lower() for w in WORD.findall(v)} & ENGLISH) >= 2}
    return sorted(values - english, key=len, reverse=True)


@pytest.fixture(scope="module")
def world_app(shared_app, tmp_path_factory):
    """The process's app holding one world for this module; the tables are emptied after it."""
    folder = tmp_path_factory.mktemp("bahasa")
    settings = dict(shared_app.config)
    shared_app.config.update(MEDIA_ROOT=str(folder / "media"), SCAN_ROOT=str(folder / "scans"))
    limiter.enabled = shared_app.config["RATELIMIT_ENABLED"]
    try:
        with shared_app.app_context():
            clear_cache()
            try:
                shared_app.world = _build_world(shared_app)
                yield shared_app
            finally:
                db.session.remove()
                _empty_tables()
    finally:
        shared_app.config.clear()
        shared_app.config.update(settings)


@pytest.fixture(scope="module")
def world(world_app):
    return world_app.world


# --- which page, with what ---------------------------------------------------------------------

#: GET rules not walked, each with its reason.
SKIP = {
    "static": "stylesheet, icons and scripts: no screen text",
    "media.file": "product photos",
    "legality.scan": "a paper's scan (image or PDF) as the village sent it",
    "office.transfer_receipt": "a buyer's transfer receipt (image) as sent",
    "legality.label_svg": "a QR code: no words",
    "api.products": "JSON API for partners: documented field names and codes (README)",
    "api.products_csv": "the API's CSV for partners: documented columns and codes (README)",
    "feeds.orders_atom": "a village's order feed for programs: text is fixed Indonesian (feeds/formats.py)",
    "feeds.orders_json": "a village's order feed for programs: text is fixed Indonesian (feeds/formats.py)",
    "feeds.orders_csv": "a CSV: test_every_csv_speaks_its_readers_language",
    "portal.finance_csv": "a CSV: test_every_csv_speaks_its_readers_language",
    "office.batch_csv": "a CSV: test_every_csv_speaks_its_readers_language",
    "office.impact_csv": "a CSV: test_every_csv_speaks_its_readers_language",
    "health.healthz": "JSON for the monitoring",
    "seo.robots": "robots.txt, for crawlers",
    "seo.sitemap_index": "a sitemap (XML for search engines)",
    "seo.sitemap_pages": "a sitemap (XML for search engines)",
    "seo.sitemap_villages": "a sitemap (XML for search engines)",
    "seo.sitemap_products": "a sitemap (XML for search engines)",
    "seo.sitemap_products_more": "a sitemap (XML for search engines)",
    "seo.google_merchant": "Google Merchant Center's feed: Google's documented fields and values",
    "seo.meta_catalogue": "Meta's catalogue CSV: Meta's documented columns and values",
    "seo.product_card": "a product's share picture (JPEG)",
    "seo.village_card": "a village's share picture (JPEG)",
    "i18n.switch": "only sets the language and redirects",
}

PARCEL_STATES = ("paid", "accepted", "packed", "shipped", "delivered", "declined", "cod")
SHOP_PAGES = ("tentang", "cara-belanja", "cara-bayar", "pengiriman", "pengembalian", "privasi", "syarat")

#: endpoint -> the view arguments (query arguments too) of each page to open, from the world.
FILL = {
    "catalog.home": lambda w: [{}],
    "catalog.product_list": lambda w: [{}, {"kategori": "tenun"}, {"urut": "price_asc"}],
    "catalog.product_detail": lambda w: [{"slug": w.ids["coffee_slug"]}, {"slug": w.ids["cloth_slug"]}],
    "catalog.search": lambda w: [{"q": "kopi"}, {"q": "tidakadaapapun"}],
    "villages.village_list": lambda w: [{}],
    "villages.village_detail": lambda w: [{"slug": w.ids["village_slug"]}],
    "pages.show": lambda w: [{"slug": slug} for slug in SHOP_PAGES],
    "impact.public": lambda w: [{}],
    "impact.chart_months": lambda w: [{}],
    "impact.chart_regencies": lambda w: [{}],
    "legality.proof": lambda w: [{"code": w.ids["code"]}],
    "api.partner_guide": lambda w: [{}],
    "cart.view": lambda w: [{}],
    "checkout.start": lambda w: [{}],
    "checkout.order": lambda w: ([{"number": w.ids["numbers"]["guest"], "kunci": w.ids["guest_token"]}]
                                 if w.role == "anonymous" else
                                 [{"number": w.ids["numbers"][s]} for s in (*PARCEL_STATES, "unpaid")]),
    "checkout.pay": lambda w: [{"number": w.ids["numbers"]["unpaid"]}],
    "checkout.find_order": lambda w: [{}],
    "accounts.sign_in": lambda w: [{}],
    "accounts.sign_up": lambda w: [{}],
    "accounts.sign_up_sent": lambda w: [{}],
    "accounts.confirm_sign_up": lambda w: [{"token": w.ids["confirmation"]}, {"token": "tidak-ada"}],
    "accounts.forgot_password": lambda w: [{}],
    "accounts.reset_password": lambda w: [{"token": w.ids["reset"]}, {"token": "tidak-ada"}],
    "accounts.accept_invitation": lambda w: [{"token": w.ids["invitation"]}, {"token": "tidak-ada"}],
    "accounts.account": lambda w: [{}],
    "accounts.addresses": lambda w: [{}],
    "accounts.edit_address": lambda w: [{"address_id": w.ids["address"]}],
    "accounts.order_history": lambda w: [{}],
    "accounts.change_password": lambda w: [{}],
    "portal.home": lambda w: [{}],
    "portal.orders": lambda w: [{}],
    "portal.order": lambda w: [{"village_order_id": w.ids["parcels"][s]} for s in PARCEL_STATES],
    "portal.products": lambda w: [{}],
    "portal.new_product": lambda w: [{}],
    "portal.edit_product": lambda w: [{"product_id": w.ids["coffee"]}, {"product_id": w.ids["waiting"]}],
    "portal.papers": lambda w: [{}],
    "portal.paper": lambda w: [{"certificate_id": w.ids[k]} for k in ("pending_paper", "rejected_paper", "nib")],
    "portal.submit_paper": lambda w: [{}],
    "portal.resubmit_paper": lambda w: [{"certificate_id": w.ids["rejected_paper"]}],
    "portal.sales": lambda w: [{}],
    "portal.finance": lambda w: [{}],
    "portal.bank_account": lambda w: [{}],
    "portal.labels": lambda w: [{}],
    "portal.feeds": lambda w: [{}],
    "portal.webhook": lambda w: [{}],
    "portal.deliveries": lambda w: [{}],
    "office.home": lambda w: [{}],
    "office.queue": lambda w: [{}],
    "office.paper": lambda w: [{"certificate_id": w.ids[k]} for k in ("pending_paper", "rejected_paper", "nib")],
    "office.expiring": lambda w: [{}],
    "office.listings": lambda w: [{}],
    "office.listing": lambda w: [{"product_id": w.ids["coffee"]}, {"product_id": w.ids["waiting"]}],
    "office.villages": lambda w: [{}],
    "office.new_village": lambda w: [{}],
    "office.invite": lambda w: [{"village_id": w.ids["village"]}],
    "office.village_labels": lambda w: [{"village_id": w.ids["village"]}],
    "office.village_finance": lambda w: [{"village_id": w.ids["village"]}],
    "office.users": lambda w: [{}],
    "office.orders": lambda w: [{}],
    "office.order": lambda w: [{"number": w.ids["numbers"][s]} for s in (*PARCEL_STATES, "unpaid")],
    "office.shipping_rates": lambda w: [{}],
    "office.finance": lambda w: [{}],
    "office.batch": lambda w: [{"batch_id": w.ids["batch"]}],
    "office.impact": lambda w: [{}],
    "office.shop_pages": lambda w: [{}],
    "office.partners": lambda w: [{}],
    "office.partner": lambda w: [{"partner_id": w.ids["partner"]}],
    "office.edit_shop_page": lambda w: [{"slug": slug} for slug in SHOP_PAGES],
}

ROLES = ("anonymous", "buyer", "member", "office")
#: The pages each role walks. The public pages are walked by the visitors; members and the
#: office walk their own areas, their account and the home page (its header is theirs).
SIGNED_IN_ONLY = {"accounts.account", "accounts.addresses", "accounts.edit_address", "accounts.order_history", "accounts.change_password",
                  "checkout.pay"}
SIGNED_OUT_ONLY = {"accounts.sign_in", "accounts.sign_up", "accounts.sign_up_sent", "accounts.confirm_sign_up",
                   "accounts.forgot_password", "accounts.reset_password", "accounts.accept_invitation"}


def walks(role, endpoint):
    """Does ``role`` open ``endpoint``'s pages?"""
    area = endpoint.partition(".")[0]
    if area in ("portal", "office"):
        return role == {"portal": "member", "office": "office"}[area]
    if role in ("member", "office"):
        return endpoint in ("catalog.home", "accounts.account", "accounts.change_password")
    if endpoint in SIGNED_IN_ONLY:
        return role == "buyer"
    if endpoint in SIGNED_OUT_ONLY:
        return role == "anonymous"
    return True


def test_every_page_is_filled_or_skipped_with_a_reason(shared_app):
    app = shared_app
    endpoints = {rule.endpoint for rule in app.url_map.iter_rules() if "GET" in rule.methods}
    assert not endpoints - set(FILL) - set(SKIP), f"pages this test cannot open: {sorted(endpoints - set(FILL) - set(SKIP))}"
    assert not (set(FILL) | set(SKIP)) - endpoints, "entries for pages that no longer exist"
    assert all(any(walks(role, endpoint) for role in ROLES) for endpoint in FILL)


# --- the walk --------------------------------------------------------------------------------------

def _client(app, w, role):
    client = app.test_client()
    if role != "anonymous":
        sign_in(client, w.users[role], PASSWORD)
    if role == "buyer":  # a cart with a line, so the cart and checkout pages show their tables
        answer = client.post("/keranjang/tambah", data={"product_id": w.ids["coffee"], "quantity": "1"})
        assert answer.status_code == 303
    return client


LINK = re.compile(r'<a\b[^>]*\bhref="([^"#]+)', re.I)


def _endpoint_of(adapter, url):
    parts = urlsplit(url)
    if parts.netloc not in ("", "shop.test"):
        return None, None
    try:
        endpoint, _args = adapter.match(parts.path, method="GET")
    except HTTPException:
        return None, None
    query = tuple(sorted((k, v) for k, v in parse_qsl(parts.query) if k not in ("next", "kunci")))
    return endpoint, query


def walk(app, w, role):
    """Open every page of ``role`` (and the pages they link to); returns ``{url: found}`` for the
    pages with English and the number of pages read."""
    client = _client(app, w, role)
    w.role = role
    adapter = app.url_map.bind("shop.test")
    todo = []
    with app.test_request_context():
        for endpoint, fill in FILL.items():
            if walks(role, endpoint):
                todo += [url_for(endpoint, **values) for values in fill(w)]
    seen = {_endpoint_of(adapter, url) for url in todo}
    problems, read, first_level = {}, 0, list(todo)
    for url in todo:
        try:
            response = client.get(url)
            body = response.get_data(as_text=True)
        except Exception as exc:  # noqa: BLE001 - one broken page must not hide the others' English
            problems[url] = {"(error)": repr(exc)[:200]}
            continue
        if response.status_code in (301, 302, 303) or not response.mimetype.endswith(("html", "svg+xml")):
            continue
        read += 1
        assert 'lang="en"' not in body[:500], url
        endpoint = _endpoint_of(adapter, url)[0]
        found = english_in(visible_text(body), w.typed, [text for where, text in OWNED_ELSEWHERE if where == endpoint])
        if found:
            problems[f"{url} ({response.status_code})"] = found
        if url not in first_level:
            continue
        for link in LINK.findall(body):
            link = link.replace("&amp;", "&")
            key = _endpoint_of(adapter, link)
            if key[0] and key[0] not in SKIP and walks(role, key[0]) and key not in seen:
                seen.add(key)
                todo.append(link)
    return problems, read


@pytest.mark.parametrize("role", ROLES)
def test_every_page_speaks_indonesian(world_app, world, role):
    problems, read = walk(world_app, world, role)
    assert read >= 5
    assert not problems, "English on Indonesian pages:\n" + "\n".join(
        f"{url}: {word!r} in {line!r}" for url, found in problems.items() for word, line in sorted(found.items()))


# --- the CSV files ---------------------------------------------------------------------------------

def _csv(client, url, lang):
    client.set_cookie("lang", lang, domain="shop.test")
    response = client.get(url)
    assert response.status_code == 200, url
    assert response.mimetype == "text/csv"
    return list(csv.reader(io.StringIO(response.get_data(as_text=True).lstrip("\ufeff"))))


def test_every_csv_speaks_its_readers_language(world_app, world):
    """The statement, the bank file and the impact report follow the reader's language."""
    member, office = _client(world_app, world, "member"), _client(world_app, world, "office")
    files = [(member, "/portal/keuangan.csv"), (office, f"/kantor/keuangan/batch/{world.ids['batch']}.csv"),
             (office, "/kantor/dampak.csv")]
    for client, url in files:
        rows = _csv(client, url, "id")
        found = english_in("\n".join(" ; ".join(row) for row in rows), world.typed)
        assert not found, f"{url}: {found}"
        english = _csv(client, url, "en")
        assert english_in(" ; ".join(english[0] + english[1]), world.typed), f"{url} in English keeps Indonesian names"
        client.set_cookie("lang", "id", domain="shop.test")


def test_the_order_feed_csv_keeps_its_codes_and_says_them_in_indonesian(world_app, world):
    """The feed's CSV is a documented format that programs read (README, "Feeds"): its columns and
    codes stay as they are, whatever the language; the last two columns say the status and the
    payment in Indonesian for the people who open it in a spreadsheet."""
    client = world_app.test_client()
    rows = [dict(zip(header, row)) for header, *rest in [_csv(client, f"/feed/{world.ids['feed_token']}/orders.csv",
                                                              "en")] for row in rest]
    assert rows and list(rows[0])[-2:] == ["keterangan_status", "keterangan_pembayaran"]
    words = {(row["status"], row["payment"]): (row["keterangan_status"], row["keterangan_pembayaran"]) for row in rows}
    assert words[("shipped", "prepaid")] == ("dikirim", "Sudah dibayar di toko")
    assert words[("awaiting_payment", "cod")] == ("COD baru, perlu diterima", "Bayar tunai saat diterima (COD)")
    people = "\n".join(f"{row['keterangan_status']} ; {row['keterangan_pembayaran']}" for row in rows)
    assert not english_in(people, world.typed)
