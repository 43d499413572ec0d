"""List pages render in a fixed number of SQL statements, however many products there are."""
import pytest

from .factories import make_certificate, make_certified_village, make_product, make_sellable_food


def _fill(villages, products_per_village):
    made = []
    for _ in range(villages):
        village = make_certified_village()
        for i in range(products_per_village):
            if i % 2:
                make_product(village, "tenun")
            else:
                made.append(make_sellable_food(village))
        make_certificate(village, "trademark")
    return made


def _count(client, count_queries, url):
    with count_queries() as counter:
        response = client.get(url)
    assert response.status_code == 200, url
    return counter.count


PAGES = ["/", "/produk", "/produk?kategori=kopi&urut=price_asc", "/desa", "/cari?q=Produk",
         "/api/v1/products", "/api/v1/products.csv"]


@pytest.mark.parametrize("url", PAGES)
def test_list_pages_do_not_grow_with_products(client, count_queries, url):
    _fill(villages=1, products_per_village=2)
    small = _count(client, count_queries, url)
    _fill(villages=6, products_per_village=5)
    large = _count(client, count_queries, url)
    assert large == small, f"{url}: {small} queries with 2 products, {large} with 32"
    assert large <= 8, f"{url} needs {large} queries"


def test_village_page_does_not_grow_with_products(client, count_queries):
    village = make_certified_village()
    make_sellable_food(village)
    small = _count(client, count_queries, f"/desa/{village.slug}")
    for _ in range(15):
        make_sellable_food(village)
        make_product(village, "kerajinan")
    make_certificate(village, "trademark")
    large = _count(client, count_queries, f"/desa/{village.slug}")
    assert large == small <= 8


def test_product_page_does_not_grow_with_papers(client, count_queries):
    village = make_certified_village()
    product = make_sellable_food(village)
    make_sellable_food(village)  # one "more from this village" card, so photo loading runs in both
    small = _count(client, count_queries, f"/produk/{product.slug}")
    for _ in range(5):
        make_certificate(village, "geographical_indication", [product])
        make_sellable_food(village)
    large = _count(client, count_queries, f"/produk/{product.slug}")
    assert large == small <= 8
