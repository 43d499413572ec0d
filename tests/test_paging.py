"""A plain ``?page=N`` lists what the N-th step of the pager's cursor walk lists, whether the
start of page N is found afresh or remembered for the catalogue version."""
import re
from datetime import datetime, timezone

import pytest

from .factories import make_certified_village, make_product

CARD = re.compile(r'<li class="card">\s*<a href="/produk/([^"]+)"')


def _walk(client, url):
    """Each page's product slugs, following the pager's Next links (cursors)."""
    pages = []
    while url:
        html = client.get(url).get_data(as_text=True)
        pages.append(CARD.findall(html))
        nxt = re.search(r'<a rel="next" href="([^"]+)"', html)
        url = nxt.group(1).replace("&amp;", "&") if nxt else None
        assert len(pages) < 20
    return pages


@pytest.fixture(params=[False, True], ids=["counted", "remembered"])
def count_cache(request, app):
    app.config["COUNT_CACHE"] = request.param
    return request.param


@pytest.mark.parametrize("sort", ["newest", "price_asc", "price_desc", "name"])
def test_page_numbers_list_the_cursor_walk_pages(app, client, count_cache, sort):
    app.config["CATALOG_PAGE_SIZE"] = 4
    village = make_certified_village()
    same_time = datetime(2026, 11, 1, tzinfo=timezone.utc)
    for i in range(11):  # ties in every sort key but the id
        when = {"created_at": same_time} if i % 2 else {}
        make_product(village, "tenun", name=f"Tenun {i % 2}", price_idr=100000 + 1000 * (i % 3), **when)
    walked = _walk(client, f"/produk?urut={sort}")
    assert [len(p) for p in walked] == [4, 4, 3]
    for _ in range(2):  # the second time, where each page starts may come from the cache
        numbered = [CARD.findall(client.get(f"/produk?urut={sort}&page={n}").get_data(as_text=True))
                    for n in (1, 2, 3)]
        assert numbered == walked
        assert CARD.findall(client.get(f"/produk?urut={sort}&page=4").get_data(as_text=True)) == []


def test_page_numbers_follow_filters_and_search(app, client, count_cache):
    app.config["CATALOG_PAGE_SIZE"] = 2
    village = make_certified_village(name="Mosu")
    for i in range(5):
        make_product(village, "tenun", name=f"Sarung {i}")
        make_product(village, "kerajinan", name=f"Tas {i}")
    for url in ("/produk?kategori=tenun", "/cari?q=sarung", "/cari?q=mosu", f"/desa/{village.slug}"):
        walked = _walk(client, url)
        joiner = "&" if "?" in url else "?"
        numbered = [CARD.findall(client.get(f"{url}{joiner}page={n}").get_data(as_text=True))
                    for n in range(1, len(walked) + 1)]
        assert numbered == walked, url


def test_api_page_numbers_list_the_cursor_walk_pages(app, client, count_cache):
    village = make_certified_village()
    made = [make_product(village, "tenun").sku for _ in range(7)]
    for _ in range(2):
        pages = [[item["sku"] for item in client.get(f"/api/v1/products?per_page=3&page={n}").get_json()["items"]]
                 for n in (1, 2, 3, 4)]
        assert pages == [made[0:3], made[3:6], made[6:7], []]


def test_a_remembered_page_start_costs_no_more_than_a_cursor(app, client, count_queries):
    app.config.update(CATALOG_PAGE_SIZE=3, COUNT_CACHE=True)
    village = make_certified_village()
    for _ in range(10):
        make_product(village, "kerajinan")
    html = client.get("/produk?page=2").get_data(as_text=True)
    cursor = re.search(r'<a rel="next" href="([^"]+)"', html).group(1).replace("&amp;", "&")
    client.get("/produk?page=3")  # finds and remembers where page 3 starts
    with count_queries() as numbered:
        by_number = CARD.findall(client.get("/produk?page=3").get_data(as_text=True))
    with count_queries() as walked:
        by_cursor = CARD.findall(client.get(cursor).get_data(as_text=True))
    assert by_number == by_cursor and len(by_number) == 3
    assert numbered.statements == walked.statements  # the same SQL: no offset, no extra query


def test_page_start_is_found_again_when_the_catalogue_changes(app, client):
    app.config.update(CATALOG_PAGE_SIZE=2, COUNT_CACHE=True)
    village = make_certified_village()
    first = [make_product(village, "kerajinan") for _ in range(4)]
    assert CARD.findall(client.get("/produk?page=2").get_data(as_text=True)) == [first[1].slug, first[0].slug]
    newer = make_product(village, "kerajinan")  # moves the catalogue version
    assert CARD.findall(client.get("/produk?page=2").get_data(as_text=True)) == [first[2].slug, first[1].slug]
    assert CARD.findall(client.get("/produk?page=1").get_data(as_text=True)) == [newer.slug, first[3].slug]


@pytest.mark.parametrize("args", ["", "kabupaten=53.07", "kategori=tenun", "kabupaten=53.09&urut=name",
                                  "halal=halal", "q=tenun"])
def test_catalogue_totals_count_what_is_listed(app, client, count_cache, args):
    """With no filter or only a regency the total is summed from the village ranking."""
    from .factories import make_sellable_food

    app.config["CATALOG_PAGE_SIZE"] = 100
    sikka = make_certified_village(regency_code="53.07")
    ngada = make_certified_village(regency_code="53.09")
    for village in (sikka, ngada, sikka):
        make_product(village, "tenun")
        make_sellable_food(village)
        make_product(village, "kopi")  # not sellable
    make_product(make_certified_village(regency_code="53.07", active=False), "tenun")
    html = client.get(f"/produk?{args}").get_data(as_text=True)
    listed = len(CARD.findall(html))
    assert listed > 0
    assert re.search(rf"\b{listed} (produk|products?)\b", html), args
