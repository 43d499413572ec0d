"""Links that leave a request come from PUBLIC_URL, never the Host header; unknown hosts get 400;
X-Forwarded-* is believed only from configured proxies; personal pages are never stored and
secret URLs are never passed on or logged (issue 13, items 1 and 14)."""
import json
import re
from urllib.parse import urlsplit

import pytest
from flask import request
from sqlalchemy import func, select

from storefront import create_app
from storefront.access_log import SECRET_PATHS, redact
from storefront.accounts.models import PasswordReset
from storefront.extensions import db
from storefront.outbox.models import OutboxMessage, VillageWebhook
from storefront.outbox.worker import deliver_due

from .conftest import csrf_token
from .factories import make_certified_village, make_sellable_food, make_user, sign_in
from .test_portal_orders import buy, office_marks_paid, only_order, text
from .test_proof import qr_modules, svg_modules

PUBLIC = "https://toko.example"


@pytest.fixture
def public_app(app):
    """Requests arrive for shop.test (a trusted name); the shop's public address is another."""
    app.config.update(PUBLIC_URL=PUBLIC, TRUSTED_HOSTS=["shop.test"])
    return app


def _urls(text_):
    return set(re.findall(r"https?://[^\s\"'<>)\]]+", text_))


def test_an_unknown_host_gets_400_and_nothing_is_sent(app, client, smtp):
    user = make_user(email="admin@desa.example")
    evil = app.test_client()
    page = client.get("/lupa-sandi").get_data(as_text=True)
    answer = evil.post("/lupa-sandi", base_url="http://evil.example",
                       data={"csrf_token": csrf_token(page), "email": user.email})
    assert answer.status_code == 400
    assert "evil.example" not in answer.get_data(as_text=True)
    assert evil.get("/", base_url="http://evil.example").status_code == 400
    assert evil.get("/produk", headers={"Host": "shop.test.evil.example"}).status_code == 400
    deliver_due()
    assert db.session.scalar(select(func.count()).select_from(PasswordReset)) == 0
    assert smtp.messages == []
    # The shop's own name still works, with or without a port.
    assert client.get("/").status_code == 200
    assert client.get("/", headers={"Host": "shop.test:8443"}).status_code == 200


def test_a_reset_link_names_the_public_address_whatever_host_was_asked(public_app, client, smtp):
    user = make_user(email="admin@desa.example")
    page = client.get("/lupa-sandi").get_data(as_text=True)
    client.post("/lupa-sandi", data={"csrf_token": csrf_token(page), "email": user.email})
    deliver_due()
    (mail,) = smtp.to(user.email)
    links = [url for url in _urls(mail["body"]) if "/reset-sandi/" in url]
    assert links and all(url.startswith(f"{PUBLIC}/reset-sandi/") for url in links)
    assert "shop.test" not in mail["body"]


def test_order_mails_webhooks_qr_api_and_feeds_name_the_public_address(public_app, client, smtp):
    village = make_certified_village(name="Desa Beiposo")
    coffee = make_sellable_food(village, name="Kopi Arabika Bajawa", stock=10)
    db.session.add(VillageWebhook(village_id=village.id, url="https://desa.example/hook", secret="whsec_x"))
    village.feed_token = "feed-token-for-the-test-0123456789"
    db.session.commit()

    buy(client, [(coffee, 1)])
    order = only_order()
    office_marks_paid(public_app, order)
    deliver_due()
    buyer_mail = smtp.to("maria@example.org")
    assert buyer_mail, "the buyer's confirmation was not sent"
    outbox = db.session.scalars(select(OutboxMessage)).all()
    assert {m.channel for m in outbox} >= {"webhook", "email"}
    leaving = [m["body"] for m in smtp.messages] + [m.payload for m in outbox]
    for body in leaving:
        for url in _urls(body):
            if "toko.example" in url or "shop.test" in url or "localhost" in url:
                assert url.startswith(PUBLIC + "/"), url
    webhook = json.loads(next(m.payload for m in outbox if m.channel == "webhook"))
    assert webhook["data"]["url"].startswith(f"{PUBLIC}/portal/pesanan/")

    label = client.get(f"/verifikasi/{coffee.verification_code}/label.svg").get_data(as_text=True)
    assert svg_modules(label) == qr_modules(f"{PUBLIC}/verifikasi/{coffee.verification_code}")

    api = client.get("/api/v1/products").get_json()
    assert api["items"][0]["url"] == f"{PUBLIC}/produk/{coffee.slug}"
    feed = client.get(f"/feed/{village.feed_token}/orders.json").get_json(force=True)
    assert feed["feed_url"] == f"{PUBLIC}/feed/{village.feed_token}/orders.json"
    assert feed["home_page_url"].startswith(PUBLIC + "/")


@pytest.mark.parametrize("hops, client_addr, scheme", [
    (0, "127.0.0.1", "http"),       # nothing configured: a client's own headers change nothing
    (1, "203.0.113.9", "https"),    # behind one proxy: its view of the client counts
])
def test_forwarded_headers_count_only_from_the_configured_proxies(database_url, tmp_path, hops,
                                                                   client_addr, scheme):
    app = create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": database_url,
                      "MEDIA_ROOT": str(tmp_path), "PUBLIC_URL": "http://shop.test",
                      "TRUSTED_PROXY_HOPS": str(hops)})
    app.add_url_rule("/_peer", "peer", lambda: f"{request.remote_addr} {request.scheme}")
    client = app.test_client()
    answer = client.get("/_peer", base_url="http://shop.test", environ_base={"REMOTE_ADDR": "127.0.0.1"},
                        headers={"X-Forwarded-For": "198.51.100.7, 203.0.113.9",
                                 "X-Forwarded-Proto": "https"})
    assert answer.get_data(as_text=True) == f"{client_addr} {scheme}"


# --- pages that must not be stored or passed on --------------------------------------------------

def test_personal_pages_are_never_stored_and_secret_links_are_not_passed_on(app, client):
    village = make_certified_village()
    coffee = make_sellable_food(village, stock=5)
    order_path = buy(client, [(coffee, 1)])
    assert "kunci=" in order_path
    order_page = client.get(order_path)
    assert order_page.status_code == 200
    assert order_page.headers["Cache-Control"] == "no-store"
    assert order_page.headers["Referrer-Policy"] == "no-referrer"

    office_marks_paid(app, only_order())
    member = app.test_client()
    sign_in(member, make_user("village_member", village))
    parcel_id = re.search(r"/portal/pesanan/(\d+)", text(member.get("/portal/pesanan"))).group(1)
    for path in ("/portal/pesanan", f"/portal/pesanan/{parcel_id}", "/portal/webhook", "/portal/umpan"):
        response = member.get(path)
        assert response.status_code == 200, path
        assert response.headers["Cache-Control"] == "no-store", path

    buyer = app.test_client()
    sign_in(buyer, make_user())
    assert buyer.get("/akun/alamat").headers["Cache-Control"] == "no-store"
    for path in ("/reset-sandi/not-a-real-token", "/undangan/not-a-real-token"):
        response = client.get(path)
        assert response.headers["Cache-Control"] == "no-store", path
        assert response.headers["Referrer-Policy"] == "no-referrer", path
    # The public catalogue is cacheable by anyone and keeps the ordinary referrer policy.
    listing = app.test_client().get("/produk")
    assert "no-store" not in listing.headers["Cache-Control"]
    assert listing.headers["Referrer-Policy"] == "strict-origin-when-cross-origin"


def test_every_route_with_a_token_in_its_path_is_redacted_from_the_logs(app):
    rules = [rule.rule for rule in app.url_map.iter_rules() if "token" in rule.arguments]
    assert rules, "no route with a token: the check below would prove nothing"
    for rule in rules:
        path = rule.replace("<token>", "s3cr3t-t0ken-value")
        assert path.startswith(SECRET_PATHS), f"{rule}: add its prefix to access_log.SECRET_PATHS"
        assert "s3cr3t" not in redact(f"GET {path}?x=1 HTTP/1.1"), rule
    assert redact("GET /pesanan/NTT-261202-7K3M2Q?kunci=abc123&stripe=success HTTP/1.1") == \
        "GET /pesanan/NTT-261202-7K3M2Q?kunci=[redacted]&stripe=success HTTP/1.1"
    assert redact("GET /produk/kopi-bajawa?page=2 HTTP/1.1") == "GET /produk/kopi-bajawa?page=2 HTTP/1.1"


def test_search_engine_and_share_links_name_the_public_address(public_app, client):
    """Canonical and hreflang links, Open Graph, JSON-LD, the WhatsApp link, robots.txt, the
    sitemaps and the product feeds (issue 18): all on PUBLIC_URL, whichever host was asked."""
    village = make_certified_village(slug="beiposo")
    coffee = make_sellable_food(village, slug="kopi-bajawa")
    leaving = []
    for host in ("shop.test", "shop.test:8443"):
        for path in ("/produk/kopi-bajawa", "/produk/kopi-bajawa?lang=en", "/desa/beiposo", "/produk", "/",
                     "/robots.txt", "/sitemap.xml", "/sitemap-halaman.xml", "/sitemap-desa.xml",
                     "/sitemap-produk.xml", "/feeds/google-merchant.xml", "/feeds/meta-catalogue.csv"):
            response = client.get(path, headers={"Host": host})
            assert response.status_code == 200, path
            leaving.append((path, response.get_data(as_text=True)))
    found = 0
    for path, body in leaving:
        absolute = [url for url in _urls(body) if urlsplit(url).hostname in ("toko.example", "shop.test")]
        assert absolute, path
        found += len(absolute)
        assert all(url.startswith(PUBLIC + "/") for url in absolute), (path, absolute)
    product_page = leaving[0][1]
    for needle in (f'rel="canonical" href="{PUBLIC}/produk/kopi-bajawa"', f'"url":"{PUBLIC}/produk/kopi-bajawa"',
                   f'property="og:image" content="{PUBLIC}/kartu/produk/{coffee.slug}.jpg?v=',
                   "https://wa.me/?text=", "toko.example%2Fproduk%2Fkopi-bajawa"):
        assert needle in product_page, needle
    assert found > 50
