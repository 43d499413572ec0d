"""What search engines and chat apps read (issue 18): JSON-LD checked against a schema of what
Google requires and recommends, Open Graph tags and their 1200 × 630 card, the WhatsApp share
link, canonical and ``hreflang`` links with ``?lang=``, ``robots.txt`` and the sitemaps."""
import copy
import io
import json
import re
import xml.etree.ElementTree as ET
from datetime import date, datetime, timedelta, timezone
from html.parser import HTMLParser
from urllib.parse import unquote
from urllib.robotparser import RobotFileParser

import jsonschema
import pytest
from PIL import Image
from sqlalchemy import update

from storefront import clock
from storefront.clock import today_wita
from storefront.extensions import db
from storefront.legality.models import Certificate
from storefront.media import save_image
from storefront.products.models import Product, ProductPhoto
from storefront.seo.structured import json_ld_block
from storefront.villages.models import Village

from .factories import make_certificate, make_certified_village, make_product, make_sellable_food

PUBLIC = "https://toko.example"
SM = "{http://www.sitemaps.org/schemas/sitemap/0.9}"
XHTML = "{http://www.w3.org/1999/xhtml}"
W3C_UTC = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")
LD_JSON = re.compile(r'<script type="application/ld\+json">(.*?)</script>', re.S)

_URL = {"type": "string", "pattern": "^https://toko\\.example/"}
_ORGANIZATION = {"type": "object", "required": ["@type", "name"],
                 "properties": {"@type": {"const": "Organization"}, "name": {"type": "string", "minLength": 1},
                                "url": _URL}}
#: What Google's product snippets and merchant listings require (name, image, offers with price
#: and currency) and recommend (description, sku, brand, availability, url, seller).
PRODUCT_SCHEMA = {
    "type": "object",
    "required": ["@context", "@type", "name", "image", "description", "sku", "brand", "offers", "url"],
    "properties": {
        "@context": {"const": "https://schema.org"},
        "@type": {"const": "Product"},
        "name": {"type": "string", "minLength": 1},
        "image": {"type": "array", "minItems": 1, "items": _URL},
        "description": {"type": "string", "minLength": 1},
        "sku": {"type": "string", "minLength": 1},
        "url": _URL,
        "brand": _ORGANIZATION,
        "offers": {
            "type": "object",
            "required": ["@type", "price", "priceCurrency", "availability", "url", "seller"],
            "properties": {
                "@type": {"const": "Offer"},
                "price": {"type": "integer", "minimum": 0},
                "priceCurrency": {"const": "IDR"},
                "availability": {"enum": ["https://schema.org/InStock", "https://schema.org/OutOfStock"]},
                "itemCondition": {"const": "https://schema.org/NewCondition"},
                "url": _URL,
                "seller": _ORGANIZATION,
            },
        },
    },
}
ORGANIZATION_SCHEMA = {
    "type": "object",
    "required": ["@context", "@type", "name", "url", "logo", "address"],
    "properties": {
        "@context": {"const": "https://schema.org"},
        "@type": {"const": "Organization"},
        "name": {"type": "string", "minLength": 1},
        "url": _URL, "logo": _URL, "image": _URL,
        "address": {
            "type": "object",
            "required": ["@type", "addressLocality", "addressRegion", "addressCountry"],
            "properties": {"@type": {"const": "PostalAddress"}, "addressCountry": {"const": "ID"},
                           "addressLocality": {"type": "string", "minLength": 1},
                           "addressRegion": {"type": "string", "pattern": "Nusa Tenggara Timur$"}},
        },
    },
}


class _Head(HTMLParser):
    """The ``<meta>`` and ``<link>`` tags of a page, and its links."""

    def __init__(self, html):
        super().__init__()
        self.meta, self.links, self.anchors = {}, [], []
        self.feed(html)

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "meta" and ("property" in attrs or "name" in attrs):
            self.meta.setdefault(attrs.get("property") or attrs.get("name"), attrs.get("content"))
        elif tag == "link":
            self.links.append(attrs)
        elif tag == "a":
            self.anchors.append(attrs.get("href") or "")

    def canonical(self):
        found = [link["href"] for link in self.links if link.get("rel") == "canonical"]
        return found[0] if len(found) == 1 else found

    def alternates(self):
        return {link["hreflang"]: link["href"] for link in self.links
                if link.get("rel") == "alternate" and "hreflang" in link}


def json_ld(html):
    blocks = LD_JSON.findall(html)
    assert len(blocks) == 1, blocks
    return json.loads(blocks[0])


def page(client, path, **kwargs):
    response = client.get(path, **kwargs)
    assert response.status_code == 200, (path, response.status_code)
    return response.get_data(as_text=True)


def _photo(product_or_none, colour, alt="Foto"):
    key = save_image(Image.new("RGB", (800, 600), colour), "foto-uji")
    if product_or_none is not None:
        db.session.add(ProductPhoto(product_id=product_or_none.id, position=0, key=key, alt=alt))
        db.session.commit()
    return key


@pytest.fixture
def shop(app):
    """Requests arrive for shop.test; the shop's public address is another. A village with a
    picture, a sellable coffee with a photo, and a product whose paper expires today."""
    app.config.update(PUBLIC_URL=PUBLIC, TRUSTED_HOSTS=["shop.test"])
    village = make_certified_village(name="Desa Beiposo", slug="beiposo", group_name="Koperasi Kopi Beiposo",
                                     district="Bajawa", story="Kopi dari lereng Inerie.")
    village.photo = _photo(None, (20, 90, 40))
    db.session.commit()
    coffee = make_sellable_food(village, name="Kopi Arabika Bajawa", slug="kopi-bajawa", sku="KB-250",
                                price_idr=85000, stock=7, description="Kopi arabika\nsangrai sedang.")
    _photo(coffee, (120, 60, 20), alt="Sebungkus kopi Bajawa")
    expiring = make_product(village, "kopi", name="Kopi Kedaluwarsa", slug="kopi-lama", sku="KL-1")
    make_certificate(village, "pirt", [expiring], expires_on=today_wita())
    make_certificate(village, "halal", [expiring])
    return {"village": village, "coffee": coffee, "expiring": expiring}


def _next_day(monkeypatch):
    """Tomorrow in WITA: papers expiring today are no longer valid."""
    tomorrow = datetime.combine(today_wita() + timedelta(days=1), datetime.min.time()) + timedelta(hours=2)
    monkeypatch.setattr(clock, "now_utc", lambda: tomorrow.replace(tzinfo=timezone.utc))


# --- JSON-LD ----------------------------------------------------------------------------------------

def test_a_product_page_carries_product_json_ld_that_the_schema_accepts(shop, client):
    data = json_ld(page(client, "/produk/kopi-bajawa"))
    jsonschema.validate(data, PRODUCT_SCHEMA)
    assert data["name"] == "Kopi Arabika Bajawa" and data["sku"] == "KB-250"
    assert data["url"] == f"{PUBLIC}/produk/kopi-bajawa"
    assert data["brand"]["name"] == "Koperasi Kopi Beiposo"
    offer = data["offers"]
    assert (offer["price"], offer["priceCurrency"], offer["availability"]) == \
        (85000, "IDR", "https://schema.org/InStock")
    assert offer["seller"] == {"@type": "Organization", "name": "Koperasi Kopi Beiposo",
                               "url": f"{PUBLIC}/desa/beiposo"}
    assert data["image"][0].startswith(f"{PUBLIC}/media/") and data["image"][-1].startswith(f"{PUBLIC}/kartu/produk/")

    shop["coffee"].stock = 0
    db.session.commit()
    sold_out = json_ld(page(client, "/produk/kopi-bajawa"))
    assert sold_out["offers"]["availability"] == "https://schema.org/OutOfStock"


SPOILS = {
    "price as text": lambda d: d["offers"].update(price="Rp 85.000"),
    "another currency": lambda d: d["offers"].update(priceCurrency="USD"),
    "availability not a schema.org URL": lambda d: d["offers"].update(availability="in stock"),
    "no offer": lambda d: d.pop("offers"),
    "no image": lambda d: d.update(image=[]),
    "the request's host": lambda d: d.update(url="http://shop.test/produk/kopi-bajawa"),
}


def test_the_product_schema_refuses_what_google_would_not_read(shop, client):
    good = json_ld(page(client, "/produk/kopi-bajawa"))
    for what, spoil in SPOILS.items():
        data = copy.deepcopy(good)
        spoil(data)
        with pytest.raises(jsonschema.ValidationError):
            jsonschema.validate(data, PRODUCT_SCHEMA)
            pytest.fail(f"accepted: {what}")


def test_a_village_page_carries_its_group_as_an_organization(shop, client):
    data = json_ld(page(client, "/desa/beiposo"))
    jsonschema.validate(data, ORGANIZATION_SCHEMA)
    assert data["name"] == "Koperasi Kopi Beiposo" and data["url"] == f"{PUBLIC}/desa/beiposo"
    assert data["address"]["addressLocality"] == "Desa Beiposo, Bajawa"
    assert data["address"]["addressRegion"] == "Ngada, Nusa Tenggara Timur"
    assert data["telephone"] == "+6281234567890"
    broken = dict(data, address={**data["address"], "addressCountry": "Indonesia"})
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(broken, ORGANIZATION_SCHEMA)


def test_no_product_text_can_end_the_json_ld_block(shop, client):
    shop["coffee"].name = 'Kopi </script><script>alert("x")</script> & <b>'
    db.session.commit()
    html = page(client, "/produk/kopi-bajawa")
    assert json_ld(html)["name"] == shop["coffee"].name  # the block holds it, escaped
    assert "<script>alert" not in html
    block = json_ld_block({"name": "</script>\u2028"})
    assert block.count("</script>") == 1 and "\\u003c/script\\u003e" in block


# --- Open Graph, the card, WhatsApp -----------------------------------------------------------------

def test_open_graph_and_twitter_tags_show_photo_name_and_price(shop, client):
    head = _Head(page(client, "/produk/kopi-bajawa"))
    meta = head.meta
    assert meta["og:type"] == "product"
    assert meta["og:title"] == "Kopi Arabika Bajawa · Rp 85.000"
    assert meta["og:description"].startswith("Dibuat oleh Koperasi Kopi Beiposo, Desa Beiposo, Ngada.")
    assert meta["og:url"] == head.canonical() == f"{PUBLIC}/produk/kopi-bajawa"
    assert (meta["og:image:width"], meta["og:image:height"], meta["og:image:type"]) == ("1200", "630", "image/jpeg")
    assert meta["og:image:alt"] == "Sebungkus kopi Bajawa"
    assert (meta["product:price:amount"], meta["product:price:currency"]) == ("85000", "IDR")
    assert meta["og:locale"] == "id_ID" and meta["og:locale:alternate"] == "en_US"
    assert meta["twitter:card"] == "summary_large_image" and meta["twitter:image"] == meta["og:image"]
    assert meta["og:image"].startswith(f"{PUBLIC}/kartu/produk/kopi-bajawa.jpg?v=")

    card = client.get(meta["og:image"].removeprefix(PUBLIC))
    assert card.status_code == 200 and card.mimetype == "image/jpeg"
    assert card.headers["Cache-Control"] == "public, max-age=31536000, immutable"
    image = Image.open(io.BytesIO(card.data))
    assert (image.format, image.size) == ("JPEG", (1200, 630))
    # The photo fills the card (cover): its colour reaches every edge, no bands.
    for corner in ((0, 0), (1199, 0), (0, 629), (1199, 629), (600, 315)):
        assert all(abs(a - b) < 12 for a, b in zip(image.getpixel(corner), (120, 60, 20))), corner
    # Without the version (or an old one) it may be kept an hour only.
    assert client.get("/kartu/produk/kopi-bajawa.jpg").headers["Cache-Control"] == "public, max-age=3600"


def test_a_new_photo_makes_a_new_card_at_a_new_address(shop, client):
    before = _Head(page(client, "/produk/kopi-bajawa")).meta["og:image"]
    photo = db.session.scalars(db.select(ProductPhoto)).one()
    photo.key = _photo(None, (10, 10, 200))
    db.session.commit()
    after = _Head(page(client, "/produk/kopi-bajawa")).meta["og:image"]
    assert after != before
    image = Image.open(io.BytesIO(client.get(after.removeprefix(PUBLIC)).data))
    assert image.getpixel((600, 315))[2] > 150  # drawn from the new (blue) photo


def test_a_product_without_photo_gets_a_plain_card_and_a_village_its_picture(shop, client):
    bare = make_sellable_food(make_certified_village(), slug="tanpa-foto")
    meta = _Head(page(client, "/produk/tanpa-foto")).meta
    image = Image.open(io.BytesIO(client.get(meta["og:image"].removeprefix(PUBLIC)).data))
    assert image.size == (1200, 630) and image.getpixel((5, 5))[0] > 100  # the shop's colour
    assert bare.slug in meta["og:url"]

    village = _Head(page(client, "/desa/beiposo")).meta
    assert village["og:type"] == "website" and village["og:url"] == f"{PUBLIC}/desa/beiposo"
    card = client.get(village["og:image"].removeprefix(PUBLIC))
    image = Image.open(io.BytesIO(card.data))
    assert image.size == (1200, 630) and image.getpixel((600, 315))[1] > 70  # the green picture


def test_cards_exist_only_for_sellable_products_and_active_villages(shop, client, monkeypatch):
    assert client.get("/kartu/produk/kopi-lama.jpg").status_code == 200  # its paper holds today
    assert client.get("/kartu/produk/tidak-ada.jpg").status_code == 404
    _next_day(monkeypatch)
    assert client.get("/kartu/produk/kopi-lama.jpg").status_code == 404
    assert client.get("/produk/kopi-lama").status_code == 404
    assert client.get("/kartu/produk/kopi-bajawa.jpg").status_code == 200
    shop["village"].active = False
    db.session.commit()
    assert client.get("/kartu/desa/beiposo.jpg").status_code == 404
    assert client.get("/kartu/produk/kopi-bajawa.jpg").status_code == 404


def test_share_on_whatsapp_is_a_plain_link_with_name_price_and_address(shop, client):
    head = _Head(page(client, "/produk/kopi-bajawa"))
    (share,) = [href for href in head.anchors if href.startswith("https://wa.me/?text=")]
    text = unquote(share.removeprefix("https://wa.me/?text="))
    assert text == f"Kopi Arabika Bajawa · Rp 85.000\n{PUBLIC}/produk/kopi-bajawa"
    assert "Bagikan ke WhatsApp" in page(client, "/produk/kopi-bajawa")
    village = _Head(page(client, "/desa/beiposo"))
    (share,) = [href for href in village.anchors if href.startswith("https://wa.me/?text=")]
    assert unquote(share).endswith(f"\n{PUBLIC}/desa/beiposo")
    english = page(client, "/produk/kopi-bajawa?lang=en")
    assert "Share on WhatsApp" in english and "lang%3Den" in english


# --- canonical, hreflang and ?lang= -------------------------------------------------------------------

def test_public_pages_name_their_canonical_address_and_both_languages(shop, client):
    head = _Head(page(client, "/produk/kopi-bajawa?utm_source=wa&lang=id"))
    assert head.canonical() == f"{PUBLIC}/produk/kopi-bajawa"
    assert head.alternates() == {"id": f"{PUBLIC}/produk/kopi-bajawa", "en": f"{PUBLIC}/produk/kopi-bajawa?lang=en",
                                 "x-default": f"{PUBLIC}/produk/kopi-bajawa"}
    english = _Head(page(client, "/produk/kopi-bajawa?lang=en"))
    assert english.canonical() == f"{PUBLIC}/produk/kopi-bajawa?lang=en"
    assert english.meta["og:locale"] == "en_US"
    listing = _Head(page(client, "/produk?kategori=kopi&urut=price_asc&page=1&harga_min=1000"))
    assert listing.canonical() == f"{PUBLIC}/produk?kategori=kopi"
    assert listing.alternates()["en"] == f"{PUBLIC}/produk?kategori=kopi&lang=en"
    assert _Head(page(client, "/desa?page=2&after=x")).canonical() == f"{PUBLIC}/desa?page=2"
    assert _Head(page(client, "/desa?page=dua")).canonical() == f"{PUBLIC}/desa"
    for path in ("/", "/produk", "/desa", "/desa/beiposo", "/tentang", "/dampak"):
        head = _Head(page(client, path))
        assert head.canonical() == PUBLIC + path.rstrip("/") + ("/" if path == "/" else ""), path
        assert set(head.alternates()) == {"id", "en", "x-default"}, path
    # Error pages, search results and the cart name no canonical address.
    for path in ("/produk/tidak-ada", "/cari?q=kopi", "/keranjang"):
        assert _Head(client.get(path).get_data(as_text=True)).canonical() == [], path


def test_lang_in_the_address_wins_over_the_cookie_and_keys_the_cache(shop, client):
    english = client.get("/produk/kopi-bajawa?lang=en")
    assert '<html lang="en">' in english.get_data(as_text=True)
    plain = client.get("/produk/kopi-bajawa", headers={"If-None-Match": english.headers["ETag"]})
    assert plain.status_code == 200 and '<html lang="id">' in plain.get_data(as_text=True)
    assert plain.headers["ETag"] != english.headers["ETag"]
    client.get("/bahasa/en")
    chosen = client.get("/produk/kopi-bajawa?lang=id")
    assert '<html lang="id">' in chosen.get_data(as_text=True)
    assert chosen.headers["ETag"] != english.headers["ETag"]
    assert '<html lang="en">' in page(client, "/produk/kopi-bajawa")
    assert client.get("/produk/kopi-bajawa?lang=xx").status_code == 200


def test_links_keep_the_language_of_the_address_and_a_switch_drops_it(shop, client):
    head = _Head(page(client, "/produk/kopi-bajawa?lang=en"))
    assert "/desa/beiposo?lang=en" in head.anchors
    assert "/produk?lang=en" in head.anchors
    assert not [a for a in head.anchors if a.startswith("/keranjang?")]  # not a public page
    switch = client.get("/bahasa/id?next=/produk/kopi-bajawa%3Flang%3Den%26page%3D2")
    assert switch.status_code == 303 and switch.headers["Location"] == "/produk/kopi-bajawa?page=2"


# --- robots.txt and the sitemaps ----------------------------------------------------------------------

def test_robots_keeps_crawlers_out_of_private_parts_and_names_the_sitemap(shop, client):
    response = client.get("/robots.txt")
    assert response.mimetype == "text/plain"
    text = response.get_data(as_text=True)
    assert f"Sitemap: {PUBLIC}/sitemap.xml" in text
    robots = RobotFileParser()
    robots.parse(text.splitlines())
    for path in ("/portal", "/portal/pesanan", "/kantor/produk/1", "/keranjang", "/checkout", "/pesanan/NTT-1",
                 "/akun/alamat", "/feed/secret-token/orders.json", "/api/v1/products", "/cari?q=kopi",
                 "/reset-sandi/abc", "/masuk"):
        assert not robots.can_fetch("Googlebot", PUBLIC + path), path
    for path in ("/", "/produk", "/produk/kopi-bajawa", "/desa/beiposo", "/tentang", "/media/x-l.jpg",
                 "/kartu/produk/kopi-bajawa.jpg", "/feeds/google-merchant.xml", "/sitemap.xml", "/dampak"):
        assert robots.can_fetch("Googlebot", PUBLIC + path), path


def _xml(client, path):
    response = client.get(path)
    assert response.status_code == 200 and response.mimetype == "application/xml", path
    return ET.fromstring(response.data)


def _urls(root):
    return {url.findtext(f"{SM}loc"): url for url in root.findall(f"{SM}url")}


def test_the_sitemap_index_lists_pages_villages_and_products_with_lastmod(shop, client):
    index = _xml(client, "/sitemap.xml")
    assert index.tag == f"{SM}sitemapindex"
    files = {item.findtext(f"{SM}loc"): item.findtext(f"{SM}lastmod") for item in index.findall(f"{SM}sitemap")}
    assert set(files) == {f"{PUBLIC}/sitemap-halaman.xml", f"{PUBLIC}/sitemap-desa.xml",
                          f"{PUBLIC}/sitemap-produk.xml"}
    assert all(W3C_UTC.match(lastmod) for lastmod in files.values()), files
    for loc in files:
        root = _xml(client, loc.removeprefix(PUBLIC))
        assert root.tag == f"{SM}urlset"
        for url in root.findall(f"{SM}url"):
            assert url.findtext(f"{SM}loc").startswith(PUBLIC + "/")
            lastmod = url.findtext(f"{SM}lastmod")
            assert lastmod is None or W3C_UTC.match(lastmod)
            alternates = {link.get("hreflang"): link.get("href") for link in url.findall(f"{XHTML}link")}
            assert alternates["id"] == alternates["x-default"] == url.findtext(f"{SM}loc")
            assert alternates["en"] == url.findtext(f"{SM}loc") + "?lang=en"
    pages = _urls(_xml(client, "/sitemap-halaman.xml"))
    assert {f"{PUBLIC}/", f"{PUBLIC}/produk", f"{PUBLIC}/desa", f"{PUBLIC}/tentang", f"{PUBLIC}/privasi"} <= set(pages)
    assert set(_urls(_xml(client, "/sitemap-desa.xml"))) == {f"{PUBLIC}/desa/beiposo"}


def test_a_product_lastmod_is_the_latest_change_of_it_its_village_and_papers(shop, client):
    old = datetime(2026, 1, 5, 3, 0, tzinfo=timezone.utc)
    db.session.execute(update(Certificate).values(updated_at=old))
    db.session.execute(update(Village).values(updated_at=old))
    db.session.execute(update(Product).values(updated_at=datetime(2026, 11, 30, 1, 2, 3, tzinfo=timezone.utc)))
    db.session.commit()
    products = _urls(_xml(client, "/sitemap-produk.xml"))
    assert products[f"{PUBLIC}/produk/kopi-bajawa"].findtext(f"{SM}lastmod") == "2026-11-30T01:02:03Z"
    db.session.execute(update(Certificate).values(updated_at=datetime(2026, 12, 1, 4, 0, tzinfo=timezone.utc)))
    db.session.commit()
    products = _urls(_xml(client, "/sitemap-produk.xml"))
    assert products[f"{PUBLIC}/produk/kopi-bajawa"].findtext(f"{SM}lastmod") == "2026-12-01T04:00:00Z"
    village = _urls(_xml(client, "/sitemap-desa.xml"))[f"{PUBLIC}/desa/beiposo"]
    assert village.findtext(f"{SM}lastmod") == "2026-12-01T04:00:00Z"


def test_a_product_whose_paper_expired_leaves_the_sitemap(shop, client, monkeypatch):
    assert f"{PUBLIC}/produk/kopi-lama" in _urls(_xml(client, "/sitemap-produk.xml"))
    _next_day(monkeypatch)
    products = _urls(_xml(client, "/sitemap-produk.xml"))
    assert set(products) == {f"{PUBLIC}/produk/kopi-bajawa"}


def test_product_sitemap_files_split_by_id_and_stay_few_queries(shop, client, count_queries, monkeypatch):
    monkeypatch.setattr("storefront.seo.queries.SITEMAP_SIZE", 2)
    village = shop["village"]
    for n in range(3):
        make_sellable_food(village, slug=f"kopi-{n}")
    index = _xml(client, "/sitemap.xml")
    files = [item.findtext(f"{SM}loc") for item in index.findall(f"{SM}sitemap")]
    produk = [f for f in files if "sitemap-produk" in f]
    assert produk[0] == f"{PUBLIC}/sitemap-produk.xml" and f"{PUBLIC}/sitemap-produk-2.xml" in produk
    seen = []
    for loc in produk:
        urls = _urls(_xml(client, loc.removeprefix(PUBLIC)))
        assert 0 < len(urls) <= 2
        seen += urls
    assert len(seen) == len(set(seen)) == 5  # coffee, the expiring one (valid today), three more
    assert client.get("/sitemap-produk-1.xml").status_code == 404
    assert _urls(_xml(client, "/sitemap-produk-999.xml")) == {}

    def queries(path):
        with count_queries() as counter:
            assert client.get(path).status_code == 200
        return counter.count

    few = queries("/sitemap-produk-2.xml"), queries("/sitemap-desa.xml"), queries("/sitemap.xml")
    for n in range(3, 8):
        make_sellable_food(village, slug=f"kopi-{n}")
    assert (queries("/sitemap-produk-2.xml"), queries("/sitemap-desa.xml"), queries("/sitemap.xml")) == few
    assert few[2] <= 6


def test_a_sitemap_is_answered_304_while_it_is_the_same(shop, client):
    first = client.get("/sitemap-produk.xml")
    again = client.get("/sitemap-produk.xml", headers={"If-None-Match": first.headers["ETag"]})
    assert again.status_code == 304
    make_sellable_food(shop["village"], slug="kopi-baru")
    changed = client.get("/sitemap-produk.xml", headers={"If-None-Match": first.headers["ETag"]})
    assert changed.status_code == 200


def test_shop_pages_lastmod_is_their_saved_text(shop, client):
    from storefront.pages.services import save_page
    from storefront.unit_of_work import unit_of_work

    with unit_of_work():
        save_page("tentang", title_id="Tentang", body_id="Isi baru.", title_en="About", body_en="New text.",
                  editor_id=None, editor_name="Kantor", replaces=0)
    pages = _urls(_xml(client, "/sitemap-halaman.xml"))
    assert W3C_UTC.match(pages[f"{PUBLIC}/tentang"].findtext(f"{SM}lastmod"))
    assert pages[f"{PUBLIC}/privasi"].findtext(f"{SM}lastmod") is None  # never saved: default text
    assert date.fromisoformat(pages[f"{PUBLIC}/produk"].findtext(f"{SM}lastmod")[:10]) >= date(2026, 1, 1)
