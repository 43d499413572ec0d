"""The product feeds (issue 18): Google Merchant Center's RSS 2.0 with ``g:`` fields and Meta's
catalogue CSV, both of exactly the sellable products, in few queries, on the public address."""
import csv
import io
import re
import xml.etree.ElementTree as ET
from datetime import timedelta

import pytest
from PIL import Image
from sqlalchemy import select

from storefront.clock import today_wita
from storefront.extensions import db
from storefront.media import save_image
from storefront.products.models import Category, ProductPhoto
from storefront.seo.merchant import GOOGLE_CATEGORIES, META_COLUMNS

from .factories import make_certificate, make_certified_village, make_product, make_sellable_food

PUBLIC = "https://toko.example"
G = "{http://base.google.com/ns/1.0}"
GOOGLE = "/feeds/google-merchant.xml"
META = "/feeds/meta-catalogue.csv"
#: What Merchant Center requires of every item (and what this shop always knows).
REQUIRED = ("id", "title", "description", "link", "image_link", "availability", "price", "brand", "condition",
            "identifier_exists", "google_product_category")
PRICE = re.compile(r"^[1-9]\d* IDR$")


@pytest.fixture
def shop(app):
    app.config.update(PUBLIC_URL=PUBLIC, TRUSTED_HOSTS=["shop.test"])
    village = make_certified_village(name="Desa Beiposo", group_name="Koperasi Kopi Beiposo")
    coffee = make_sellable_food(village, name="Kopi Arabika Bajawa", sku="KB-250", price_idr=85000, stock=7,
                                description="Kopi arabika & <gula> aren.\x0b")
    for position, colour in enumerate(((120, 60, 20), (20, 60, 120))):
        key = save_image(Image.new("RGB", (64, 48), colour), "kopi")
        db.session.add(ProductPhoto(product_id=coffee.id, position=position, key=key, alt="Kopi"))
    db.session.commit()
    ikat = make_product(village, "tenun", name="=HYPERLINK(\"http://evil.example\")", sku="TN-1",
                        price_idr=1250000, stock=0, description="")
    # Its pirt expired yesterday: not sellable, in no feed.
    expired = make_product(village, "kopi", name="Kopi Kedaluwarsa", sku="KL-1")
    make_certificate(village, "pirt", [expired], expires_on=today_wita() - timedelta(days=1))
    make_certificate(village, "halal", [expired])
    return {"village": village, "coffee": coffee, "ikat": ikat, "expired": expired}


def fetch(client, path, **kwargs):
    """The response with its streamed body read at once (the request's context ends with it)."""
    response = client.get(path, **kwargs)
    response.get_data()
    return response


def google_items(client, path=GOOGLE, **kwargs):
    response = fetch(client, path, **kwargs)
    assert response.status_code == 200 and response.mimetype == "application/rss+xml"
    root = ET.fromstring(response.data)
    assert root.tag == "rss" and root.get("version") == "2.0"
    channel = root.find("channel")
    assert channel.findtext("title") and channel.findtext("link") == f"{PUBLIC}/"
    return {item.findtext(f"{G}id"): item for item in channel.findall("item")}


def field(item, name):
    return item.findtext(name if name in ("title", "description", "link") else f"{G}{name}")


def meta_rows(client):
    response = fetch(client, META)
    assert response.status_code == 200 and response.mimetype == "text/csv"
    reader = csv.DictReader(io.StringIO(response.get_data(as_text=True)))
    assert tuple(reader.fieldnames) == META_COLUMNS
    return {row["id"]: row for row in reader}


def test_the_google_feed_has_every_required_field_of_each_sellable_product(shop, client):
    items = google_items(client)
    assert set(items) == {"KB-250", "TN-1"}
    for item in items.values():
        for name in REQUIRED:
            assert field(item, name), name
        assert PRICE.match(field(item, "price"))
        assert field(item, "link").startswith(f"{PUBLIC}/produk/")
        assert field(item, "image_link").startswith(PUBLIC + "/")
        assert (field(item, "condition"), field(item, "identifier_exists")) == ("new", "no")
    coffee, ikat = items["KB-250"], items["TN-1"]
    assert field(coffee, "title") == "Kopi Arabika Bajawa"
    assert field(coffee, "description") == "Kopi arabika & <gula> aren."  # escaped, control character dropped
    assert field(coffee, "price") == "85000 IDR" and field(ikat, "price") == "1250000 IDR"
    assert (field(coffee, "availability"), field(ikat, "availability")) == ("in_stock", "out_of_stock")
    assert field(coffee, "brand") == "Koperasi Kopi Beiposo"
    assert field(coffee, "google_product_category") == "Food, Beverages & Tobacco > Beverages > Coffee"
    assert field(ikat, "google_product_category") == "Apparel & Accessories"
    assert field(coffee, "shipping_weight") == "250 g"
    assert field(coffee, "link") == f"{PUBLIC}/produk/{shop['coffee'].slug}"
    assert field(coffee, "image_link").startswith(f"{PUBLIC}/media/kopi-")
    assert len(coffee.findall(f"{G}additional_image_link")) == 1
    # Without a photo: the share card, and a description made of what is known.
    assert field(ikat, "image_link").startswith(f"{PUBLIC}/kartu/produk/{shop['ikat'].slug}.jpg?v=")
    assert field(ikat, "description") == '=HYPERLINK("http://evil.example"), Koperasi Kopi Beiposo, Desa Beiposo'


def test_every_category_of_the_shop_has_a_google_category(app):
    """A new category of the shop must be mapped too (or its products go without one)."""
    codes = set(db.session.scalars(select(Category.code)))
    assert codes and codes <= set(GOOGLE_CATEGORIES), codes - set(GOOGLE_CATEGORIES)
    assert all(path.count(" > ") <= 4 for path in GOOGLE_CATEGORIES.values())


def test_the_meta_csv_lists_the_same_products_safe_for_spreadsheets(shop, client):
    rows = meta_rows(client)
    assert set(rows) == {"KB-250", "TN-1"}
    coffee, ikat = rows["KB-250"], rows["TN-1"]
    assert (coffee["availability"], ikat["availability"]) == ("in stock", "out of stock")
    assert (coffee["price"], coffee["condition"], coffee["brand"]) == ("85000 IDR", "new", "Koperasi Kopi Beiposo")
    assert coffee["link"] == f"{PUBLIC}/produk/{shop['coffee'].slug}"
    assert coffee["image_link"].startswith(f"{PUBLIC}/media/")
    assert coffee["additional_image_link"].startswith(f"{PUBLIC}/media/")
    assert ikat["title"] == "'=HYPERLINK(\"http://evil.example\")"  # a formula turned to text
    for row in rows.values():
        for column in ("id", "title", "description", "availability", "condition", "price", "link", "image_link",
                       "brand"):
            assert row[column], column


def test_a_paper_that_expires_takes_the_product_out_of_both_feeds(shop, client):
    assert "KL-1" not in google_items(client) and "KL-1" not in meta_rows(client)
    make_certificate(shop["village"], "pirt", [shop["expired"]], expires_on=today_wita() + timedelta(days=30))
    assert "KL-1" in google_items(client) and "KL-1" in meta_rows(client)


def test_feeds_name_the_public_address_whatever_host_was_asked(shop, client):
    for host in ("shop.test", "shop.test:8443"):
        items = google_items(client, headers={"Host": host})
        text = fetch(client, GOOGLE, headers={"Host": host}).get_data(as_text=True) + \
            fetch(client, META, headers={"Host": host}).get_data(as_text=True)
        assert "shop.test" not in text
        assert all(field(item, "link").startswith(PUBLIC) for item in items.values())


def test_feeds_are_answered_304_until_the_catalogue_changes(shop, client):
    for path in (GOOGLE, META):
        first = fetch(client, path)
        assert "no-cache" in first.headers["Cache-Control"] and "public" in first.headers["Cache-Control"]
        assert fetch(client, path, headers={"If-None-Match": first.headers["ETag"]}).status_code == 304
    etag = fetch(client, GOOGLE).headers["ETag"]
    shop["coffee"].price_idr = 90000
    db.session.commit()
    changed = fetch(client, GOOGLE, headers={"If-None-Match": etag})
    assert changed.status_code == 200 and "<g:price>90000 IDR</g:price>" in changed.get_data(as_text=True)


def test_feeds_take_the_same_few_queries_for_any_number_of_products(shop, client, count_queries, monkeypatch):
    monkeypatch.setattr("storefront.seo.queries.FEED_CHUNK", 50)

    def queries(path):
        with count_queries() as counter:
            fetch(client, path)  # the body streams: count what writing it asks
        return counter.count

    few = queries(GOOGLE), queries(META)
    village = make_certified_village()
    for n in range(12):
        product = make_sellable_food(village)
        key = save_image(Image.new("RGB", (16, 16), (n, n, n)), "p")
        db.session.add(ProductPhoto(product_id=product.id, position=0, key=key))
    db.session.commit()
    assert (queries(GOOGLE), queries(META)) == few
    assert len(google_items(client)) == 14 and few[0] <= 5
