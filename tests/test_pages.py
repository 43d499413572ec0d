"""Public pages as a buyer uses them: filters, sorting, paging, search, village profiles, API."""
import csv
import io
import re

import pytest

from storefront.catalog.browse import parse_price
from storefront.extensions import db
from storefront.products.models import ProductPhoto

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


@pytest.mark.parametrize("typed, rupiah", [
    ("85000", 85000), ("85.000", 85000), ("Rp 85.000", 85000), ("rp85.000", 85000), ("Rp. 85.000,-", 85000),
    ("85.000,00", 85000), ("85rb", 85000), ("85 ribu", 85000), ("85k", 85000), ("85RB", 85000),
    ("1,5jt", 1500000), ("1.5 juta", 1500000), ("2jt", 2000000), ("0", 0), (" 1.250.000 ", 1250000),
    ("-5", None), ("85,5", None), ("abc", None), ("", None), ("1e6", None), ("85.00", None),
    ("2.147.483.648", None), ("99999999999999999999", None), ("1,2345jt", None), ("８５０００", None),
])
def test_prices_are_read_as_people_write_them(typed, rupiah):
    assert parse_price(typed) == rupiah


def test_catalogue_filters_by_price_range_and_offers_to_clear_filters(app, client):
    village = make_certified_village()
    cheap = make_product(village, "tenun", price_idr=40000)
    middle = make_product(village, "kerajinan", price_idr=85000)
    dear = make_product(village, "tenun", price_idr=1500000)

    def page(**args):
        return client.get("/produk", query_string=args).get_data(as_text=True)

    def shown(**args):
        return set(_links(page(**args)))

    assert shown() == {cheap.slug, middle.slug, dear.slug}
    assert shown(harga_min="50000") == {middle.slug, dear.slug}
    assert shown(harga_maks="Rp 85.000") == {cheap.slug, middle.slug}  # both ends included
    assert shown(harga_min="50rb", harga_maks="1jt") == {middle.slug}
    assert shown(min_price="85000", max_price="1,5jt") == {middle.slug, dear.slug}  # English names
    assert shown(harga_min="40.000", kategori="tenun") == {cheap.slug, dear.slug}
    # What cannot be read is said, shown back to be fixed, and changes nothing.
    html = page(harga_min="murah", harga_maks="-5")
    assert set(_links(html)) == {cheap.slug, middle.slug, dear.slug}
    assert ("Harga terendah “murah” bukan jumlah rupiah (misalnya 50000, 50.000 atau 50rb) "
            "sehingga diabaikan.") in html
    assert "Harga tertinggi “-5” bukan jumlah rupiah" in html
    assert re.search(r'<input id="f-min" name="harga_min"[^>]* value="murah">', html)
    # Ends the wrong way round are swapped, and said so.
    html = page(harga_min="100000", harga_maks="50000")
    assert set(_links(html)) == {middle.slug}
    assert "Harga terendah lebih tinggi dari harga tertinggi, jadi keduanya ditukar." in html
    # "Clear filters" only when something is filtered; it leads to the whole catalogue.
    assert "Hapus filter" not in page()
    assert '<a href="/produk">Hapus filter</a>' in page(harga_min="50000")
    assert '<a href="/produk">Hapus filter</a>' in page(urut="price_asc")
    # The pager keeps the range.
    app.config["CATALOG_PAGE_SIZE"] = 1
    assert "harga_min=50000" in page(harga_min="50.000").split('rel="next"')[1].split(">")[0]
    # The partners' API takes the same range and refuses what it cannot read.
    items = client.get("/api/v1/products?harga_min=50rb&harga_maks=100000").json["items"]
    assert {i["slug"] for i in items} == {middle.slug}
    refused = client.get("/api/v1/products?harga_min=murah")
    assert refused.status_code == 400 and "murah" in refused.json["problems"][0]


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
    "q=%27%20OR%201%3D1--", "q=%25", "q=_", "harga_min=abc", "harga_maks=-5", "harga_min=1e9",
    "harga_min=99999999999999999999", "harga_min=500000&harga_maks=1000", "harga_maks=2.147.483.648",
    "urut=relevance", "q=kopi&urut=relevance&after=x~y", "q=kopii&before=99999999999999999999~1",
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


def test_product_page_shows_every_photo_in_a_gallery_without_javascript(client, count_queries):
    product = make_sellable_food(name="Kopi Arabika Bajawa")
    single = make_sellable_food(name="Madu Hutan")
    keys = [f"kopi-foto-{n}" for n in range(1, 5)]
    db.session.add_all([ProductPhoto(product_id=product.id, position=n, key=key,
                                     alt="Biji kopi" if n == 0 else "") for n, key in enumerate(keys)])
    db.session.add(ProductPhoto(product_id=single.id, position=0, key="madu-foto-1"))
    db.session.commit()
    with count_queries() as counter:
        html = client.get(f"/produk/{product.slug}").get_data(as_text=True)
    assert counter.count <= 8
    gallery = re.search(r'<div class="gallery">.*?</div>', html, re.S).group(0)
    slides = re.findall(r'<li id="foto-(\d)">\s*<img src="/media/([^"]+)"\s*srcset="([^"]+)"', gallery)
    assert [(n, src) for n, src, _ in slides] == [(str(n), f"{key}-l.jpg") for n, key in enumerate(keys, 1)]
    assert all(srcset == f"/media/{key}-s.jpg 360w, /media/{key}-l.jpg 960w"
               for (_, _, srcset), key in zip(slides, keys))
    # Each thumbnail is a link to its photo's anchor, named for a screen reader.
    assert re.findall(r'<a href="#foto-(\d)"><img src="/media/([^"]+)" alt="([^"]+)"', gallery) == [
        (str(n), f"{key}-s.jpg", f"Foto {n} dari 4") for n, key in enumerate(keys, 1)]
    assert 'alt="Biji kopi"' in gallery and 'alt="Kopi Arabika Bajawa, foto 2 dari 4"' in gallery
    assert gallery.count('loading="lazy"') == 3 + 4  # every photo but the first, every thumbnail
    # No script: the JSON-LD data block (storefront/seo) is data that no browser runs.
    assert "<script" not in re.sub(r'<script type="application/ld\+json">.*?</script>', "", html, flags=re.S)
    # One photo: the photo alone, no gallery.
    html = client.get(f"/produk/{single.slug}").get_data(as_text=True)
    assert 'class="gallery"' not in html and "/media/madu-foto-1-l.jpg" in html


def test_home_shows_products_before_the_programme_text(client):
    """On a phone the first products come right after a two-line opening; what the programme is
    follows them (tests/browser/test_first_screen.py measures it in a browser)."""
    make_sellable_food(name="Kopi Arabika Bajawa")
    html = client.get("/").get_data(as_text=True)
    opening = html[html.index('<section class="hero hero-short">'):html.index('<ul class="grid">')]
    assert len(re.sub(r"<[^>]+>", "", opening).split()) < 40
    programme = html.index('id="programme"')
    assert html.index("Kopi Arabika Bajawa") < programme < html.index("Satu Desa Satu Produk", programme)


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
