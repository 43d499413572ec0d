"""Who may open and do what on the rest of the shop: catalogue, villages, API, accounts, cart,
checkout, payments, feeds, media, health, language and static files, for every kind of visitor.

The portal, office and legality routes have their rules in ``test_access_matrix.py``; this file
has the others. ``test_every_registered_route_has_an_access_rule`` checks the union of both
tables against every route the app registers, so a new route in any blueprint cannot ship
without a rule.
"""
import secrets

import pytest
from PIL import Image
from sqlalchemy import select

from storefront.accounts.models import Address, User
from storefront.accounts.services import request_password_reset, sign_up
from storefront.extensions import db
from storefront.feeds.services import rotate_feed_token
from storefront.media import save_image
from storefront.orders.links import access_token_hash
from storefront.orders.models import Order, VillageOrder
from storefront.payments.models import TransferReceipt
from storefront.products.models import ProductPhoto
from storefront.villages.models import Village

from .conftest import csrf_token
from .factories import make_sellable_food
from .test_access_matrix import (ADMIN, ANON, CUSTOMER, GET_RULES as PORTAL_GET_RULES, MEMBER_A, MEMBER_B,
                                 PASSWORD, POST_CASES as PORTAL_POST_CASES, ROLES, SIGN_IN_PATH, VERIFIER,
                                 World, WorldCopies, _location_path, _paid_parcel, everyone, wrong_answers)

SIGNED_IN = (CUSTOMER, MEMBER_A, MEMBER_B, VERIFIER, ADMIN)


def signed_in(status):
    """Any account (Flask-Login's ``login_required``); anonymous visitors go to sign in."""
    return {ANON: 302, **{role: status for role in SIGNED_IN}}


def owner_only(owner_status, others=404):
    """The customer's own thing; every other account gets ``others``; anonymous signs in."""
    return {ANON: 302, CUSTOMER: owner_status, **{r: others for r in SIGNED_IN if r != CUSTOMER}}


def anonymous_only(status, signed_in_status=302):
    return {ANON: status, **{role: signed_in_status for role in SIGNED_IN}}


class PublicWorld(World):
    """The access matrix's world, plus what public pages need: a sellable product with a photo,
    a customer's order and saved address, a village feed, a password-reset link."""

    def __init__(self, app):
        super().__init__(app)
        village_a = db.session.get(Village, self.va)
        product = make_sellable_food(village_a, stock=20)
        self.sellable_slug, self.village_slug = product.slug, village_a.slug
        self.unsellable_slug = db.session.get(type(product), self.pa).slug
        key = save_image(Image.new("RGB", (40, 30), (30, 120, 30)), "foto-uji")
        db.session.add(ProductPhoto(product_id=product.id, position=0, key=key, alt="Foto"))
        self.photo = f"{key}-s.jpg"
        self.feed_token = rotate_feed_token(self.va)
        db.session.commit()
        customer = self.users[CUSTOMER]
        # The customer's own order, and its private link.
        self.order_token = secrets.token_urlsafe(16)
        parcel = db.session.get(VillageOrder, _paid_parcel(self.va, self.pa, user_id=customer.id))
        order = db.session.get(Order, parcel.order_id)
        order.access_token_hash = access_token_hash(self.order_token)
        db.session.commit()
        self.order_number = order.number
        self.address = self.add_address(customer.id)
        _, self.reset_token = request_password_reset(self.users[CUSTOMER].email, minutes=60)
        # Someone signed up and has not opened the mailed link yet.
        self.confirm_token = sign_up(email="belum.aktif@example.org", name="Pembeli Baru",
                                     password="kopi-bajawa-enak-sekali", hours=48).token
        db.session.commit()

    @staticmethod
    def add_address(user_id):
        address = Address(user_id=user_id, name="Budi", phone="+6281234567890",
                          province="Bali", regency="Denpasar", district="Denpasar Barat",
                          village_ward="Dauh Puri", postal_code="80113", street="Jl. Gajah Mada 1")
        db.session.add(address)
        db.session.commit()
        return address.id


WORLDS = WorldCopies(PublicWorld)


@pytest.fixture
def world(app, client):
    return WORLDS.world(app)


#: (endpoint, method) -> probes: (what, view arguments, role -> status).
GET_RULES = {
    ("catalog.home", "GET"): [("home", lambda w: {}, everyone(200))],
    ("catalog.product_list", "GET"): [
        ("catalogue", lambda w: {}, everyone(200)),
        ("filtered", lambda w: {"kategori": "kopi", "halal": "halal", "urut": "price_asc"}, everyone(200)),
    ],
    ("catalog.product_detail", "GET"): [
        ("sellable product", lambda w: {"slug": w.sellable_slug}, everyone(200)),
        ("product without its papers", lambda w: {"slug": w.unsellable_slug}, everyone(404)),
        ("unknown product", lambda w: {"slug": "tidak-ada"}, everyone(404)),
    ],
    ("catalog.search", "GET"): [("search", lambda w: {"q": "kopi"}, everyone(200))],
    ("villages.village_list", "GET"): [("villages", lambda w: {}, everyone(200))],
    ("villages.village_detail", "GET"): [
        ("village A", lambda w: {"slug": w.village_slug}, everyone(200)),
        ("unknown village", lambda w: {"slug": "tidak-ada"}, everyone(404)),
    ],
    ("api.products", "GET"): [("catalogue JSON", lambda w: {}, everyone(200))],
    ("api.products_csv", "GET"): [("catalogue CSV", lambda w: {}, everyone(200))],
    ("api.partner_guide", "GET"): [("partners' guide", lambda w: {}, everyone(200))],
    ("health.healthz", "GET"): [("health", lambda w: {}, everyone(200))],
    ("i18n.switch", "GET"): [("to English", lambda w: {"code": "en", "next": "/produk"}, everyone(303))],
    ("static", "GET"): [
        ("stylesheet", lambda w: {"filename": "shop.css"}, everyone(200)),
        ("no such file", lambda w: {"filename": "nope.js"}, everyone(404)),
    ],
    ("media.file", "GET"): [
        ("product photo", lambda w: {"filename": w.photo}, everyone(200)),
        ("unknown photo", lambda w: {"filename": "tidak-ada-00000000-s.jpg"}, everyone(404)),
        ("not a photo name", lambda w: {"filename": "..%2Fsecret_key"}, everyone(404)),
    ],
    **{(endpoint, "GET"): [
        ("village A's feed", lambda w: {"token": w.feed_token}, everyone(200)),
        ("wrong token", lambda w: {"token": "x" * 43}, everyone(404)),
    ] for endpoint in ("feeds.orders_atom", "feeds.orders_json", "feeds.orders_csv")},
    ("accounts.sign_in", "GET"): [("sign-in form", lambda w: {}, everyone(200))],
    ("accounts.sign_up", "GET"): [("sign-up form", lambda w: {}, anonymous_only(200))],
    ("accounts.sign_up_sent", "GET"): [("look in your mailbox", lambda w: {}, everyone(200))],
    ("accounts.confirm_sign_up", "GET"): [
        ("open link", lambda w: {"token": w.confirm_token}, everyone(200)),
        ("unknown link", lambda w: {"token": "not-a-token"}, everyone(410)),
    ],
    ("accounts.forgot_password", "GET"): [("forgot form", lambda w: {}, everyone(200))],
    ("accounts.reset_password", "GET"): [
        ("open link", lambda w: {"token": w.reset_token}, everyone(200)),
        ("unknown link", lambda w: {"token": "not-a-token"}, everyone(410)),
    ],
    ("accounts.account", "GET"): [("account", lambda w: {}, signed_in(200))],
    ("accounts.order_history", "GET"): [("own orders", lambda w: {}, signed_in(200))],
    ("accounts.change_password", "GET"): [("password form", lambda w: {}, signed_in(200))],
    ("accounts.addresses", "GET"): [("own addresses", lambda w: {}, signed_in(200))],
    ("accounts.edit_address", "GET"): [("the customer's address", lambda w: {"address_id": w.address},
                                        owner_only(200))],
    ("cart.view", "GET"): [("cart", lambda w: {}, everyone(200))],
    ("checkout.start", "GET"): [("empty cart", lambda w: {}, everyone(303))],
    ("checkout.order", "GET"): [
        ("order with its private link", lambda w: {"number": w.order_number, "kunci": w.order_token},
         everyone(200)),
        ("customer's order without the link", lambda w: {"number": w.order_number},
         {**everyone(404), CUSTOMER: 200}),
        ("wrong link", lambda w: {"number": w.order_number, "kunci": "wrong"},
         {**everyone(404), CUSTOMER: 200}),
        ("unknown order", lambda w: {"number": "NTT-0000", "kunci": "x"}, everyone(404)),
    ],
    ("checkout.pay", "GET"): [
        # A paid bank-transfer order: back to the order page, for whoever may see it.
        ("paid order with its link", lambda w: {"number": w.order_number, "kunci": w.order_token},
         everyone(303)),
        ("customer's order without the link", lambda w: {"number": w.order_number},
         {**everyone(404), CUSTOMER: 303}),
    ],
    ("checkout.find_order", "GET"): [("lost order link form", lambda w: {}, everyone(200))],
    ("impact.public", "GET"): [("impact page", lambda w: {}, everyone(200))],
    ("impact.chart_months", "GET"): [("impact chart by month", lambda w: {}, everyone(200))],
    ("impact.chart_regencies", "GET"): [("impact chart by regency", lambda w: {}, everyone(200))],
    # The shop's own pages (about, how to buy, privacy, ...): public, the same for everyone.
    ("pages.show", "GET"): [(f"page /{slug}", lambda w, slug=slug: {"slug": slug}, everyone(200))
                            for slug in ("tentang", "cara-belanja", "cara-bayar", "pengiriman", "pengembalian",
                                         "privasi", "syarat")],
    # What crawlers, chat apps and marketplaces read (tests/test_seo.py, test_merchant_feeds.py).
    **{(endpoint, "GET"): [(endpoint, lambda w: {}, everyone(200))] for endpoint in (
        "seo.robots", "seo.sitemap_index", "seo.sitemap_pages", "seo.sitemap_villages", "seo.sitemap_products",
        "seo.google_merchant", "seo.meta_catalogue")},
    ("seo.sitemap_products_more", "GET"): [("second product file", lambda w: {"number": 2}, everyone(200)),
                                           ("the first file's other name", lambda w: {"number": 1}, everyone(404))],
    ("seo.product_card", "GET"): [
        ("sellable product", lambda w: {"slug": w.sellable_slug}, everyone(200)),
        ("product without its papers", lambda w: {"slug": w.unsellable_slug}, everyone(404)),
    ],
    ("seo.village_card", "GET"): [
        ("village A", lambda w: {"slug": w.village_slug}, everyone(200)),
        ("unknown village", lambda w: {"slug": "tidak-ada"}, everyone(404)),
    ],
}

#: Where a permitted redirect goes.
REDIRECTS = {
    "i18n.switch": lambda w: "/produk",
    "checkout.start": lambda w: "/keranjang",
    "checkout.pay": lambda w: f"/pesanan/{w.order_number}",
    "accounts.sign_up": lambda w: "/akun",
}


class PostRule:
    """One POST route: ``expect`` role -> status; ``data(world, role)`` the form;
    ``target(world, role)`` the view arguments; ``snapshot`` what must not change when refused;
    ``form_page`` the page whose CSRF token is sent; ``fresh_client`` for posts that sign out."""

    def __init__(self, expect, data=lambda w, role: {}, target=lambda w, role: {}, snapshot=None,
                 form_page="/masuk", fresh_client=False, raw=None):
        self.expect, self.data, self.target, self.snapshot = expect, data, target, snapshot
        self.form_page, self.fresh_client, self.raw = form_page, fresh_client, raw


def _addresses(w, role):
    db.session.expire_all()
    return sorted(db.session.scalars(select(Address.id)))


def _address_rows(w, role):
    db.session.expire_all()
    return [(a.id, a.name, a.street, a.is_default) for a in db.session.scalars(select(Address).order_by(Address.id))]


def _users(w, role):
    db.session.expire_all()
    return sorted(db.session.scalars(select(User.email)))


def _confirmed(w, role):
    db.session.expire_all()
    return sorted(db.session.execute(select(User.email, User.email_confirmed_at)).all())


def _password_hashes(w, role):
    db.session.expire_all()
    return dict(db.session.execute(select(User.id, User.password_hash)).all())


def _mail_choices(w, role):
    db.session.expire_all()
    return dict(db.session.execute(select(User.id, User.optional_mail)).all())


def _transfer_reports(w, role):
    db.session.expire_all()
    return sorted(db.session.scalars(select(TransferReceipt.id)))


def _parcel_states(w, role):
    db.session.expire_all()
    return sorted(db.session.execute(select(VillageOrder.id, VillageOrder.status)).all())


def _order_states(w, role):
    db.session.expire_all()
    return sorted(db.session.execute(select(Order.id, Order.status)).all())


def _parcel_of(number):
    return db.session.scalar(select(VillageOrder.id).join(Order, Order.id == VillageOrder.order_id)
                             .where(Order.number == number))


def _prepare_resets(w):
    w.resets = {}
    for role in ROLES:
        _, w.resets[role] = request_password_reset(w.users[CUSTOMER].email, minutes=60)
    db.session.commit()


POST_RULES = {
    ("cart.add", "POST"): PostRule(
        everyone(303), data=lambda w, role: {"product_id": str(w.sellable_id), "quantity": "1"}),
    ("cart.change", "POST"): PostRule(
        everyone(303), data=lambda w, role: {"product_id": str(w.sellable_id), "quantity": "2"}),
    ("cart.accept", "POST"): PostRule(everyone(303)),
    # Each visitor removes from their own cart only (tests/test_cart_lines.py).
    ("cart.remove", "POST"): PostRule(
        everyone(303), data=lambda w, role: {"product_id": str(w.sellable_id)}),
    # With an empty cart, checkout goes back to the cart for everyone.
    ("checkout.start", "POST"): PostRule(everyone(303), data=lambda w, role: {"action": "quote"}),
    ("accounts.sign_in", "POST"): PostRule(
        everyone(422), data=lambda w, role: {"email": f"nobody-{role.replace('_', '-')}@example.org",
                              "password": "wrong-password-1"},
        snapshot=_password_hashes),
    ("accounts.sign_out", "POST"): PostRule(signed_in(303), fresh_client=True),
    ("accounts.sign_up", "POST"): PostRule(
        anonymous_only(303), snapshot=_users,
        data=lambda w, role: {"name": "Pembeli Baru", "email": f"baru-{role.replace('_', '-')}@example.org",
                              "password": PASSWORD + "-baru", "confirm": PASSWORD + "-baru"}),
    ("accounts.confirm_sign_up", "POST"): PostRule(
        everyone(410), target=lambda w, role: {"token": "not-a-token"}, snapshot=_confirmed),
    ("accounts.forgot_password", "POST"): PostRule(
        everyone(303), data=lambda w, role: {"email": "nobody@example.org"}, snapshot=_password_hashes),
    ("accounts.reset_password", "POST"): PostRule(
        everyone(410), target=lambda w, role: {"token": "not-a-token"},
        data=lambda w, role: {"password": PASSWORD + "-x", "confirm": PASSWORD + "-x"},
        snapshot=_password_hashes),
    ("accounts.change_password", "POST"): PostRule(
        signed_in(422), snapshot=_password_hashes,
        data=lambda w, role: {"current": "not-the-password", "password": PASSWORD + "-neu",
                              "confirm": PASSWORD + "-neu"}),
    ("accounts.addresses", "POST"): PostRule(
        signed_in(422), data=lambda w, role: {"name": ""}, snapshot=_addresses),
    # Each account turns its own optional mail off; a visitor signs in first and changes nothing.
    ("accounts.mail_choice", "POST"): PostRule(signed_in(303), snapshot=_mail_choices),
    ("accounts.edit_address", "POST"): PostRule(
        owner_only(422), target=lambda w, role: {"address_id": w.address}, data=lambda w, role: {"name": ""},
        snapshot=_address_rows),
    ("accounts.default_address", "POST"): PostRule(
        owner_only(303), target=lambda w, role: {"address_id": w.address}, snapshot=_address_rows),
    ("accounts.delete_address", "POST"): PostRule(
        owner_only(303), target=lambda w, role: {"address_id": w.address}, snapshot=_addresses,
        ),
    # The customer's order is paid and its parcel not shipped: its owner is told so (303); nobody
    # else may reach the order without its link (tests/test_reconciliation.py does the rest).
    ("checkout.report_transfer", "POST"): PostRule(
        {**everyone(404), CUSTOMER: 303}, target=lambda w, role: {"number": w.order_number},
        snapshot=_transfer_reports),
    ("checkout.confirm_parcel", "POST"): PostRule(
        {**everyone(404), CUSTOMER: 303}, snapshot=_parcel_states,
        target=lambda w, role: {"number": w.order_number, "village_order_id": _parcel_of(w.order_number)}),
    # The customer's order is paid: its owner is told it can no longer be cancelled (303); nobody
    # else reaches it without its link (tests/test_order_after_checkout.py does the rest).
    ("checkout.cancel_order", "POST"): PostRule(
        {**everyone(404), CUSTOMER: 303}, target=lambda w, role: {"number": w.order_number},
        snapshot=_order_states),
    # Anyone may ask for a lost order link; an empty form is refused for everyone (matches,
    # mismatches, mails and limits: tests/test_order_after_checkout.py).
    ("checkout.find_order", "POST"): PostRule(everyone(422), data=lambda w, role: {"number": "", "email": ""}),
    # Stripe is not set up in these tests: the webhook does not exist (signed events: test_stripe.py).
    ("payments.stripe_webhook", "POST"): PostRule(everyone(404), raw=b"{}"),
    # Midtrans neither (signed notifications: test_midtrans.py).
    ("payments.midtrans_notification", "POST"): PostRule(everyone(404), raw=b"{}"),
}


# --- the union of both files' tables covers every registered route ------------------------------

def all_routes(app):
    return {(rule.endpoint, method) for rule in app.url_map.iter_rules()
            for method in rule.methods - {"HEAD", "OPTIONS"}}


def all_rules():
    return set(PORTAL_GET_RULES) | set(PORTAL_POST_CASES) | set(GET_RULES) | set(POST_RULES)


def test_every_registered_route_has_an_access_rule(app):
    routes = all_routes(app)
    ruled = all_rules()
    assert not routes - ruled, (
        "routes without an access rule (add one to tests/test_access_public.py or, for the portal, "
        f"office and legality, tests/test_access_matrix.py): {sorted(routes - ruled)}")
    assert not ruled - routes, f"rules for routes that no longer exist: {sorted(ruled - routes)}"
    mine = set(GET_RULES) | set(POST_RULES)
    theirs = set(PORTAL_GET_RULES) | set(PORTAL_POST_CASES)
    assert not mine & theirs, f"routes ruled in both files: {sorted(mine & theirs)}"


# --- GET --------------------------------------------------------------------------------------

@pytest.mark.parametrize("role", ROLES)
def test_public_get_matrix(world, role):
    wrong = wrong_answers(world, role, GET_RULES, REDIRECTS)
    assert not wrong, "\n".join(wrong)


def test_an_order_page_never_shows_to_a_stranger_by_number_alone(world):
    """Order numbers are guessable; the page needs the private link or the owner's account."""
    stranger = world.app.test_client()
    assert stranger.get(f"/pesanan/{world.order_number}").status_code == 404
    assert stranger.get(f"/pesanan/{world.order_number}?kunci={world.order_token}").status_code == 200


# --- POST -------------------------------------------------------------------------------------

@pytest.mark.parametrize("endpoint", sorted(e for e, _m in POST_RULES))
def test_public_post_matrix(world, endpoint):
    rule = POST_RULES[(endpoint, "POST")]
    world.sellable_id = db.session.scalars(
        select(ProductPhoto.product_id).order_by(ProductPhoto.id.desc())).first()
    wrong = []
    for role in sorted(ROLES, key=lambda r: rule.expect[r] in (200, 303)):  # refused roles first
        if rule.fresh_client:
            client = world.app.test_client()
            if role != ANON:
                from .factories import sign_in
                sign_in(client, world.users[role], PASSWORD)
        else:
            client = world.client(role)
        url = world.url(endpoint, **rule.target(world, role))
        before = rule.snapshot(world, role) if rule.snapshot else None
        if rule.raw is not None:
            response = client.post(url, data=rule.raw, content_type="application/json")
        else:
            page = client.get(rule.form_page)
            data = {"csrf_token": csrf_token(page.get_data(as_text=True)), **rule.data(world, role)}
            response = client.post(url, data=data)
        if response.status_code != rule.expect[role]:
            wrong.append(f"{role}: expected {rule.expect[role]}, got {response.status_code}")
        if role == ANON and response.status_code == 302 and _location_path(response) != SIGN_IN_PATH:
            wrong.append(f"anonymous sent to {response.headers['Location']}")
        if rule.snapshot and rule.expect[role] not in (200, 303) and rule.snapshot(world, role) != before:
            wrong.append(f"{role}: was refused ({response.status_code}) but something changed")
    assert not wrong, "\n".join(wrong)


def test_only_the_owner_deletes_an_address_and_it_is_gone(world):
    for role in (MEMBER_A, VERIFIER, ADMIN):
        client = world.client(role)
        token = csrf_token(client.get("/masuk").get_data(as_text=True))
        assert client.post(f"/akun/alamat/{world.address}/hapus", data={"csrf_token": token}).status_code == 404
    assert world.address in _addresses(world, None)
    client = world.client(CUSTOMER)
    token = csrf_token(client.get("/masuk").get_data(as_text=True))
    assert client.post(f"/akun/alamat/{world.address}/hapus", data={"csrf_token": token}).status_code == 303
    assert world.address not in _addresses(world, None)
