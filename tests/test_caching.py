"""Conditional GET and the page cache never outlive a product's papers, and run inside Flask's
request cycle; public pages are the same for every anonymous visitor."""
import re
import threading
from email.utils import formatdate

import pytest
from flask import request_started
from sqlalchemy import select, text

from storefront.catalog.caching import clear_cache
from storefront.extensions import db
from storefront.legality.models import Certificate
from storefront.products.models import CatalogueState, Product

from .factories import make_certified_village, make_sellable_food, make_user, sign_in


@pytest.fixture
def cached_app(app):
    app.config.update(PAGE_CACHE=True, COUNT_CACHE=True)
    clear_cache()
    yield app
    clear_cache()


def buy_form(html):
    """The fields of a product page's "Add to cart" form, as a browser submits them."""
    form = re.search(r'<form class="buy".*?</form>', html, re.S).group(0)
    return dict(re.findall(r'<input[^>]*name="([^"]+)"[^>]*value="([^"]*)"', form))


def test_conditional_get_answers_304_until_the_catalogue_changes(cached_app, client):
    product = make_sellable_food()
    first = client.get("/produk")
    assert first.status_code == 200
    etag = first.headers["ETag"]
    assert "no-cache" in first.headers["Cache-Control"]
    again = client.get("/produk", headers={"If-None-Match": etag})
    assert again.status_code == 304 and not again.data
    product.price_idr = 99000
    db.session.commit()
    changed = client.get("/produk", headers={"If-None-Match": etag})
    assert changed.status_code == 200 and changed.headers["ETag"] != etag
    assert "Rp 99.000" in changed.get_data(as_text=True)


def test_if_modified_since_alone_never_keeps_a_revoked_product_on_a_page(cached_app, client):
    """Pages carry no Last-Modified (one-second, or transaction-start, times could not tell a
    revocation in the same second), so a date alone never gets a 304: the ETag decides."""
    product = make_sellable_food()
    url = f"/produk/{product.slug}"
    first = client.get(url)
    assert first.status_code == 200 and "Last-Modified" not in first.headers
    for cert in db.session.scalars(select(Certificate).where(Certificate.kind == "pirt")):
        cert.status = "revoked"
    db.session.commit()
    # A browser that saw the page this very second, or a clock far ahead: still the truth.
    for moment in ("Fri, 01 Jan 2100 00:00:00 GMT", formatdate(usegmt=True)):
        assert client.get(url, headers={"If-Modified-Since": moment}).status_code == 404
        listing = client.get("/produk", headers={"If-Modified-Since": moment})
        assert listing.status_code == 200 and product.name not in listing.get_data(as_text=True)


@pytest.mark.parametrize("lose", ["revoke", "suspend_village", "unpublish"])
def test_a_product_that_loses_its_papers_is_not_served_from_cache(cached_app, client, lose):
    product = make_sellable_food()
    url = f"/produk/{product.slug}"
    first = client.get(url)
    assert first.status_code == 200
    assert client.get(url).status_code == 200  # now in the page cache
    assert product.name in client.get("/produk").get_data(as_text=True)
    if lose == "revoke":
        for cert in db.session.scalars(select(Certificate).where(Certificate.kind == "pirt")):
            cert.status = "revoked"
    elif lose == "suspend_village":
        from storefront.villages.models import Village
        db.session.get(Village, product.village_id).active = False
    else:
        product.published = False
    db.session.commit()
    assert client.get(url).status_code == 404
    assert client.get(url, headers={"If-None-Match": first.headers["ETag"]}).status_code == 404
    assert product.name not in client.get("/produk").get_data(as_text=True)


def test_papers_unlinked_from_a_product_move_the_version(cached_app, client):
    from sqlalchemy.orm import selectinload

    product = make_sellable_food()
    url = f"/produk/{product.slug}"
    assert client.get(url).status_code == 200
    assert client.get(url).status_code == 200  # answered from the store
    halal = db.session.scalars(select(Certificate).where(Certificate.kind == "halal")
                               .options(selectinload(Certificate.products))).one()
    halal.products = []  # only the link table changes
    db.session.commit()
    assert client.get(url).status_code == 404


def _version():
    return db.session.scalar(select(CatalogueState.version))


@pytest.mark.parametrize("sql", [
    "UPDATE certificates SET status = 'revoked' WHERE kind = 'pirt'",
    "UPDATE villages SET active = false",
    "UPDATE products SET published = false",
    "DELETE FROM certificate_products",
    "DELETE FROM certificates WHERE kind = 'halal'",
])
def test_a_change_made_by_hand_in_sql_is_seen_at_once(cached_app, client, sql):
    """The version is moved by triggers in the database: an operator's SQL counts too."""
    product = make_sellable_food()
    url = f"/produk/{product.slug}"
    for _ in range(2):
        assert client.get(url).status_code == 200
        assert product.name in client.get("/produk").get_data(as_text=True)
    before = _version()
    db.session.execute(text(sql))
    db.session.commit()
    assert _version() > before
    assert client.get(url).status_code == 404
    assert product.name not in client.get("/produk").get_data(as_text=True)
    assert product.name not in client.get("/cari?q=Produk").get_data(as_text=True)


def test_stock_sold_elsewhere_shows_on_the_stored_page(cached_app, client):
    product = make_sellable_food(stock=3)
    url = f"/produk/{product.slug}"
    assert "Stok: 3" in client.get(url).get_data(as_text=True)
    db.session.execute(text("UPDATE products SET stock = 0"))
    db.session.commit()
    page = client.get(url).get_data(as_text=True)
    assert "Habis" in page and "Stok: 3" not in page and 'action="/keranjang/tambah"' not in page


def test_a_stored_page_goes_through_flasks_request_cycle(cached_app, client, count_queries):
    """A stored page is answered by the view, after every before-request hook and with every
    after-request header; it costs the version query, no rendering."""
    product = make_sellable_food()
    started = []

    def count_request(sender, **extra):
        started.append(1)

    first = client.get("/produk")
    with request_started.connected_to(count_request, cached_app), count_queries() as hit:
        again = client.get("/produk")
    assert started == [1]
    assert hit.count == 1 and "catalogue_state" in hit.statements[0]  # the version, no more
    assert again.get_data() == first.get_data()
    assert again.headers["ETag"] == first.headers["ETag"]
    assert again.headers["Content-Security-Policy"] == first.headers["Content-Security-Policy"]
    assert "public" in again.headers["Cache-Control"] and "Set-Cookie" not in again.headers
    assert "Cookie" in again.headers["Vary"]
    assert client.get("/produk", headers={"If-None-Match": first.headers["ETag"]}).status_code == 304
    assert product.name in again.get_data(as_text=True)
    # Input checks run first, as for any request: a stored page does not hide them.
    assert client.get("/produk?q=%00").status_code == 400


PUBLIC_PAGES = ["/", "/produk", "/produk/{product}", "/desa", "/desa/{village}", "/cari?q=Produk"]


@pytest.mark.parametrize("path", PUBLIC_PAGES)
def test_a_public_page_is_the_same_for_every_anonymous_visitor(cached_app, path):
    """No CSRF token, no session cookie: any shared HTTP cache may keep it for everyone."""
    village = make_certified_village()
    product = make_sellable_food(village)
    path = path.format(product=product.slug, village=village.slug)
    pages = []
    for cached in (False, True, True):
        cached_app.config["PAGE_CACHE"] = cached
        visitor = cached_app.test_client()
        # A visitor with a session of their own: the sign-in form's CSRF token; Flask-Login
        # marks it "not fresh" on the next request (once: that page is private, not kept).
        visitor.get("/masuk")
        visitor.get("/masuk")
        for buyer in (cached_app.test_client(), visitor):
            page = buyer.get(path)
            assert page.status_code == 200
            assert "Set-Cookie" not in page.headers
            assert page.headers["Cache-Control"] == "public, no-cache"
            assert 'name="csrf_token"' not in page.get_data(as_text=True)
            pages.append((page.get_data(), page.headers["ETag"]))
    assert len(set(pages)) == 1


def test_a_new_release_never_answers_304_for_the_old_one(cached_app, client):
    """The ETag holds the release: a new deploy's pages replace what browsers kept."""
    make_sellable_food()
    first = client.get("/produk")
    etag = first.headers["ETag"]
    assert client.get("/produk", headers={"If-None-Match": etag}).status_code == 304
    cached_app.config["RELEASE"] = "next-deploy"
    again = client.get("/produk", headers={"If-None-Match": etag})
    assert again.status_code == 200 and again.headers["ETag"] != etag


def test_the_release_changes_with_any_file_of_the_pages(tmp_path):
    from storefront.release import SOURCES, release_id, source_digest

    for top in SOURCES:
        (tmp_path / top).mkdir()
        (tmp_path / top / "a.txt").write_text("one")
    before = source_digest(tmp_path)
    (tmp_path / "templates" / "a.txt").write_text("two")
    source_digest.cache_clear()
    assert source_digest(tmp_path) != before
    source_digest.cache_clear()
    assert release_id({"RELEASE": "abc123"}) == "abc123"
    assert release_id({"RELEASE": None}) == source_digest()


def test_each_language_has_its_own_stored_page(cached_app, client):
    make_sellable_food()
    assert 'lang="id"' in client.get("/produk").get_data(as_text=True)
    client.set_cookie("lang", "en", domain="shop.test")
    for _ in range(2):
        page = client.get("/produk").get_data(as_text=True)
        assert 'lang="en"' in page and "Products" in page
    client.set_cookie("lang", "xx", domain="shop.test")  # unknown: Indonesian, as without a cookie
    assert 'lang="id"' in client.get("/produk").get_data(as_text=True)


def test_signed_in_buyers_never_get_the_anonymous_page(cached_app, app, client):
    make_sellable_food()
    user = make_user()
    for _ in range(2):
        assert "Keluar" not in client.get("/produk").get_data(as_text=True)  # stored anonymously
    sign_in(client, user)
    page = client.get("/produk")
    assert "Keluar" in page.get_data(as_text=True)  # the sign-out button of a signed-in page
    assert "private" in page.headers["Cache-Control"]


def test_a_message_waiting_in_the_session_is_shown_not_a_stored_page(cached_app, client):
    product = make_sellable_food()
    for _ in range(2):
        client.get("/produk")
    page = client.get(f"/produk/{product.slug}").get_data(as_text=True)
    client.post("/keranjang/tambah", data={**buy_form(page), "quantity": "0"})  # refused: a message waits
    shown = client.get("/produk")
    assert "Pilih jumlah" in shown.get_data(as_text=True)  # "Choose a quantity from 1 to 999."
    assert "private" in shown.headers["Cache-Control"] and "ETag" not in shown.headers
    assert "Pilih jumlah" not in client.get("/produk").get_data(as_text=True)


def test_the_form_of_a_stored_product_page_puts_the_product_in_the_cart(cached_app, app):
    """Every visitor gets the same stored page; its form works for each of them."""
    product = make_sellable_food()
    url = f"/produk/{product.slug}"
    app.test_client().get(url)  # stored
    for _ in range(2):
        buyer = app.test_client()
        page = buyer.get(url)
        assert "public" in page.headers["Cache-Control"] and "Set-Cookie" not in page.headers
        added = buyer.post("/keranjang/tambah", data={**buy_form(page.get_data(as_text=True)), "quantity": "2"})
        assert added.status_code == 303 and added.headers["Location"].endswith("/keranjang")
        assert product.name in buyer.get("/keranjang").get_data(as_text=True)


def test_a_browser_that_lost_its_session_revalidates_and_still_adds_to_cart(cached_app, app):
    """Issue 14: the ETag of a page holding a CSRF token ignored the token. A browser whose
    session cookie was gone got 304, submitted the form it kept, and was told "The form has
    expired". Public pages hold no token now, so what the browser kept still works."""
    product = make_sellable_food()
    url = f"/produk/{product.slug}"
    browser = app.test_client()
    page = browser.get(url)
    kept, etag = page.get_data(as_text=True), page.headers["ETag"]
    browser.delete_cookie("session", domain="shop.test")  # closed, cleared, or expired
    assert browser.get(url, headers={"If-None-Match": etag}).status_code == 304
    added = browser.post("/keranjang/tambah", data=buy_form(kept))
    assert added.status_code == 303 and added.headers["Location"].endswith("/keranjang")
    assert product.name in browser.get("/keranjang").get_data(as_text=True)


def test_a_commit_that_lands_after_a_later_one_still_moves_the_version(cached_app, client, backend):
    """The old version (latest updated_at) missed a revocation stamped before, but committed
    after, another change; the counter is moved at commit time."""
    if backend != "postgresql":
        pytest.skip("SQLite lets one writer at a time: two commits cannot cross there")
    product = make_sellable_food()
    other = make_sellable_food()
    url = f"/produk/{product.slug}"
    assert client.get(url).status_code == 200
    engine = db.engine
    slow = engine.connect()
    slow_tx = slow.begin()
    slow.execute(text("UPDATE certificates SET status = 'revoked', updated_at = now() - interval '1 minute' "
                      "WHERE kind = 'pirt' AND id IN (SELECT certificate_id FROM certificate_products "
                      "WHERE product_id = :id)"), {"id": product.id})
    with engine.begin() as fast:
        fast.execute(text("UPDATE products SET price_idr = 90000 WHERE id = :id"), {"id": other.id})
    assert client.get(url).status_code == 200  # stored again under the fast change's version
    assert client.get(url).status_code == 200
    slow_tx.commit()
    slow.close()
    assert client.get(url).status_code == 404


def test_the_database_away_is_not_hidden_by_the_store(cached_app, client, backend, database_url):
    if backend != "postgresql":
        pytest.skip("an open SQLite file cannot be taken away from a connection that has it")
    from .test_faults import _cut_off_postgres

    make_sellable_food()
    for _ in range(2):
        assert client.get("/produk").status_code == 200
    _cut_off_postgres(database_url, allow=False)
    try:
        assert client.get("/produk").status_code == 503
    finally:
        _cut_off_postgres(database_url, allow=True)
    assert client.get("/produk").status_code == 200


def test_writers_of_different_products_never_deadlock_on_the_version(cached_app):
    """Every writer of the catalogue moves one row. Writers lock products in id order (as
    place_order does); were the version row taken at the first UPDATE, A (products 1, 2) and
    B (products 2, 3) would wait on each other. On PostgreSQL it is taken at commit."""
    from sqlalchemy import create_engine

    village = make_certified_village()
    ids = sorted(make_sellable_food(village, stock=1000).id for _ in range(4))
    engine = create_engine(db.engine.url.render_as_string(hide_password=False))
    windows = [ids[0:2], ids[1:3], ids[2:4], [ids[0], ids[3]]]
    errors = []

    def writer(window):
        try:
            for _ in range(15):
                with engine.begin() as conn:
                    for product_id in window:
                        conn.execute(text("UPDATE products SET stock = stock - 1 WHERE id = :id"),
                                     {"id": product_id})
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    before = _version()
    threads = [threading.Thread(target=writer, args=(window,)) for window in windows]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    engine.dispose()
    assert not errors and not any(t.is_alive() for t in threads)
    db.session.expire_all()
    assert db.session.scalars(select(Product.stock).where(Product.id.in_(ids))).all() == [970] * 4
    assert _version() >= before + 60


def _versions():
    db.session.expire_all()
    state = db.session.get(CatalogueState, 1)
    return state.version, state.listing_version


def test_an_order_moves_the_page_version_but_keeps_the_listing_counts(cached_app, client):
    """Stock alone changes what a page shows (so the page is rendered again) but not what is
    listed: totals, page starts and rankings kept per listing version stay valid."""
    product = make_sellable_food(stock=5)
    page, listing = _versions()
    db.session.execute(text("UPDATE products SET stock = stock - 1 WHERE id = :id"), {"id": product.id})
    db.session.commit()
    assert _versions()[0] > page and _versions()[1] == listing
    product = db.session.get(Product, product.id)
    product.stock = 2  # through the ORM: updated_at moves with it, still stock alone
    db.session.commit()
    assert _versions()[1] == listing
    product.price_idr = 91000
    product.stock = 1
    db.session.commit()
    assert _versions()[1] > listing
    listing = _versions()[1]
    product.published = False
    db.session.commit()
    assert _versions()[1] > listing


def test_the_sqlite_listing_trigger_watches_every_product_column_but_stock(app, backend):
    """On SQLite the listing trigger names the product columns it watches: a column added to
    products must be added there too (on PostgreSQL the trigger compares whole rows)."""
    if backend != "sqlite":
        pytest.skip("PostgreSQL compares the whole row less stock and updated_at")
    sql = db.session.scalar(text("SELECT sql FROM sqlite_master WHERE name = 'products_listing_update'"))
    watched = set(re.findall(r"OLD\.(\w+) IS NOT NEW\.", sql))
    assert watched == {c.name for c in Product.__table__.columns} - {"stock", "updated_at"}


def _redis_reachable():
    import socket

    try:
        socket.create_connection(("127.0.0.1", 6379), timeout=1).close()
        return True
    except OSError:
        return False


@pytest.mark.skipif(not _redis_reachable(), reason="no Redis answers on 127.0.0.1:6379")
def test_workers_share_stored_pages_and_counts_through_redis(app, database_url, tmp_path):
    """With REDIS_URL, what one worker rendered or counted another answers from Redis: only the
    version is read. Each database has keys of its own, so two shops may share one Redis."""
    import secrets

    import redis

    from storefront import create_app

    from .conftest import FreshContextClient, QueryCounter

    make_sellable_food()
    prefix = f"test-{secrets.token_hex(4)}:"
    settings = {"TESTING": True, "SQLALCHEMY_DATABASE_URI": database_url, "SERVER_NAME": "shop.test",
                "PUBLIC_URL": "http://shop.test", "MEDIA_ROOT": str(tmp_path / "media"),
                "REDIS_URL": "redis://127.0.0.1:6379/15", "CACHE_KEY_PREFIX": prefix,
                "PAGE_CACHE": True, "COUNT_CACHE": True, "RATELIMIT_ENABLED": False}
    workers = [create_app(settings), create_app(settings)]
    server = redis.Redis.from_url(settings["REDIS_URL"])
    try:
        for worker in workers:
            worker.test_client_class = FreshContextClient
        first = workers[0].test_client().get("/produk?kategori=kopi")
        assert first.status_code == 200 and server.keys(f"{prefix}page:*") and server.keys(f"{prefix}count:*")
        with workers[1].app_context():
            engine = db.engine
        with QueryCounter(engine) as other:
            again = workers[1].test_client().get("/produk?kategori=kopi")
        assert other.count == 1 and "catalogue_state" in other.statements[0]
        assert again.get_data() == first.get_data() and again.headers["ETag"] == first.headers["ETag"]
        elsewhere = create_app({**settings, "CACHE_KEY_PREFIX": None,
                                "SQLALCHEMY_DATABASE_URI": "sqlite:///" + str(tmp_path / "other.db")})
        here = create_app({**settings, "CACHE_KEY_PREFIX": None})
        assert elsewhere.config["CACHE_KEY_PREFIX"] != here.config["CACHE_KEY_PREFIX"]
    finally:
        for key in server.scan_iter(f"{prefix}*"):
            server.delete(key)
        for worker in workers:
            with worker.app_context():
                db.engine.dispose()


def test_a_redis_that_does_not_answer_is_no_cache(app, database_url, tmp_path):
    """Pages are rendered, not refused, while the shared cache is away."""
    from storefront import create_app

    from .conftest import FreshContextClient, free_port

    village = make_certified_village()
    product = make_sellable_food(village)
    worker = create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": database_url, "SERVER_NAME": "shop.test",
                         "PUBLIC_URL": "http://shop.test", "MEDIA_ROOT": str(tmp_path / "media"),
                         "REDIS_URL": f"redis://127.0.0.1:{free_port()}/0", "PAGE_CACHE": True,
                         "COUNT_CACHE": True, "RATELIMIT_ENABLED": False})
    worker.test_client_class = FreshContextClient
    try:
        for path, shown in (("/produk", product.name), (f"/produk/{product.slug}", product.name),
                            ("/desa", village.name), ("/cari?q=Produk", product.name)):
            page = worker.test_client().get(path)
            assert page.status_code == 200 and shown in page.get_data(as_text=True), path
    finally:
        with worker.app_context():
            db.engine.dispose()


def test_the_release_setting_comes_from_the_environment(monkeypatch, database_url):
    from storefront import create_app
    from storefront.release import source_digest

    monkeypatch.setenv("RELEASE", "3f2c9e1")
    assert create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": database_url}).config["RELEASE"] == "3f2c9e1"
    monkeypatch.delenv("RELEASE")
    assert create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": database_url}).config["RELEASE"] == source_digest()
