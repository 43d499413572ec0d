"""Conditional GET and the page cache never outlive a product's papers; keyset pages see every
product once."""
import re

import pytest

from storefront.catalog.caching import clear_page_cache
from storefront.extensions import db

from .factories import make_certified_village, make_product, make_sellable_food


@pytest.fixture
def cached_app(app):
    app.config.update(PAGE_CACHE=True, COUNT_CACHE=True)
    clear_page_cache()
    yield app
    clear_page_cache()


def test_conditional_get_answers_304_until_the_catalogue_changes(cached_app, client):
    product = make_sellable_food()
    first = client.get("/produk")
    assert first.status_code == 200
    etag = first.headers["ETag"]
    assert "no-cache" in first.headers["Cache-Control"] and first.headers["Last-Modified"]
    again = client.get("/produk", headers={"If-None-Match": etag})
    assert again.status_code == 304 and not again.data
    product.price_idr = 99000
    db.session.commit()
    changed = client.get("/produk", headers={"If-None-Match": etag})
    assert changed.status_code == 200 and changed.headers["ETag"] != etag
    assert "Rp 99.000" in changed.get_data(as_text=True)


@pytest.mark.parametrize("lose", ["revoke", "suspend_village", "unpublish"])
def test_a_product_that_loses_its_papers_is_not_served_from_cache(cached_app, client, lose):
    product = make_sellable_food()
    url = f"/produk/{product.slug}"
    first = client.get(url)
    assert first.status_code == 200
    assert client.get(url).status_code == 200  # now in the page cache
    assert product.name in client.get("/produk").get_data(as_text=True)
    if lose == "revoke":
        from storefront.legality.models import Certificate
        from sqlalchemy import select
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
    from sqlalchemy import select

    from storefront.legality.models import Certificate

    product = make_sellable_food()
    url = f"/produk/{product.slug}"
    assert client.get(url).status_code == 200
    from sqlalchemy.orm import selectinload

    halal = db.session.scalars(select(Certificate).where(Certificate.kind == "halal")
                               .options(selectinload(Certificate.products))).one()
    halal.products = []  # only the link changes: touch_catalogue stamps the paper
    db.session.commit()
    assert client.get(url).status_code == 404


def test_personal_requests_are_private_and_not_stored(cached_app, client):
    product = make_sellable_food()
    client.set_cookie("keranjang", "some-cart", domain="shop.test")
    response = client.get(f"/produk/{product.slug}")
    assert response.status_code == 200
    assert "private" in response.headers["Cache-Control"] and "ETag" not in response.headers


def test_cached_product_page_gives_each_buyer_their_own_csrf_token(cached_app, app):
    product = make_sellable_food()
    tokens = []
    for _ in range(2):
        client = app.test_client()
        page = client.get(f"/produk/{product.slug}")
        assert "private" in page.headers["Cache-Control"]
        tokens.append(re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page.get_data(as_text=True)).group(1))
    assert tokens[0] != tokens[1] and "\x00" not in tokens[1]


def _walk(client, url):
    """Follow the pager's Next links; return product slugs in order and the pages seen."""
    slugs, pages = [], 0
    while url:
        html = client.get(url).get_data(as_text=True)
        pages += 1
        slugs += re.findall(r'<li class="card">\s*<a href="/produk/([^"]+)"', html)
        nxt = re.search(r'<a rel="next" href="([^"]+)"', html)
        url = nxt.group(1).replace("&amp;", "&") if nxt else None
        assert pages < 50
    return slugs, pages


@pytest.mark.parametrize("sort", ["newest", "price_asc", "price_desc", "name"])
def test_keyset_pages_list_every_product_exactly_once_with_ties(app, client, sort):
    from datetime import datetime, timezone

    app.config["CATALOG_PAGE_SIZE"] = 4
    village = make_certified_village()
    same_time = datetime(2026, 11, 1, tzinfo=timezone.utc)
    made = [make_product(village, "tenun", name="Tenun Sama", price_idr=100000,
                         created_at=same_time) for _ in range(11)]
    slugs, pages = _walk(client, f"/produk?urut={sort}")
    assert sorted(slugs) == sorted(p.slug for p in made) and len(slugs) == 11
    assert pages == 3
    # The pager's links carry a cursor; plain ?page=N links still work.
    assert "after=" in client.get(f"/produk?urut={sort}").get_data(as_text=True)
    page2 = client.get(f"/produk?urut={sort}&page=2").get_data(as_text=True)
    assert re.findall(r'<li class="card">\s*<a href="/produk/([^"]+)"', page2) == slugs[4:8]
    prev = re.search(r'<a rel="prev" href="([^"]+)"',
                     client.get(f"/produk?urut={sort}&page=3&after=junk").get_data(as_text=True))
    assert prev


def test_keyset_previous_link_goes_back(app, client):
    app.config["CATALOG_PAGE_SIZE"] = 3
    village = make_certified_village()
    for _ in range(8):
        make_product(village, "kerajinan")
    first, _ = _walk(client, "/produk")
    html = client.get("/produk").get_data(as_text=True)
    url = re.search(r'<a rel="next" href="([^"]+)"', html).group(1).replace("&amp;", "&")
    url = re.search(r'<a rel="next" href="([^"]+)"', client.get(url).get_data(as_text=True)).group(1)
    page3 = client.get(url.replace("&amp;", "&")).get_data(as_text=True)
    back = re.search(r'<a rel="prev" href="([^"]+)"', page3).group(1).replace("&amp;", "&")
    assert "before=" in back
    page2 = client.get(back).get_data(as_text=True)
    assert re.findall(r'<li class="card">\s*<a href="/produk/([^"]+)"', page2) == first[3:6]


def test_api_pages_by_cursor(app, client):
    village = make_certified_village()
    made = [make_product(village, "tenun") for _ in range(7)]
    seen, url = [], "/api/v1/products?per_page=3"
    while url:
        body = client.get(url).get_json()
        seen += [item["sku"] for item in body["items"]]
        url = body["next"]
        assert url is None or "after=" in url
    assert seen == [p.sku for p in made]
    assert [i["sku"] for i in client.get("/api/v1/products?per_page=3&page=2").get_json()["items"]] == \
        [p.sku for p in made[3:6]]


def test_query_counts_stay_constant_on_deep_pages(app, client, count_queries):
    app.config["CATALOG_PAGE_SIZE"] = 2
    village = make_certified_village()
    for _ in range(9):
        make_sellable_food(village)
    with count_queries() as first:
        html = client.get("/produk").get_data(as_text=True)
    url = re.search(r'<a rel="next" href="([^"]+)"', html).group(1).replace("&amp;", "&")
    with count_queries() as deep:
        assert client.get(url).status_code == 200
    assert deep.count == first.count <= 8
