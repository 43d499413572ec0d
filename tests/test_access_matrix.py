"""Who may open and do what: every route of the village portal, the office, the legality pages
and invitations, for every kind of visitor.

The tables below are the access rules. A route of those blueprints that is not in the tables
fails ``test_every_route_has_an_access_rule``, so a new route cannot ship without one.
"""
import copy
import io
import json
import time
from datetime import date, timedelta
from itertools import count
from pathlib import Path
from urllib.parse import parse_qs, urlparse

import pytest
from flask import url_for
from PIL import Image
from sqlalchemy import func, select, text
from sqlalchemy.orm import selectinload
from werkzeug.security import generate_password_hash

from storefront.accounts.models import Invitation, User
from storefront.accounts.services import invite_member
from storefront.checkout.models import ShippingRate
from storefront.clock import now_utc, today_wita
from storefront.extensions import db
from storefront.legality.models import Certificate, CertificateEvent, CertificateScan, certificate_products
from storefront.legality.scans import CleanScan, store_scan
from storefront.orders.models import Order, OrderLine, VillageOrder
from storefront.outbox.models import OutboxMessage, VillageWebhook
from storefront.pages.models import PageRevision
from storefront.partners.keys import issue_key
from storefront.partners.models import Partner, PartnerKey
from storefront.partners.services import create_partner
from storefront.payments.models import MidtransNotification, PaymentReceived, StripeEvent, TransferReceipt
from storefront.products.models import Product, ProductPhoto, ProductRevision
from storefront.products.review import propose_change
from storefront.settlement import ledger, payouts
from storefront.settlement.models import BankAccount, LedgerEntry, Payout, VillageBalance
from storefront.unit_of_work import unit_of_work
from storefront.villages.models import Village

from .conftest import KEEP_TABLES, csrf_token
from .factories import category, make_certificate, make_certified_village, make_product, sign_in

# The office's shop pages join its blueprint here until storefront/office/__init__.py lists them
# (the app is built after the tests are collected).

PASSWORD = "a-long-test-password"
ANON, CUSTOMER, MEMBER_A, MEMBER_B, VERIFIER, ADMIN = ROLES = (
    "anonymous", "customer", "member_a", "member_b", "verifier", "admin")
SIGN_IN_PATH = "/masuk"

_seq = count(1)


# --- expectations -----------------------------------------------------------------------------

def member(a, b):
    """Portal rule: members of a village only; ``a``/``b`` are what members of A and B get."""
    return {ANON: 302, CUSTOMER: 403, MEMBER_A: a, MEMBER_B: b, VERIFIER: 403, ADMIN: 403}


def office(status=200):
    return {ANON: 302, CUSTOMER: 403, MEMBER_A: 403, MEMBER_B: 403, VERIFIER: status, ADMIN: status}


def admin_only(status=200):
    return {ANON: 302, CUSTOMER: 403, MEMBER_A: 403, MEMBER_B: 403, VERIFIER: 403, ADMIN: status}


def everyone(status):
    return {role: status for role in ROLES}


def scan_of(owner):
    """A private scan: its own village's members and the office; everyone else 404."""
    return {ANON: 404, CUSTOMER: 404, MEMBER_A: 200 if owner == "a" else 404,
            MEMBER_B: 200 if owner == "b" else 404, VERIFIER: 200, ADMIN: 200}


#: (endpoint, method) -> probes: (what, view arguments from the world, role -> status).
GET_RULES = {
    ("portal.home", "GET"): [("portal home", lambda w: {}, member(302, 302))],
    ("portal.papers", "GET"): [("own paper list", lambda w: {}, member(200, 200))],
    ("portal.paper", "GET"): [
        ("paper of A", lambda w: {"certificate_id": w.pend_a}, member(200, 404)),
        ("paper of B", lambda w: {"certificate_id": w.pend_b}, member(404, 200)),
        ("unknown paper", lambda w: {"certificate_id": 999999}, member(404, 404)),
    ],
    ("portal.resubmit_paper", "GET"): [
        ("rejected paper of A", lambda w: {"certificate_id": w.rej_a}, member(200, 404)),
        ("rejected paper of B", lambda w: {"certificate_id": w.rej_b}, member(404, 200)),
        ("pending paper of A", lambda w: {"certificate_id": w.pend_a}, member(303, 404)),
    ],
    ("portal.submit_paper", "GET"): [("paper form", lambda w: {}, member(200, 200))],
    ("portal.orders", "GET"): [("own order list", lambda w: {}, member(200, 200))],
    ("portal.products", "GET"): [("own product list", lambda w: {}, member(200, 200))],
    ("portal.new_product", "GET"): [("product form", lambda w: {}, member(200, 200))],
    ("portal.edit_product", "GET"): [
        ("product of A", lambda w: {"product_id": w.pa}, member(200, 404)),
        ("product of B", lambda w: {"product_id": w.pb}, member(404, 200)),
        ("unknown product", lambda w: {"product_id": 999999}, member(404, 404)),
    ],
    ("portal.sales", "GET"): [("own sales summary", lambda w: {}, member(200, 200))],
    ("portal.feeds", "GET"): [("own feed addresses", lambda w: {}, member(200, 200))],
    ("portal.webhook", "GET"): [("own webhook", lambda w: {}, member(200, 200))],
    ("portal.deliveries", "GET"): [("own delivery log", lambda w: {}, member(200, 200))],
    ("portal.order", "GET"): [
        ("parcel of A", lambda w: {"village_order_id": w.parcel_a}, member(200, 404)),
        ("parcel of B", lambda w: {"village_order_id": w.parcel_b}, member(404, 200)),
        ("unknown parcel", lambda w: {"village_order_id": 999999}, member(404, 404)),
    ],
    ("portal.labels", "GET"): [("label sheet", lambda w: {}, member(200, 200))],
    ("office.home", "GET"): [("office home", lambda w: {}, office(302))],
    ("office.queue", "GET"): [("queue", lambda w: {}, office())],
    ("office.paper", "GET"): [
        ("paper of A", lambda w: {"certificate_id": w.pend_a}, office()),
        ("paper of B", lambda w: {"certificate_id": w.pend_b}, office()),
    ],
    ("office.expiring", "GET"): [("expiring", lambda w: {}, office())],
    ("office.listings", "GET"): [("listings to review", lambda w: {}, office())],
    ("office.listing", "GET"): [
        ("listing of A", lambda w: {"product_id": w.pa}, office()),
        ("unknown listing", lambda w: {"product_id": 999999}, office(404)),
    ],
    ("office.villages", "GET"): [("villages", lambda w: {}, office())],
    ("office.new_village", "GET"): [("village form", lambda w: {}, office())],
    ("office.invite", "GET"): [("members of A", lambda w: {"village_id": w.va}, office())],
    ("office.village_labels", "GET"): [
        ("labels of A", lambda w: {"village_id": w.va}, office()),
        ("labels of B", lambda w: {"village_id": w.vb}, office()),
    ],
    ("office.users", "GET"): [("users", lambda w: {}, admin_only())],
    ("office.orders", "GET"): [("orders", lambda w: {}, office()),
                               ("a search", lambda w: {"q": "Budi", "status": "paid"}, office())],
    ("office.order", "GET"): [
        ("an order of A", lambda w: {"number": _number_of(w.parcel_a)}, office()),
        ("an order of B", lambda w: {"number": _number_of(w.parcel_b)}, office()),
        ("unknown order", lambda w: {"number": "NTT-000000-NONE"}, office(404)),
    ],
    ("office.shipping_rates", "GET"): [("shipping rates", lambda w: {}, office())],
    ("office.transfer_receipt", "GET"): [
        ("a buyer's transfer receipt", lambda w: {"receipt_id": _transfer_receipt(w)}, office()),
        ("unknown receipt", lambda w: {"receipt_id": 999999}, office(404)),
    ],
    ("legality.scan", "GET"): [
        ("scan of A", lambda w: {"scan_id": w.scan_a}, scan_of("a")),
        ("scan of B", lambda w: {"scan_id": w.scan_b}, scan_of("b")),
        ("unknown scan", lambda w: {"scan_id": 999999}, everyone(404)),
    ],
    ("legality.proof", "GET"): [
        ("proof of A", lambda w: {"code": w.code_a}, everyone(200)),
        ("proof of B", lambda w: {"code": w.code_b}, everyone(200)),
        ("unknown code", lambda w: {"code": "ZZZZ0000"}, everyone(404)),
    ],
    ("legality.label_svg", "GET"): [
        ("label of A", lambda w: {"code": w.code_a}, everyone(200)),
        ("unknown code", lambda w: {"code": "ZZZZ0000"}, everyone(404)),
    ],
    ("accounts.accept_invitation", "GET"): [
        ("open invitation", lambda w: {"token": w.token}, everyone(200)),
        ("unknown token", lambda w: {"token": "not-a-real-token"}, everyone(410)),
        ("expired invitation", lambda w: {"token": w.expired_token}, everyone(410)),
    ],

    ("portal.finance", "GET"): [("own finances", lambda w: {}, member(200, 200))],
    ("portal.finance_csv", "GET"): [("own statement CSV", lambda w: {}, member(200, 200))],
    ("portal.bank_account", "GET"): [("own bank account", lambda w: {}, member(200, 200))],
    ("office.finance", "GET"): [("finances", lambda w: {}, office())],
    ("office.batch", "GET"): [
        ("a payout batch", lambda w: {"batch_id": _payout_batch(w)}, office()),
        ("unknown batch", lambda w: {"batch_id": 999999}, office(404)),
    ],
    ("office.batch_csv", "GET"): [
        ("a batch's bank file", lambda w: {"batch_id": _payout_batch(w)}, office()),
        ("unknown batch", lambda w: {"batch_id": 999999}, office(404)),
    ],
    ("office.village_finance", "GET"): [
        ("finances of A", lambda w: {"village_id": w.va}, office()),
        ("unknown village", lambda w: {"village_id": 999999}, office(404)),
    ],
    ("office.impact", "GET"): [("impact report", lambda w: {}, office())],
    ("office.impact_csv", "GET"): [("impact CSV", lambda w: {}, office())],
    ("office.shop_pages", "GET"): [("shop pages", lambda w: {}, office())],
    ("office.edit_shop_page", "GET"): [("edit a shop page", lambda w: {"slug": "tentang"}, office())],
    ("office.partners", "GET"): [("partners", lambda w: {}, office())],
    ("office.partner", "GET"): [
        ("a partner", lambda w: {"partner_id": _partner(w)}, office()),
        ("unknown partner", lambda w: {"partner_id": 999999}, office(404)),
    ],
}

#: Where a permitted redirect goes.
REDIRECTS = {
    "portal.home": lambda w: "/portal/pesanan",
    "office.home": lambda w: "/kantor/antrean",
    "portal.resubmit_paper": lambda w: f"/portal/dokumen/{w.pend_a}",  # only rejected papers
}


# --- the world: two villages, their papers and scans, one person per role ----------------------

def _png():
    out = io.BytesIO()
    Image.new("RGB", (24, 16), (200, 30, 30)).save(out, "PNG")
    return out.getvalue()


def _user(role, village_id=None):
    n = next(_seq)
    user = User(email=f"matrix-{role.replace('_', '-')}-{n}@example.org", name=f"Matrix {role} {n}",
                role=role, village_id=village_id, email_confirmed_at=now_utc())
    # A cheap hash: these tests sign many people in.
    user.password_hash = generate_password_hash(PASSWORD, method="pbkdf2:sha256:1000")
    db.session.add(user)
    db.session.commit()
    return user


def _pirt_number():
    return f"P-IRT No. 21053{next(_seq) + 10_000_000:08d}-30"


def submit_paper(client, *, kind, number, product_ids, expires_on=None):
    """Submit a paper through the real portal form, with a PNG scan."""
    page = client.get("/portal/dokumen/baru")
    assert page.status_code == 200
    return client.post("/portal/dokumen/baru", content_type="multipart/form-data", data={
        "csrf_token": csrf_token(page.get_data(as_text=True)), "kind": kind, "number": number,
        "issued_on": date(2024, 1, 15).isoformat(),
        "expires_on": expires_on.isoformat() if expires_on else "",
        "products": [str(i) for i in product_ids], "scan": (io.BytesIO(_png()), "scan.png")})


class World:
    """Villages A and B, each with a product, a verified NIB, a pending P-IRT uploaded by a member
    through the portal (with its scan) and a rejected halal certificate; a person per role."""

    def __init__(self, app):
        self.app = app
        village_a, village_b = make_certified_village(), make_certified_village()
        self.va, self.vb = village_a.id, village_b.id
        product_a, product_b = make_product(village_a, "kopi"), make_product(village_b, "kopi")
        self.pa, self.pb = product_a.id, product_b.id
        self.code_a, self.code_b = product_a.verification_code, product_b.verification_code
        self.nib_a, self.nib_b = (self._nib(self.va), self._nib(self.vb))
        self.rej_a = make_certificate(village_a, "halal", [product_a], status="rejected").id
        self.rej_b = make_certificate(village_b, "halal", [product_b], status="rejected").id
        self.users = {
            CUSTOMER: _user("customer"), MEMBER_A: _user("village_member", self.va),
            MEMBER_B: _user("village_member", self.vb), VERIFIER: _user("verifier"),
            ADMIN: _user("admin"),
        }
        self.user_ids = {role: user.id for role, user in self.users.items()}
        self.target_user = _user("customer").id  # whose role the admin changes
        self._clients = {}
        self.pend_a, self.scan_a = self._upload(MEMBER_A, self.pa)
        self.pend_b, self.scan_b = self._upload(MEMBER_B, self.pb)
        self.token = self.invite(self.va, f"undangan-{next(_seq)}@desa.example.id")
        self.expired_token = self.invite(self.va, f"lama-{next(_seq)}@desa.example.id", days=-1)
        self.parcel_a, self.parcel_b = _paid_parcel(self.va, self.pa), _paid_parcel(self.vb, self.pb)

    @staticmethod
    def _nib(village_id):
        return db.session.scalars(select(Certificate.id).where(
            Certificate.village_id == village_id, Certificate.kind == "nib")).one()

    def _upload(self, role, product_id):
        response = submit_paper(self.client(role), kind="pirt", number=_pirt_number(),
                                product_ids=[product_id], expires_on=today_wita() + timedelta(days=300))
        assert response.status_code == 303, response.get_data(as_text=True)
        certificate_id = int(urlparse(response.headers["Location"]).path.rstrip("/").rpartition("/")[2])
        db.session.expire_all()
        scan_id = db.session.scalars(select(CertificateScan.id).where(
            CertificateScan.certificate_id == certificate_id)).one()
        return certificate_id, scan_id

    def invite(self, village_id, email, days=7):
        invitation, token = invite_member(village_id=village_id, email=email, name="Calon Anggota",
                                          invited_by=self.users[ADMIN], days=days)
        db.session.commit()
        return token

    def client(self, role):
        if role not in self._clients:
            client = self.app.test_client()
            if role != ANON:
                sign_in(client, self.users[role])
            self._clients[role] = client
        return self._clients[role]

    def url(self, endpoint, **values):
        return url_for(endpoint, _external=False, **values)


def _paid_parcel(village_id, product_id, status="paid", **order_fields):
    """A paid bank-transfer order with one parcel of the village: its id."""
    n = next(_seq)
    order = Order(number=f"NTT-PAID-{n}", idempotency_key=f"paid-key-{n}", access_token_hash=f"{n:064x}",
                  name="Budi", email="budi@example.org", phone="+6281234567890",
                  province="Bali", regency="Denpasar", district="Denpasar Barat",
                  village_ward="Dauh Puri", postal_code="80113", street="Jl. Gajah Mada 1",
                  payment_method="bank_transfer", status="paid",
                  subtotal_idr=85000, shipping_idr=55000, total_idr=140000, **order_fields)
    db.session.add(order)
    db.session.flush()
    parcel = VillageOrder(order_id=order.id, village_id=village_id, village_name="Desa", status=status,
                          weight_grams=250, chargeable_kg=1, zone="indonesia", subtotal_idr=85000,
                          shipping_idr=55000)
    db.session.add(parcel)
    db.session.flush()
    db.session.add(OrderLine(village_order_id=parcel.id, product_id=product_id, sku=f"SKU-P{n}",
                             name="Kopi", village_name="Desa", price_idr=85000, quantity=1, weight_grams=250))
    db.session.commit()
    return parcel.id


class WorldCopies:
    """A world built through the real pages once per database, then copied for each later test.

    Building one takes a quarter of a second (two uploads through the portal, five sign-ins);
    130 tests per database built it anew. A copy is the same world: its rows put back with their
    ids (and PostgreSQL's sequences where they were), its media and scan files, and a client per
    role holding the cookies it held, so still signed in. Each test still starts from that world
    and whatever it changes is emptied away after it, as before.
    """

    #: Older copies are built anew: the staff's idle timeout (30 minutes) would sign their cookies out.
    MAX_AGE_SECONDS = 10 * 60

    def __init__(self, world_class):
        self.world_class = world_class
        self.templates = {}

    def world(self, app):
        template = self.templates.get(app.config["SQLALCHEMY_DATABASE_URI"])
        if template is not None and time.monotonic() - template.made < self.MAX_AGE_SECONDS:
            return template.copy(app)
        world = self.world_class(app)
        for role in ROLES:
            world.client(role)  # signed in now, so that copies hold the cookies
        self.templates[app.config["SQLALCHEMY_DATABASE_URI"]] = _Template(world)
        return world


def _data_tables():
    """The tables each test empties (conftest's ``_empty_tables``), parents first."""
    return [t for t in db.metadata.sorted_tables if t.name not in KEEP_TABLES]


def _file_roots(app):
    return [Path(app.config[key]) for key in ("MEDIA_ROOT", "SCAN_ROOT")]


class _Template:
    """What a world is made of, read right after it was built."""

    def __init__(self, world):
        self.made = time.monotonic()
        self.world_class = type(world)
        self.attributes = {k: v for k, v in vars(world).items() if k not in ("app", "users", "_clients")}
        self.cookies = {role: dict(client._cookies) for role, client in world._clients.items()}
        with db.engine.connect() as conn:
            self.rows = [(table, [dict(row._mapping) for row in conn.execute(table.select())])
                         for table in _data_tables()]
            self.sequences = []
            if conn.dialect.name == "postgresql":
                self.sequences = conn.execute(text(
                    "SELECT format('%I.%I', schemaname, sequencename), last_value FROM pg_sequences "
                    "WHERE last_value IS NOT NULL")).all()
        self.files = [{path.relative_to(root): path.read_bytes() for path in root.rglob("*")
                       if path.is_file()} for root in _file_roots(world.app)]

    def copy(self, app):
        with db.engine.begin() as conn:
            for table, rows in self.rows:
                if rows:
                    conn.execute(table.insert(), rows)
            for sequence, last_value in self.sequences:
                conn.execute(text("SELECT setval(:name, :value)"), {"name": sequence, "value": last_value})
        for root, files in zip(_file_roots(app), self.files):
            for relative, data in files.items():
                (root / relative).parent.mkdir(parents=True, exist_ok=True)
                (root / relative).write_bytes(data)
        world = self.world_class.__new__(self.world_class)
        vars(world).update(copy.deepcopy(self.attributes))
        world.app = app
        world.users = {role: db.session.get(User, user_id) for role, user_id in world.user_ids.items()}
        world._clients = {}
        for role, cookies in self.cookies.items():
            world._clients[role] = client = app.test_client()
            client._cookies.update(cookies)  # Cookie objects are replaced on change, never changed
        return world


WORLDS = WorldCopies(World)


@pytest.fixture
def world(app, client):  # ``client`` makes every test client open a fresh app context per request
    return WORLDS.world(app)


def fresh(model, ident):
    db.session.expire_all()
    return db.session.get(model, ident)


def _location_path(response):
    return urlparse(response.headers.get("Location", "")).path


# --- the rule table covers every route ----------------------------------------------------------

def _routes_of_this_issue(app):
    found = set()
    for rule in app.url_map.iter_rules():
        if rule.endpoint.startswith(("portal.", "office.", "legality.")) \
                or rule.endpoint == "accounts.accept_invitation":
            found |= {(rule.endpoint, method) for method in rule.methods - {"HEAD", "OPTIONS"}}
    return found


def test_every_route_has_an_access_rule(app):
    routes = _routes_of_this_issue(app)
    ruled = set(GET_RULES) | set(POST_CASES)
    assert len(routes) >= 25, "the portal, office and legality blueprints should be registered"
    assert not routes - ruled, f"routes without an access rule in this file: {sorted(routes - ruled)}"
    assert not ruled - routes, f"rules for routes that no longer exist: {sorted(ruled - routes)}"


# --- GET: every probe, for every role ------------------------------------------------------------

def wrong_answers(world, role, rules, redirects):
    """Every GET probe of ``rules`` as ``role``: what did not answer as the rule says."""
    client = world.client(role)
    wrong = []
    for (endpoint, _method), probes in rules.items():
        for what, values, expected in probes:
            url = world.url(endpoint, **values(world))
            response = client.get(url)
            response.get_data()  # read streamed bodies (CSV) while their context is alive
            want = expected[role]
            if response.status_code != want:
                wrong.append(f"{endpoint} ({what}) {url}: expected {want}, got {response.status_code}")
                continue
            if want == 302 and role == ANON:
                location = urlparse(response.headers["Location"])
                if location.path != SIGN_IN_PATH or parse_qs(location.query).get("next") is None:
                    wrong.append(f"{endpoint} ({what}): anonymous sent to {response.headers['Location']}")
            elif want in (302, 303) and _location_path(response) != redirects[endpoint](world):
                wrong.append(f"{endpoint} ({what}): redirected to {response.headers['Location']}")
    return wrong


@pytest.mark.parametrize("role", ROLES)
def test_get_matrix(world, role):
    wrong = wrong_answers(world, role, GET_RULES, REDIRECTS)
    assert not wrong, "\n".join(wrong)


@pytest.mark.parametrize("role", [MEMBER_A, VERIFIER, ADMIN])
def test_scan_is_the_uploaded_file_served_privately(world, app, role):
    scan = fresh(CertificateScan, world.scan_a)
    response = world.client(role).get(f"/dokumen/scan/{world.scan_a}")
    assert response.status_code == 200
    assert response.mimetype == "image/png"
    assert response.data == (Path(app.config["SCAN_ROOT"]) / scan.key).read_bytes()
    assert response.data.startswith(b"\x89PNG")
    assert "no-store" in response.headers["Cache-Control"]
    assert "text/html" not in response.headers["Content-Type"]


def test_scan_file_lives_outside_static(world, app):
    scan = fresh(CertificateScan, world.scan_a)
    assert (Path(app.config["SCAN_ROOT"]) / scan.key).is_file()
    assert world.client(ANON).get(f"/static/{scan.key}").status_code == 404
    assert world.client(ANON).get(f"/media/{scan.key}").status_code == 404


# --- POST: forbidden roles change nothing, allowed roles change what they should ----------------

def _certificates():
    db.session.expire_all()
    rows = db.session.execute(select(Certificate.id, Certificate.village_id, Certificate.number,
                                     Certificate.status)).all()
    links = db.session.execute(select(certificate_products)).all()
    return {r.id: (r.village_id, r.number, r.status,
                   sorted(p for c, p in links if c == r.id)) for r in rows}


def _status(certificate_id):
    return fresh(Certificate, certificate_id).status


class PostCase:
    """One POST route: who may act, on what, and how the change shows in the database.

    ``target(world, role)`` picks the object the role acts on (forbidden roles always aim at
    village A's object); ``snapshot`` reads the state; ``changed(before, after, world, role)``
    says whether an allowed actor did what they meant to.
    """

    def __init__(self, expect, target, data, snapshot, changed, form_page=None, prepare=None):
        self.expect, self.target, self.data = expect, target, data
        self.snapshot, self.changed = snapshot, changed
        self.form_page, self.prepare = form_page, prepare


def _submit_data(w, role):
    product = w.pb if role == MEMBER_B else w.pa
    w.last_number = _pirt_number()
    return {"kind": "pirt", "number": w.last_number, "issued_on": "2024-01-15",
            "expires_on": (today_wita() + timedelta(days=200)).isoformat(),
            "products": [str(product)], "scan": (io.BytesIO(_png()), "scan.png")}


def _submitted_own(before, after, w, role):
    new = [after[i] for i in set(after) - set(before)]
    village, product = (w.vb, w.pb) if role == MEMBER_B else (w.va, w.pa)
    return (len(new) == 1 and new[0][0] == village and new[0][2] == "pending"
            and new[0][3] == [product] and all(after[i] == before[i] for i in before))


def _village_target(w, role):
    return w.vb if role == ADMIN else w.va


def _cert_target(a, b):
    return lambda w, role: getattr(w, b) if role == ADMIN else getattr(w, a)


def _suspend_both(w):
    for village_id in (w.va, w.vb):
        fresh(Village, village_id).active = False
    db.session.commit()


def _village_states(w, role):
    db.session.expire_all()
    return {v.id: v.active for v in db.session.scalars(select(Village))}


def _invitations(w, role):
    db.session.expire_all()
    return {(i.email, i.village_id) for i in db.session.scalars(select(Invitation))}


def _villages(w, role):
    db.session.expire_all()
    return set(db.session.scalars(select(Village.slug)))


def _roles(w, role):
    db.session.expire_all()
    return {u.id: u.role for u in db.session.scalars(select(User))}


def _prepare_invitations(w):
    w.invitations = {role: (f"baru-{role.replace('_', '-')}-{next(_seq)}@desa.example.id")
                     for role in ROLES}
    w.invitation_tokens = {role: w.invite(w.va, email) for role, email in w.invitations.items()}


def _accounts(w, role):
    db.session.expire_all()
    return {(u.email, u.role, u.village_id) for u in db.session.scalars(select(User))}


def _prepare_orders(w):
    """One unpaid bank-transfer order per role, for the office to confirm."""
    w.orders = {}
    for role in ROLES:
        n = next(_seq)
        order = Order(number=f"NTT-TEST-{n}", idempotency_key=f"key-{n}", access_token_hash=f"{n:064d}",
                      name="Budi", email="budi@example.org", phone="+6281234567890",
                      province="Bali", regency="Denpasar", district="Denpasar Barat",
                      village_ward="Dauh Puri", postal_code="80113", street="Jl. Gajah Mada 1",
                      payment_method="bank_transfer", status="awaiting_payment",
                      subtotal_idr=100000, shipping_idr=55000, total_idr=155000)
        db.session.add(order)
        db.session.commit()
        w.orders[role] = order.id


def _order_states(w, role):
    db.session.expire_all()
    return {o.id: o.status for o in db.session.scalars(select(Order))}


def _prepare_money(status, received):
    """One bank-transfer order per role in ``status`` that received ``received`` rupiah."""
    def prepare(w):
        _prepare_orders(w)
        db.session.execute(Order.__table__.update().where(Order.id.in_(w.orders.values())).values(status=status))
        for order_id in w.orders.values():
            db.session.add(PaymentReceived(order_id=order_id, method="bank_transfer", amount_idr=received,
                                           received_on=today_wita(), reference=f"BNTT{order_id:04d}",
                                           recorded_by="Matrix"))
        db.session.commit()
    return prepare


def _money_received(w, role):
    db.session.expire_all()
    return dict(db.session.execute(select(PaymentReceived.order_id, func.sum(PaymentReceived.amount_idr))
                                   .group_by(PaymentReceived.order_id)).all())


def _number_of(parcel_id):
    """The number of the order a parcel belongs to (the office's order pages are by number)."""
    return db.session.scalar(select(Order.number).join(VillageOrder, VillageOrder.order_id == Order.id)
                             .where(VillageOrder.id == parcel_id))


def _transfer_receipt(w):
    """A buyer's transfer receipt (a PNG), made once for the probes that open it."""
    if not hasattr(w, "receipt"):
        _prepare_orders(w)
        key = store_scan(CleanScan(_png(), "image/png", "png", "bukti.png"))
        receipt = TransferReceipt(order_id=w.orders[CUSTOMER], key=key, content_type="image/png")
        db.session.add(receipt)
        db.session.commit()
        w.receipt = receipt.id
    return w.receipt


def _prepare_refused_payments(w):
    """One card payment per role that Stripe took but the shop refused to apply."""
    w.refused = {}
    for role in ROLES:
        event = StripeEvent(id=f"evt_matrix{next(_seq)}", type="checkout.session.completed",
                            session_id=f"cs_test_matrix{next(_seq)}", amount_total=1_000_000, currency="idr",
                            payment_status="paid", refusal="not_card other_session")
        db.session.add(event)
        db.session.commit()
        w.refused[role] = event.id


def _prepare_refused_midtrans(w):
    """One Midtrans payment per role that took money but that the shop refused to apply."""
    w.refused_midtrans = {}
    for role in ROLES:
        n = next(_seq)
        note = MidtransNotification(key=f"matrix-{n}:settlement:200", transaction_id=f"matrix-{n}",
                                    transaction_status="settlement", status_code="200", payment_type="qris",
                                    gross_amount_idr=10_000, currency="IDR", took_money=True, refusal="amount")
        db.session.add(note)
        db.session.commit()
        w.refused_midtrans[role] = note.id


def _settled_midtrans(w, role):
    db.session.expire_all()
    return {n.id: n.settled_by is not None for n in db.session.scalars(select(MidtransNotification))}


def _settled_payments(w, role):
    db.session.expire_all()
    return {e.id: e.settled_by is not None for e in db.session.scalars(select(StripeEvent))}


def _rates(w, role):
    db.session.expire_all()
    return {r.zone: r.rate_per_kg_idr for r in db.session.scalars(select(ShippingRate))}


def _feed_tokens(w, role):
    db.session.expire_all()
    return dict(db.session.execute(select(Village.id, Village.feed_token)).all())


def _rotated_own(before, after, w, role):
    own = w.vb if role == MEMBER_B else w.va
    return (after[own] is not None and after[own] != before[own]
            and all(after[i] == before[i] for i in before if i != own))


def _products(w=None, role=None):
    """Each product as village, name and price; the name as the village last asked for it
    (a change to an approved product's name waits for the office as a proposal)."""
    db.session.expire_all()
    proposals = {r.product_id: r.name for r in db.session.scalars(
        select(ProductRevision).where(ProductRevision.status == "pending"))}
    return {p.id: (p.village_id, proposals.get(p.id, p.name), p.price_idr)
            for p in db.session.scalars(select(Product))}


def _propose_both(w):
    """A waiting change of the name of A's and of B's product."""
    for product_id in (w.pa, w.pb):
        product = db.session.scalars(select(Product).where(Product.id == product_id)
                                     .options(selectinload(Product.photos))).one()
        propose_change(product, {"name": f"{product.name} (baru)"}, None)
    db.session.commit()


def _revisions(w, role):
    db.session.expire_all()
    return {r.id: (r.product_id, r.status) for r in db.session.scalars(select(ProductRevision))}


def _pending_revision_of(product_id):
    db.session.expire_all()
    return db.session.scalars(select(ProductRevision.id).where(
        ProductRevision.product_id == product_id, ProductRevision.status == "pending")).one()


def _listing_target(w, role):
    return w.pb if role == ADMIN else w.pa


def _revision_moved(to_status):
    def check(before, after, w, role):
        product_id = _listing_target(w, role)
        moved = [i for i in after if after[i] != before.get(i)]
        return [after[i] for i in moved] == [(product_id, to_status)]
    return check


def _product_data(w, role, **changes):
    return {"name": f"Produk {role}", "category": str(category("kopi").id), "description": "",
            "price_idr": "85000", "weight_grams": "250", "published": "y", **changes}


def _created_own(before, after, w, role):
    new = [after[i] for i in set(after) - set(before)]
    village = w.vb if role == MEMBER_B else w.va
    return new == [(village, f"Produk {role}", 85000)] and all(after[i] == before[i] for i in before)


def _add_photo(w):
    photo = ProductPhoto(product_id=w.pa, position=0, key=f"foto-a-{next(_seq):04d}")
    db.session.add(photo)
    db.session.commit()
    w.photo_a = photo.key


def _photos(w, role):
    """Each product's photos as the village last asked for them (a removal from an approved
    product waits for the office as a proposal)."""
    db.session.expire_all()
    shown = {}
    for photo in db.session.scalars(select(ProductPhoto).order_by(ProductPhoto.position)):
        shown.setdefault(photo.product_id, []).append(photo.key)
    for revision in db.session.scalars(select(ProductRevision).where(ProductRevision.status == "pending")):
        shown[revision.product_id] = json.loads(revision.photo_keys)
    return {product_id: keys for product_id, keys in shown.items() if keys}


def _webhooks(w, role):
    db.session.expire_all()
    return {h.village_id: (h.url, h.active) for h in db.session.scalars(select(VillageWebhook))}


def _saved_own_webhook(before, after, w, role):
    own = w.vb if role == MEMBER_B else w.va
    return (after.get(own) == ("https://desa.example.id/hook", True)
            and {k: v for k, v in after.items() if k != own} == {k: v for k, v in before.items() if k != own})


def _prepare_failed_delivery(w):
    message = OutboxMessage(event_id=f"evt_matrix{next(_seq)}", kind="order.paid", village_id=w.va,
                            channel="email", target="desa@desa.example.id", payload='{"subject": "s", "body": "b"}',
                            status="failed", attempts=3)
    db.session.add(message)
    db.session.commit()
    w.delivery_a = message.id


def _deliveries(w, role):
    db.session.expire_all()
    return {m.id: m.status for m in db.session.scalars(select(OutboxMessage))}


def _parcels(w, role):
    db.session.expire_all()
    return {p.id: (p.status, p.refund_state) for p in db.session.scalars(select(VillageOrder))}


def _holds(w, role):
    db.session.expire_all()
    return {o.id: o.hold_reason for o in db.session.scalars(select(Order))}


def _prepare_office_parcels(**fields):
    """One paid parcel of village A per role (held, or waiting for a refund, as asked)."""
    hold = fields.pop("hold_reason", None)

    def prepare(w):
        w.office_parcels = {role: _paid_parcel(w.va, w.pa, hold_reason=hold)
                            for role in ROLES}
        if fields:
            db.session.execute(VillageOrder.__table__.update().where(
                VillageOrder.id.in_(w.office_parcels.values())).values(**fields))
            db.session.commit()
        w.office_orders = {role: fresh(VillageOrder, parcel).order_id for role, parcel in w.office_parcels.items()}
    return prepare


def _only(changed_key, expect_value, index=None):
    """The role's own object changed to ``expect_value``; nothing else changed."""
    def check(before, after, w, role):
        key = changed_key(w, role)
        got = after[key] if index is None else after[key][index]
        return got == expect_value and {k: v for k, v in after.items() if k != key} == \
            {k: v for k, v in before.items() if k != key}
    return check


def _finance_accounts(w, verified):
    """A bank account for villages A and B (verified or waiting): their ids."""
    w.accounts = {}
    with unit_of_work():
        for village_id, number in ((w.va, "0010102012345"), (w.vb, "7770001112223")):
            account = payouts.submit_account(village_id, bank_code="130", account_number=number,
                                             holder_name="Kelompok Uji", actor_name="matrix")
            if verified:
                payouts.review_account(account.id, verified=True, actor_name="matrix")
            w.accounts[village_id] = account.id


def _finance_money(w):
    """Verified accounts; A has Rp 150.000 available, B Rp 60.000."""
    _finance_accounts(w, verified=True)
    with unit_of_work():
        ledger.adjust(w.va, 150_000, "matrix", "saldo uji")
        ledger.adjust(w.vb, 60_000, "matrix", "saldo uji")


def _payout_batch(w):
    """A batch paying villages A and B (made once): its id; ``w.payouts`` by village."""
    if not hasattr(w, "batch"):
        _finance_money(w)
        with unit_of_work():
            w.batch = payouts.build_batch(50_000, "matrix").id
        w.payouts = dict(db.session.execute(select(Payout.village_id, Payout.id)).all())
    return w.batch


def _finance_adjustments(w):
    with unit_of_work():
        w.adjustments = {w.va: ledger.adjust(w.va, 10_000, "matrix", "koreksi").id,
                         w.vb: ledger.adjust(w.vb, 10_000, "matrix", "koreksi").id}


def _account_states(w, role):
    db.session.expire_all()
    return dict(db.session.execute(select(BankAccount.id, BankAccount.status)).all())


def _own_new_account(before, after, w, role):
    db.session.expire_all()
    village = w.vb if role == MEMBER_B else w.va
    new = set(after) - set(before)
    return (len(new) == 1 and db.session.get(BankAccount, new.pop()).village_id == village
            and all(after[i] == before[i] for i in before))


def _payout_states(w, role):
    db.session.expire_all()
    return dict(db.session.execute(select(Payout.id, Payout.status)).all())


def _payouts_made(w, role):
    db.session.expire_all()
    return dict(db.session.execute(select(Payout.id, Payout.village_id)).all())


def _available(w, role):
    db.session.expire_all()
    return dict(db.session.execute(select(VillageBalance.village_id, VillageBalance.available_idr)).all())


def _reversed(w, role):
    db.session.expire_all()
    return set(db.session.scalars(select(LedgerEntry.reverses_id).where(LedgerEntry.reverses_id.is_not(None))))


def _fees(w, role):
    db.session.expire_all()
    return [row[0] for row in db.session.execute(select(ledger.FeeRate.basis_points)
                                                 .order_by(ledger.FeeRate.id)).all()]


def _page_revisions(w, role):
    db.session.expire_all()
    return set(db.session.execute(select(PageRevision.slug, PageRevision.title_id, PageRevision.editor_id)).all())


def _partner(w):
    """A partner marketplace, made once for the probes that open it."""
    if not hasattr(w, "partner"):
        with unit_of_work():
            w.partner = create_partner("NTT Mart").id
    return w.partner


def _prepare_partner_keys(w):
    """One key of the partner per role, for the role to rotate or revoke."""
    _partner(w)
    with unit_of_work():
        w.partner_keys = {role: issue_key(w.partner)[0].id for role in ROLES}


def _partner_keys(w, role):
    db.session.expire_all()
    return {k.id: (k.expires_at is not None, k.revoked_at is not None) for k in db.session.scalars(select(PartnerKey))}


def _partner_names(w, role):
    db.session.expire_all()
    return {(p.name, p.webhook_url) for p in db.session.scalars(select(Partner))}


def _page_data(w, role):
    """A new text of /tentang, from the revision it shows now (as the form would send it)."""
    db.session.expire_all()
    shown = db.session.scalar(select(func.max(PageRevision.id)).where(PageRevision.slug == "tentang")) or 0
    return {"replaces": str(shown), "title_id": f"Tentang ({role})", "body_id": "Teks.",
            "title_en": f"About ({role})", "body_en": "Text.", "action": "save"}


POST_CASES = {
    ("office.new_partner", "POST"): PostCase(
        expect=office(303), target=lambda w, role: {}, data=lambda w, role: {"name": f"Mitra {role}"},
        snapshot=_partner_names,
        changed=lambda before, after, w, role: after - before == {(f"Mitra {role}", None)},
        form_page=lambda w, role: w.url("office.partners")),
    ("office.issue_partner_key", "POST"): PostCase(
        expect=office(303), prepare=_partner, target=lambda w, role: {"partner_id": w.partner},
        data=lambda w, role: {"requests_per_minute": "60"}, snapshot=_partner_keys,
        changed=lambda before, after, w, role: len(set(after) - set(before)) == 1,
        form_page=lambda w, role: w.url("office.partner", partner_id=w.partner)),
    ("office.rotate_partner_key", "POST"): PostCase(
        expect=office(303), prepare=_prepare_partner_keys,
        target=lambda w, role: {"partner_id": w.partner, "key_id": w.partner_keys[role]},
        data=lambda w, role: {}, snapshot=_partner_keys,
        changed=lambda before, after, w, role: (after[w.partner_keys[role]] == (True, False)
                                                and len(set(after) - set(before)) == 1),
        form_page=lambda w, role: w.url("office.partner", partner_id=w.partner)),
    ("office.revoke_partner_key", "POST"): PostCase(
        expect=office(303), prepare=_prepare_partner_keys,
        target=lambda w, role: {"partner_id": w.partner, "key_id": w.partner_keys[role]},
        data=lambda w, role: {}, snapshot=_partner_keys,
        changed=_only(lambda w, role: w.partner_keys[role], (False, True)),
        form_page=lambda w, role: w.url("office.partner", partner_id=w.partner)),
    ("office.partner_webhook", "POST"): PostCase(
        expect=office(303), prepare=_partner, target=lambda w, role: {"partner_id": w.partner},
        data=lambda w, role: {"action": "save", "url": f"https://{role}.mitra.example/hook"},
        snapshot=_partner_names,
        changed=lambda before, after, w, role: after == {("NTT Mart", f"https://{role}.mitra.example/hook")},
        form_page=lambda w, role: w.url("office.partner", partner_id=w.partner)),
    ("office.edit_shop_page", "POST"): PostCase(
        expect=office(303),
        target=lambda w, role: {"slug": "tentang"},
        data=_page_data,
        snapshot=_page_revisions,
        changed=lambda before, after, w, role: after - before == {
            ("tentang", f"Tentang ({role})", w.user_ids[role])},
        form_page=lambda w, role: w.url("office.edit_shop_page", slug="tentang")),
    ("portal.rotate_feed_token", "POST"): PostCase(
        expect=member(303, 303), target=lambda w, role: {}, data=lambda w, role: {"confirm": "y"},
        snapshot=_feed_tokens, changed=_rotated_own,
        form_page=lambda w, role: w.url("portal.feeds")),
    ("portal.new_product", "POST"): PostCase(
        expect=member(303, 303), target=lambda w, role: {},
        data=lambda w, role: _product_data(w, role, stock="5"),
        snapshot=_products, changed=_created_own,
        form_page=lambda w, role: w.url("portal.new_product")),
    ("portal.edit_product", "POST"): PostCase(
        expect=member(303, 404), target=lambda w, role: {"product_id": w.pa},
        data=lambda w, role: _product_data(w, role, stock=str(fresh(Product, w.pa).stock),
                                           stock_seen=str(fresh(Product, w.pa).stock), price_idr="99000"),
        snapshot=_products,
        changed=lambda before, after, w, role: (
            after[w.pa] == (w.va, f"Produk {role}", 99000)
            and {i: v for i, v in after.items() if i != w.pa} == {i: v for i, v in before.items() if i != w.pa}),
        form_page=lambda w, role: w.url("portal.edit_product", product_id=w.pa)),
    ("portal.delete_photo", "POST"): PostCase(
        expect=member(303, 404), prepare=_add_photo,
        target=lambda w, role: {"product_id": w.pa, "key": w.photo_a},
        data=lambda w, role: {}, snapshot=_photos,
        changed=lambda before, after, w, role: w.pa not in after and before[w.pa] == [w.photo_a],
        form_page=lambda w, role: w.url("portal.edit_product", product_id=w.pa)),
    ("portal.withdraw_change", "POST"): PostCase(
        expect=member(303, 404), prepare=_propose_both,
        target=lambda w, role: {"product_id": w.pa}, data=lambda w, role: {}, snapshot=_revisions,
        changed=lambda before, after, w, role: [v for i, v in after.items() if v != before[i]]
        == [(w.pa, "withdrawn")],
        form_page=lambda w, role: w.url("portal.edit_product", product_id=w.pa)),
    ("office.approve_listing", "POST"): PostCase(
        expect=office(303), prepare=_propose_both,
        target=lambda w, role: {"product_id": _listing_target(w, role)},
        data=lambda w, role: {"revision_id": str(_pending_revision_of(_listing_target(w, role)))},
        snapshot=_revisions, changed=_revision_moved("approved"),
        form_page=lambda w, role: w.url("office.listing", product_id=_listing_target(w, role))),
    ("office.reject_listing", "POST"): PostCase(
        expect=office(303), prepare=_propose_both,
        target=lambda w, role: {"product_id": _listing_target(w, role)},
        data=lambda w, role: {"revision_id": str(_pending_revision_of(_listing_target(w, role))),
                              "reason": "Nama baru tidak sesuai izin P-IRT."},
        snapshot=_revisions, changed=_revision_moved("rejected"),
        form_page=lambda w, role: w.url("office.listing", product_id=_listing_target(w, role))),
    ("portal.webhook", "POST"): PostCase(
        expect=member(303, 303), target=lambda w, role: {},
        data=lambda w, role: {"action": "save", "url": "https://desa.example.id/hook"},
        snapshot=_webhooks, changed=_saved_own_webhook,
        form_page=lambda w, role: w.url("portal.webhook")),
    ("portal.resend_delivery", "POST"): PostCase(
        expect=member(303, 404), prepare=_prepare_failed_delivery,
        target=lambda w, role: {"message_id": w.delivery_a}, data=lambda w, role: {},
        snapshot=_deliveries, changed=_only(lambda w, role: w.delivery_a, "pending"),
        form_page=lambda w, role: w.url("portal.deliveries")),
    ("portal.change_order", "POST"): PostCase(
        expect=member(303, 404),
        target=lambda w, role: {"village_order_id": w.parcel_a},
        data=lambda w, role: {"to_status": "accepted"},
        snapshot=_parcels,
        changed=_only(lambda w, role: w.parcel_a, "accepted", 0),
        form_page=lambda w, role: w.url("portal.order", village_order_id=w.parcel_a)),
    ("office.release_order", "POST"): PostCase(
        expect=office(303),
        prepare=_prepare_office_parcels(hold_reason="papers lapsed"),
        target=lambda w, role: {"order_id": w.office_orders[role]},
        data=lambda w, role: {},
        snapshot=_holds,
        changed=_only(lambda w, role: w.office_orders[role], None),
        form_page=lambda w, role: w.url("office.orders")),
    ("office.refund_done", "POST"): PostCase(
        expect=office(303),
        prepare=_prepare_office_parcels(status="declined", refund_state="office", status_reason="rusak"),
        target=lambda w, role: {"village_order_id": w.office_parcels[role]},
        data=lambda w, role: {},
        snapshot=_parcels,
        changed=_only(lambda w, role: w.office_parcels[role], "refunded", 1),
        form_page=lambda w, role: w.url("office.orders")),
    ("office.change_parcel_status", "POST"): PostCase(
        expect=office(303),
        prepare=_prepare_office_parcels(),
        target=lambda w, role: {"village_order_id": w.office_parcels[role]},
        data=lambda w, role: {"to_status": "cancelled", "reason": "Desa tidak dapat mengirim"},
        snapshot=_parcels,
        changed=_only(lambda w, role: w.office_parcels[role], ("cancelled", "office")),
        form_page=lambda w, role: w.url("office.orders")),
    ("office.record_transfer", "POST"): PostCase(
        expect=office(303),
        target=lambda w, role: {"order_id": w.orders[role]},
        data=lambda w, role: {"amount": "155.000", "received_on": today_wita().isoformat(),
                              "reference": f"BNTT{ROLES.index(role):04d}"},
        snapshot=_order_states,
        changed=lambda before, after, w, role: (
            after[w.orders[role]] == "paid"
            and {k: v for k, v in after.items() if k != w.orders[role]}
            == {k: v for k, v in before.items() if k != w.orders[role]}),
        form_page=lambda w, role: w.url("office.orders"),
        prepare=_prepare_orders),
    ("office.record_refund", "POST"): PostCase(
        expect=office(303),
        prepare=_prepare_money(status="expired", received=155000),
        target=lambda w, role: {"order_id": w.orders[role]},
        data=lambda w, role: {"amount": "155000", "received_on": today_wita().isoformat(), "reference": ""},
        snapshot=_money_received,
        changed=_only(lambda w, role: w.orders[role], 0),
        form_page=lambda w, role: w.url("office.orders")),
    ("office.cancel_underpaid", "POST"): PostCase(
        expect=office(303),
        prepare=_prepare_money(status="awaiting_payment", received=100000),
        target=lambda w, role: {"order_id": w.orders[role]},
        data=lambda w, role: {"reason": "Sisa pembayaran tidak datang"},
        snapshot=_order_states,
        changed=_only(lambda w, role: w.orders[role], "cancelled"),
        form_page=lambda w, role: w.url("office.orders")),
    ("office.refund_delivered_parcel", "POST"): PostCase(
        expect=office(303),
        prepare=_prepare_office_parcels(status="delivered"),
        target=lambda w, role: {"village_order_id": w.office_parcels[role]},
        data=lambda w, role: {"reason": "Barang rusak saat tiba"},
        snapshot=_parcels,
        changed=_only(lambda w, role: w.office_parcels[role], ("delivered", "office")),
        form_page=lambda w, role: w.url("office.orders")),
    ("office.settle_card_payment", "POST"): PostCase(
        expect=office(303),
        prepare=_prepare_refused_payments,
        target=lambda w, role: {"event_id": w.refused[role]},
        data=lambda w, role: {},
        snapshot=_settled_payments,
        changed=_only(lambda w, role: w.refused[role], True),
        form_page=lambda w, role: w.url("office.orders")),
    ("office.settle_midtrans_payment", "POST"): PostCase(
        expect=office(303),
        prepare=_prepare_refused_midtrans,
        target=lambda w, role: {"notification_id": w.refused_midtrans[role]},
        data=lambda w, role: {},
        snapshot=_settled_midtrans,
        changed=_only(lambda w, role: w.refused_midtrans[role], True),
        form_page=lambda w, role: w.url("office.orders")),
    ("office.shipping_rates", "POST"): PostCase(
        expect=office(303),
        target=lambda w, role: {},
        data=lambda w, role: {"same_regency": "13000", "ntt": "26000", "indonesia": "57000"},
        snapshot=_rates,
        changed=lambda before, after, w, role: after == {"same_regency": 13000, "ntt": 26000, "indonesia": 57000},
        form_page=lambda w, role: w.url("office.shipping_rates")),
    ("portal.submit_paper", "POST"): PostCase(
        expect=member(303, 303),
        target=lambda w, role: {},
        data=_submit_data,
        snapshot=lambda w, role: _certificates(),
        changed=_submitted_own,
        form_page=lambda w, role: w.url("portal.submit_paper")),
    ("portal.resubmit_paper", "POST"): PostCase(
        expect=member(303, 404),
        target=lambda w, role: {"certificate_id": w.rej_a},
        data=lambda w, role: {"kind": "halal", "number": f"ID53{next(_seq) + 10**14:015d}",
                              "issued_on": "2024-02-01", "expires_on": "",
                              "products": [str(w.pa)]},
        snapshot=lambda w, role: _certificates(),
        changed=lambda before, after, w, role: (
            after[w.rej_a][2] == "pending" and after[w.rej_a][1] != before[w.rej_a][1]
            and {i: v for i, v in after.items() if i != w.rej_a}
            == {i: v for i, v in before.items() if i != w.rej_a}),
        form_page=lambda w, role: w.url("portal.resubmit_paper", certificate_id=w.rej_a)),
    ("office.verify", "POST"): PostCase(
        expect=office(303),
        target=lambda w, role: {"certificate_id": _cert_target("pend_a", "pend_b")(w, role)},
        data=lambda w, role: {},
        snapshot=lambda w, role: _certificates(),
        changed=lambda before, after, w, role: (
            after[_cert_target("pend_a", "pend_b")(w, role)][2] == "verified"),
        form_page=lambda w, role: w.url("office.paper", certificate_id=_cert_target("pend_a", "pend_b")(w, role))),
    ("office.reject", "POST"): PostCase(
        expect=office(303),
        target=lambda w, role: {"certificate_id": _cert_target("pend_a", "pend_b")(w, role)},
        data=lambda w, role: {"reason": "Scan tidak terbaca; kirim ulang yang jelas."},
        snapshot=lambda w, role: _certificates(),
        changed=lambda before, after, w, role: (
            after[_cert_target("pend_a", "pend_b")(w, role)][2] == "rejected"),
        form_page=lambda w, role: w.url("office.paper", certificate_id=_cert_target("pend_a", "pend_b")(w, role))),
    ("office.revoke", "POST"): PostCase(
        expect=office(303),
        target=lambda w, role: {"certificate_id": _cert_target("nib_a", "nib_b")(w, role)},
        data=lambda w, role: {"reason": "NIB dicabut oleh OSS."},
        snapshot=lambda w, role: _certificates(),
        changed=lambda before, after, w, role: (
            after[_cert_target("nib_a", "nib_b")(w, role)][2] == "revoked"),
        form_page=lambda w, role: w.url("office.paper", certificate_id=_cert_target("nib_a", "nib_b")(w, role))),
    ("office.suspend_village", "POST"): PostCase(
        expect=office(303),
        target=lambda w, role: {"village_id": _village_target(w, role)},
        data=lambda w, role: {},
        snapshot=_village_states,
        changed=lambda before, after, w, role: after[_village_target(w, role)] is False,
        form_page=lambda w, role: w.url("office.villages")),
    ("office.reinstate_village", "POST"): PostCase(
        expect=office(303),
        target=lambda w, role: {"village_id": _village_target(w, role)},
        data=lambda w, role: {},
        snapshot=_village_states,
        changed=lambda before, after, w, role: after[_village_target(w, role)] is True,
        form_page=lambda w, role: w.url("office.villages"),
        prepare=_suspend_both),
    ("office.invite", "POST"): PostCase(
        expect=office(303),
        target=lambda w, role: {"village_id": w.va},
        data=lambda w, role: {"name": "Ibu Maria", "email": f"maria-{role}@desa.example.id"},
        snapshot=_invitations,
        changed=lambda before, after, w, role: after - before == {(f"maria-{role}@desa.example.id", w.va)},
        form_page=lambda w, role: w.url("office.invite", village_id=w.va)),
    ("office.new_village", "POST"): PostCase(
        expect=office(303),
        target=lambda w, role: {},
        data=lambda w, role: {"name": f"Desa Baru {role}", "slug": f"desa-baru-{role.replace('_', '-')}",
                              "regency_code": "53.09", "district": "Bajawa",
                              "group_name": "Kelompok Baru", "group_type": "koperasi",
                              "phone": "", "email": "", "story": ""},
        snapshot=_villages,
        changed=lambda before, after, w, role: after - before == {f"desa-baru-{role.replace('_', '-')}"},
        form_page=lambda w, role: w.url("office.new_village")),
    ("office.change_role", "POST"): PostCase(
        expect=admin_only(303),
        target=lambda w, role: {"user_id": w.target_user},
        data=lambda w, role: {"role": "verifier"},
        snapshot=_roles,
        changed=lambda before, after, w, role: (
            after[w.target_user] == "verifier"
            and {k: v for k, v in after.items() if k != w.target_user}
            == {k: v for k, v in before.items() if k != w.target_user}),
        form_page=lambda w, role: w.url("office.users")),
    ("accounts.accept_invitation", "POST"): PostCase(
        # The e-mailed link is the credential: whoever holds it may accept it.
        expect=everyone(303),
        target=lambda w, role: {"token": w.invitation_tokens[role]},
        data=lambda w, role: {"name": "Anggota Baru", "password": PASSWORD, "confirm": PASSWORD},
        snapshot=_accounts,
        changed=lambda before, after, w, role: after - before == {
            (w.invitations[role], "village_member", w.va)},
        form_page=lambda w, role: w.url("accounts.accept_invitation", token=w.invitation_tokens[role]),
        prepare=_prepare_invitations),

    ("portal.bank_account", "POST"): PostCase(
        expect=member(303, 303),
        target=lambda w, role: {},
        data=lambda w, role: {"bank_code": "130", "account_number": f"00101020{ROLES.index(role):05d}",
                              "holder_name": "Kelompok Uji"},
        snapshot=_account_states,
        changed=_own_new_account,
        form_page=lambda w, role: w.url("portal.bank_account")),
    ("office.set_fee", "POST"): PostCase(
        expect=office(303),
        target=lambda w, role: {},
        data=lambda w, role: {"percent": str(ROLES.index(role))},
        snapshot=_fees,
        changed=lambda before, after, w, role: after == before + [ROLES.index(role) * 100],
        form_page=lambda w, role: w.url("office.finance")),
    ("office.build_batch", "POST"): PostCase(
        # The verifier's minimum pays A only (Rp 150.000); the admin's then pays B (Rp 60.000).
        expect=office(303),
        target=lambda w, role: {},
        data=lambda w, role: {"minimum_idr": "100.000" if role == VERIFIER else "50.000"},
        snapshot=_payouts_made,
        changed=lambda before, after, w, role: (
            [after[i] for i in set(after) - set(before)] == [w.va if role == VERIFIER else w.vb]),
        form_page=lambda w, role: w.url("office.finance"),
        prepare=_finance_money),
    ("office.verify_account", "POST"): PostCase(
        expect=office(303),
        target=lambda w, role: {"account_id": w.accounts[_village_target(w, role)]},
        data=lambda w, role: {},
        snapshot=_account_states,
        changed=_only(lambda w, role: w.accounts[_village_target(w, role)], "verified"),
        form_page=lambda w, role: w.url("office.finance"),
        prepare=lambda w: _finance_accounts(w, verified=False)),
    ("office.refuse_account", "POST"): PostCase(
        expect=office(303),
        target=lambda w, role: {"account_id": w.accounts[_village_target(w, role)]},
        data=lambda w, role: {"reason": "Nama pemilik tidak cocok dengan buku tabungan."},
        snapshot=_account_states,
        changed=_only(lambda w, role: w.accounts[_village_target(w, role)], "rejected"),
        form_page=lambda w, role: w.url("office.finance"),
        prepare=lambda w: _finance_accounts(w, verified=False)),
    ("office.payout_paid", "POST"): PostCase(
        expect=office(303),
        target=lambda w, role: {"payout_id": w.payouts[_village_target(w, role)]},
        data=lambda w, role: {"bank_reference": f"BNTT-{role}", "paid_on": today_wita().isoformat()},
        snapshot=_payout_states,
        changed=_only(lambda w, role: w.payouts[_village_target(w, role)], "paid"),
        form_page=lambda w, role: w.url("office.batch", batch_id=w.batch),
        prepare=_payout_batch),
    ("office.payout_failed", "POST"): PostCase(
        expect=office(303),
        target=lambda w, role: {"payout_id": w.payouts[_village_target(w, role)]},
        data=lambda w, role: {"reason": "Rekening ditutup oleh bank."},
        snapshot=_payout_states,
        changed=_only(lambda w, role: w.payouts[_village_target(w, role)], "failed"),
        form_page=lambda w, role: w.url("office.batch", batch_id=w.batch),
        prepare=_payout_batch),
    ("office.adjust_balance", "POST"): PostCase(
        expect=office(303),
        target=lambda w, role: {"village_id": _village_target(w, role)},
        data=lambda w, role: {"amount_idr": "-5.000", "reason": "Ongkos kirim ganda."},
        snapshot=_available,
        changed=lambda before, after, w, role: (
            after.get(_village_target(w, role), 0) == before.get(_village_target(w, role), 0) - 5000
            and {k: v for k, v in after.items() if k != _village_target(w, role)}
            == {k: v for k, v in before.items() if k != _village_target(w, role)}),
        form_page=lambda w, role: w.url("office.village_finance", village_id=_village_target(w, role))),
    ("office.reverse_adjustment", "POST"): PostCase(
        expect=office(303),
        target=lambda w, role: {"village_id": _village_target(w, role),
                                "entry_id": w.adjustments[_village_target(w, role)]},
        data=lambda w, role: {"reason": "Salah desa."},
        snapshot=_reversed,
        changed=lambda before, after, w, role: after - before == {w.adjustments[_village_target(w, role)]},
        form_page=lambda w, role: w.url("office.village_finance", village_id=_village_target(w, role)),
        prepare=_finance_adjustments),
}


@pytest.mark.parametrize("endpoint", sorted(e for e, _m in POST_CASES))
def test_post_matrix(world, endpoint):
    case = POST_CASES[(endpoint, "POST")]
    if case.prepare:
        case.prepare(world)
    forbidden = [r for r in ROLES if case.expect[r] != 303]
    allowed = [r for r in ROLES if case.expect[r] == 303]
    assert allowed, "every POST route has someone who may use it"
    wrong = []
    for role in forbidden + allowed:  # the forbidden try first, on the same objects
        client = world.client(role)
        url = world.url(endpoint, **case.target(world, role))
        if role in allowed:
            page = client.get(case.form_page(world, role))
            assert page.status_code == 200, (role, case.form_page(world, role), page.status_code)
        else:
            page = client.get(SIGN_IN_PATH)
        data = {"csrf_token": csrf_token(page.get_data(as_text=True)), **case.data(world, role)}
        before = case.snapshot(world, role)
        response = client.post(url, data=data, content_type="multipart/form-data")
        after = case.snapshot(world, role)
        if response.status_code != case.expect[role]:
            wrong.append(f"{role}: expected {case.expect[role]}, got {response.status_code}")
        if role in allowed and response.status_code == 303 and endpoint == "accounts.accept_invitation":
            if client.get(url).status_code != 410:
                wrong.append(f"{role}: the invitation still opens after it was used")
        if role in allowed and not case.changed(before, after, world, role):
            wrong.append(f"{role}: was allowed but the change did not happen")
        if role not in allowed and after != before:
            wrong.append(f"{role}: was refused ({response.status_code}) but something changed")
        if role == ANON and response.status_code == 302 \
                and _location_path(response) != SIGN_IN_PATH:
            wrong.append(f"anonymous sent to {response.headers['Location']}")
    assert not wrong, "\n".join(wrong)


def test_office_actions_need_the_csrf_token(world):
    client = world.client(VERIFIER)
    assert client.post(f"/kantor/dokumen/{world.pend_a}/verifikasi").status_code == 400
    assert client.post(f"/kantor/desa/{world.va}/tangguhkan").status_code == 400
    assert _status(world.pend_a) == "pending"
    assert fresh(Village, world.va).active is True


def test_office_action_records_who_did_it(world):
    client = world.client(VERIFIER)
    page = client.get(f"/kantor/dokumen/{world.pend_a}")
    response = client.post(f"/kantor/dokumen/{world.pend_a}/tolak", data={
        "csrf_token": csrf_token(page.get_data(as_text=True)), "reason": "Nomor tidak cocok."})
    assert response.status_code == 303
    db.session.expire_all()
    event = db.session.scalars(select(CertificateEvent).where(
        CertificateEvent.certificate_id == world.pend_a).order_by(CertificateEvent.id.desc())).first()
    assert (event.to_status, event.actor_id, event.reason) == (
        "rejected", world.user_ids[VERIFIER], "Nomor tidak cocok.")


# --- a member of B cannot reach A's papers by tampering ---------------------------------------

def test_member_b_cannot_submit_a_paper_for_a_product_of_a(world):
    before = _certificates()
    number = _pirt_number()
    response = submit_paper(world.client(MEMBER_B), kind="pirt", number=number, product_ids=[world.pa],
                            expires_on=today_wita() + timedelta(days=100))
    assert response.status_code == 422
    assert _certificates() == before
    # Nor mixed in with one of B's own products.
    response = submit_paper(world.client(MEMBER_B), kind="pirt", number=number,
                            product_ids=[world.pb, world.pa], expires_on=today_wita() + timedelta(days=100))
    assert response.status_code == 422
    assert _certificates() == before
    assert db.session.scalar(select(func.count()).select_from(certificate_products).where(
        certificate_products.c.product_id == world.pa)) == 2  # A's own P-IRT and rejected halal


def test_member_b_cannot_resubmit_a_paper_of_a_with_b_products(world):
    before = _certificates()
    client = world.client(MEMBER_B)
    page = client.get("/portal/dokumen/baru")
    response = client.post(f"/portal/dokumen/{world.rej_a}/ajukan-ulang", data={
        "csrf_token": csrf_token(page.get_data(as_text=True)), "kind": "halal",
        "number": "ID53000000000000777", "issued_on": "2024-01-15", "products": [str(world.pb)]})
    assert response.status_code == 404
    assert _certificates() == before


def test_member_a_cannot_move_own_paper_onto_a_product_of_b(world):
    before = _certificates()
    client = world.client(MEMBER_A)
    page = client.get(f"/portal/dokumen/{world.rej_a}/ajukan-ulang")
    response = client.post(f"/portal/dokumen/{world.rej_a}/ajukan-ulang", data={
        "csrf_token": csrf_token(page.get_data(as_text=True)), "kind": "halal",
        "number": "ID53000000000000778", "issued_on": "2024-01-15", "products": [str(world.pb)]})
    assert response.status_code == 422
    assert _certificates() == before


def test_member_b_does_not_see_papers_of_a_in_their_list(world):
    db.session.expire_all()
    numbers = {c.id: c.number for c in db.session.scalars(select(Certificate))}
    own_b = world.client(MEMBER_B).get("/portal/dokumen").get_data(as_text=True)
    own_a = world.client(MEMBER_A).get("/portal/dokumen").get_data(as_text=True)
    for certificate_id in (world.pend_a, world.rej_a, world.nib_a):
        assert numbers[certificate_id] in own_a
        assert numbers[certificate_id] not in own_b
        assert f"/portal/dokumen/{certificate_id}\"" not in own_b
    for certificate_id in (world.pend_b, world.rej_b, world.nib_b):
        assert numbers[certificate_id] in own_b
        assert numbers[certificate_id] not in own_a
    assert f"/dokumen/scan/{world.scan_a}" not in world.client(MEMBER_B).get(
        f"/portal/dokumen/{world.pend_b}").get_data(as_text=True)


# --- access follows the account as it is now, not as it was at sign-in ---------------------------

def test_a_demoted_verifier_loses_the_office_at_once(world):
    client = world.client(VERIFIER)
    assert client.get("/kantor/antrean").status_code == 200
    admin = world.client(ADMIN)
    page = admin.get("/kantor/pengguna")
    response = admin.post(f"/kantor/pengguna/{world.user_ids[VERIFIER]}/peran", data={
        "csrf_token": csrf_token(page.get_data(as_text=True)), "role": "customer"})
    assert response.status_code == 303
    assert fresh(User, world.user_ids[VERIFIER]).role == "customer"
    assert client.get("/kantor/antrean").status_code == 403
    assert client.get(f"/dokumen/scan/{world.scan_a}").status_code == 404


def test_a_suspended_member_loses_the_portal_and_the_scans_at_once(world):
    client = world.client(MEMBER_A)
    assert client.get(f"/dokumen/scan/{world.scan_a}").status_code == 200
    fresh(User, world.user_ids[MEMBER_A]).active = False
    db.session.commit()
    response = client.get("/portal/dokumen")
    assert response.status_code == 302 and _location_path(response) == SIGN_IN_PATH
    assert client.get(f"/dokumen/scan/{world.scan_a}").status_code == 404
