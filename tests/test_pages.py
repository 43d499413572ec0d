"""Public pages as a buyer uses them: filters, sorting, paging, search, village profiles, API."""
import csv
import io

import pytest

from .factories import make_certificate, make_certified_village, make_product, make_sellable_food


def _links(html):
    import re

    return re.findall(r'href="/produk/([^"?]+)"', html)


def test_catalogue_filters_by_category_regency_village_and_halal(client):
    ngada = make_certified_village(regency_code="53.09", name="Beiposo")
    sikka = make_certified_village(regency_code="53.07", name="Watublapi")
    coffee = make_sellable_food(ngada, "kopi")
    pork = make_sellable_food(sikka, "olahan-daging", non_halal=True)
    cloth = make_product(sikka, "tenun")

    def shown(**args):
        return set(_links(client.get("/produk", query_string=args).get_data(as_text=True)))

    assert shown() >= {coffee.slug, pork.slug, cloth.slug}
    assert shown(kategori="kopi") == {coffee.slug}
    assert shown(kabupaten="53.07") == {pork.slug, cloth.slug}
    assert shown(desa=ngada.slug) == {coffee.slug}
    assert shown(halal="halal") == {coffee.slug}
    assert shown(halal="non-halal") == {pork.slug}
    assert shown(category="tenun", regency="53.07") == {cloth.slug}  # English names work too


def test_catalogue_sorts_by_price_and_newest(client):
    village = make_certified_village()
    cheap = make_product(village, "tenun", price_idr=50000)
    dear = make_product(village, "tenun", price_idr=900000)
    middle = make_product(village, "kerajinan", price_idr=150000)
    order = lambda sort: [s for s in _links(client.get(f"/produk?urut={sort}").get_data(as_text=True))
                          if s in {cheap.slug, dear.slug, middle.slug}]
    assert order("price_asc") == [cheap.slug, middle.slug, dear.slug]
    assert order("price_desc") == [dear.slug, middle.slug, cheap.slug]
    assert order("newest") == [middle.slug, dear.slug, cheap.slug]


def test_catalogue_pages_through_all_products(app, client):
    app.config["CATALOG_PAGE_SIZE"] = 4
    village = make_certified_village()
    made = {make_product(village, "tenun").slug for _ in range(10)}
    seen = []
    for page in (1, 2, 3):
        html = client.get(f"/produk?page={page}").get_data(as_text=True)
        seen += _links(html)
    assert sorted(seen) == sorted(made)
    assert 'rel="next"' not in client.get("/produk?page=3").get_data(as_text=True)
    past_end = client.get("/produk?page=99")
    assert past_end.status_code == 200 and _links(past_end.get_data(as_text=True)) == []


@pytest.mark.parametrize("query", [
    "kategori=nope", "kabupaten=99.99", "halal=maybe", "urut=random", "page=-1", "page=abc",
    "page=99999999999999", "desa=%C3%28", "q=" + "x" * 5000, "kategori=<script>alert(1)</script>",
    "q=%27%20OR%201%3D1--", "q=%25", "q=_",
])
def test_odd_query_strings_never_break_the_catalogue(client, query):
    make_sellable_food()
    for path in ("/produk", "/cari", "/desa"):
        response = client.get(f"{path}?{query}")
        assert response.status_code == 200, (path, query, response.status_code)
        assert b"<script>alert(1)</script>" not in response.data
    for path in ("/api/v1/products", "/api/v1/products.csv"):
        response = client.get(f"{path}?{query}")
        assert response.status_code in (200, 400), (path, query, response.status_code)
        if response.status_code == 400:
            assert response.json["problems"]


@pytest.mark.parametrize("path", ["/produk?desa=%00", "/cari?q=kopi%00", "/produk/a%00b", "/desa/x%00"])
def test_nul_bytes_are_a_bad_request_not_a_crash(client, path):
    assert client.get(path).status_code == 400


def test_unknown_filter_is_explained(client):
    html = client.get("/produk?kategori=sepatu").get_data(as_text=True)
    assert "sepatu" in html
    response = client.get("/api/v1/products?kategori=sepatu")
    assert response.status_code == 400 and "sepatu" in response.json["problems"][0]


def test_search_matches_product_village_and_category_words(client):
    village = make_certified_village(name="Mosu", group_name="Kelompok Tenun Ina Ndao")
    coffee = make_sellable_food(make_certified_village(), "kopi", name="Kopi Arabika Bajawa")
    cloth = make_product(village, "tenun", name="Sarung Ikat", description="Pewarna alami mengkudu")
    found = lambda q: set(_links(client.get("/cari", query_string={"q": q}).get_data(as_text=True)))
    assert found("arabika") == {coffee.slug}
    assert found("BAJAWA kopi") == {coffee.slug}
    assert found("mengkudu") == {cloth.slug}
    assert found("Mosu") == {cloth.slug}  # village name
    assert found("Tenun Ikat") == {cloth.slug}  # category name
    assert found("arabika mengkudu") == set()
    assert found("%") == set()  # a literal percent sign, not a wildcard
    html = client.get("/cari?q=Mosu").get_data(as_text=True)
    assert f'href="/desa/{village.slug}"' in html


def test_product_page_shows_what_a_buyer_needs(client):
    village = make_certified_village(name="Beiposo", regency_code="53.09", district="Bajawa",
                                     group_name="Koperasi Kopi Beiposo")
    product = make_sellable_food(village, "kopi", name="Kopi Arabika Bajawa 250 g",
                                 price_idr=1250000, weight_grams=250, stock=7)
    html = client.get(f"/produk/{product.slug}").get_data(as_text=True)
    for text in ("Kopi Arabika Bajawa 250 g", "Rp 1.250.000", "250 g", "Koperasi Kopi Beiposo",
                 "Ngada", "Bajawa", f'href="/desa/{village.slug}"'):
        assert text in html, text
    assert '<meta name="viewport"' in html and 'role="img" aria-label=' in html


def test_village_page_shows_profile_contact_papers_and_products(client):
    village = make_certified_village(name="Watublapi", regency_code="53.07", district="Hewokloang",
                                     group_name="Sentra Tenun Ikat Lepo Lorun",
                                     group_type="kelompok_wanita", phone="+6281339123456",
                                     email="lepolorun@desa.example.id",
                                     story="Para penenun memakai pewarna alam.")
    trademark = make_certificate(village, "trademark")
    cloth = make_product(village, "tenun")
    hidden = make_product(village, "kopi")  # food without papers
    html = client.get(f"/desa/{village.slug}").get_data(as_text=True)
    for text in ("Watublapi", "Sikka", "Hewokloang", "Sentra Tenun Ikat Lepo Lorun",
                 "+62 813-3912-3456", "https://wa.me/6281339123456", "lepolorun@desa.example.id",
                 "Para penenun memakai pewarna alam.", trademark.number, f"/produk/{cloth.slug}"):
        assert text in html, text
    assert f"/produk/{hidden.slug}" not in html
    assert client.get("/desa/tidak-ada").status_code == 404


def test_village_list_filters_by_regency_and_counts_sellable_products(client):
    ngada = make_certified_village(regency_code="53.09", name="Beiposo")
    alor = make_certified_village(regency_code="53.05", name="Hula")
    make_sellable_food(ngada)
    make_product(ngada, "kopi")  # not sellable: no food papers
    html = client.get("/desa?kabupaten=53.09").get_data(as_text=True)
    assert "Beiposo" in html and "Hula" not in html
    assert "1 produk dijual" in html or "1 product on sale" in html
    assert alor.slug in client.get("/desa").get_data(as_text=True)


def test_api_items_carry_what_partners_need(client):
    village = make_certified_village(regency_code="53.14")
    product = make_sellable_food(village, "gula-madu", price_idr=45000, stock=12)
    body = client.get("/api/v1/products").json
    assert body["total"] == 1 and body["page"] == 1 and body["next"] is None
    item = body["items"][0]
    assert item["sku"] == product.sku and item["slug"] == product.slug
    assert item["village"] == village.slug and item["category"] == "gula-madu"
    assert item["price_idr"] == 45000 and item["stock"] == 12
    assert item["url"].endswith(f"/produk/{product.slug}")
    assert {c["kind"] for c in item["certificates"]} == {"nib", "pirt", "halal"}
    assert all(c["number"] and c["issuer"] for c in item["certificates"])


def test_api_pages_and_bounds_per_page(client):
    village = make_certified_village()
    for _ in range(5):
        make_product(village, "kerajinan")
    first = client.get("/api/v1/products?per_page=2").json
    assert len(first["items"]) == 2 and first["pages"] == 3 and first["next"]
    second = client.get(first["next"].replace("http://shop.test", "")).json
    assert {i["sku"] for i in second["items"]}.isdisjoint({i["sku"] for i in first["items"]})
    assert client.get("/api/v1/products?per_page=100000").json["per_page"] == 100
    assert client.get("/api/v1/products?per_page=0").json["per_page"] == 50


def test_csv_lists_every_sellable_product_with_its_papers(client):
    village = make_certified_village()
    products = [make_sellable_food(village) for _ in range(3)]
    make_product(village, "kopi")  # hidden
    response = client.get("/api/v1/products.csv")
    assert response.mimetype == "text/csv"
    rows = list(csv.DictReader(io.StringIO(response.get_data(as_text=True))))
    assert {r["sku"] for r in rows} == {p.sku for p in products}
    assert all("pirt:P-IRT No." in r["certificates"] and r["price_idr"] == "85000" for r in rows)


def test_language_switch_is_remembered(client):
    make_sellable_food()
    indonesian = client.get("/produk").get_data(as_text=True)
    assert '<html lang="id">' in indonesian
    response = client.get("/bahasa/en?next=/produk")
    assert response.status_code == 303 and response.headers["Location"].endswith("/produk")
    english = client.get("/produk").get_data(as_text=True)
    assert '<html lang="en">' in english and "Products" in english
    client.get("/bahasa/id")
    assert '<html lang="id">' in client.get("/produk").get_data(as_text=True)


def test_language_switch_never_redirects_off_site(client):
    for target in ("https://evil.example/", "//evil.example/", "/\\evil.example"):
        response = client.get("/bahasa/en", query_string={"next": target})
        assert response.headers["Location"] in ("/", "http://shop.test/")


def test_pages_send_protective_headers(client):
    response = client.get("/")
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert "frame-ancestors 'none'" in response.headers["Content-Security-Policy"]
