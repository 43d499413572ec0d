"""Product feeds for marketplaces and ads: Google Merchant Center (RSS 2.0 with the ``g:``
namespace) and Meta's catalogue (CSV), one item per sellable product (``queries.sellable_in_chunks``).

Both are written as they are read, a chunk of products at a time, so a catalogue of any size
streams out in constant memory. Texts are the products' own (Indonesian, the shop's language);
prices are whole rupiah written as Google and Meta read them: ``85000 IDR``.

Google's product category comes from the shop's category (``GOOGLE_CATEGORIES``), named by its
path in Google's product taxonomy (Google accepts the path or the numeric id): a level of the
taxonomy that surely holds the goods, rather than a guess at a deeper one. A category without an
entry is left out, and Google then picks one itself.
"""
import re
from xml.sax.saxutils import escape, quoteattr

from ..csv_safe import CsvWriter
from ..urls import external_url
from .structured import photo_url, product_card_url, short_text

GOOGLE_NS = "http://base.google.com/ns/1.0"
#: Shop category code -> Google product taxonomy path.
GOOGLE_CATEGORIES = {
    "kopi": "Food, Beverages & Tobacco > Beverages > Coffee",
    "teh-herbal": "Food, Beverages & Tobacco > Beverages > Tea & Infusions",
    "camilan": "Food, Beverages & Tobacco > Food Items > Snack Foods",
    "pangan-pokok": "Food, Beverages & Tobacco > Food Items > Grains, Rice & Cereal",
    "gula-madu": "Food, Beverages & Tobacco > Food Items > Cooking & Baking Ingredients",
    "rempah": "Food, Beverages & Tobacco > Food Items > Seasonings & Spices",
    "olahan-laut": "Food, Beverages & Tobacco > Food Items > Meat, Seafood & Eggs > Seafood",
    "olahan-daging": "Food, Beverages & Tobacco > Food Items > Meat, Seafood & Eggs > Meat",
    "tenun": "Apparel & Accessories",
    "kerajinan": "Home & Garden > Decor",
}
#: Google's and Meta's limits on a title and a description.
TITLE_MAX = 150
DESCRIPTION_MAX = 5000
#: More photos than the first, as Google takes them.
EXTRA_IMAGES_MAX = 10
#: Meta's catalogue columns, in order.
META_COLUMNS = ("id", "title", "description", "availability", "condition", "price", "link", "image_link",
                "brand", "google_product_category", "product_type", "additional_image_link", "shipping_weight")
#: Characters XML 1.0 does not allow (control characters other than tab and line ends).
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def _xml(text):
    return escape(_NOT_XML.sub("", str(text)))


def price_text(amount_idr):
    """``85000`` -> ``"85000 IDR"``: whole rupiah, no separators."""
    return f"{int(amount_idr)} IDR"


def feed_item(product):
    """What both feeds say of ``product``: field name -> text (an empty one is left out)."""
    village = product.village
    photos = [photo_url(photo.key) for photo in product.photos]
    image = photos[0] if photos else product_card_url(product)
    description = short_text(product.description, DESCRIPTION_MAX) or \
        f"{product.name}, {village.group_name}, {village.name}"
    return {
        "id": product.sku,
        "title": short_text(product.name, TITLE_MAX),
        "description": description,
        "link": external_url("catalog.product_detail", slug=product.slug),
        "image_link": image,
        "additional_image_link": photos[1:1 + EXTRA_IMAGES_MAX],
        "in_stock": product.stock > 0,
        "price": price_text(product.price_idr),
        "brand": village.group_name,
        "condition": "new",
        "google_product_category": GOOGLE_CATEGORIES.get(product.category.code, ""),
        "product_type": product.category.name("id"),
        "shipping_weight": f"{product.weight_grams} g",
    }


def google_head(title, link, description):
    return ('<?xml version="1.0" encoding="UTF-8"?>\n'
            f'<rss version="2.0" xmlns:g={quoteattr(GOOGLE_NS)}>\n<channel>\n'
            f"<title>{_xml(title)}</title>\n<link>{_xml(link)}</link>\n"
            f"<description>{_xml(description)}</description>\n")


GOOGLE_TAIL = "</channel>\n</rss>\n"


def google_item(product):
    """One ``<item>`` of the Merchant Center feed."""
    item = feed_item(product)
    fields = [
        ("g:id", item["id"]), ("title", item["title"]), ("description", item["description"]),
        ("link", item["link"]), ("g:image_link", item["image_link"]),
        *(("g:additional_image_link", url) for url in item["additional_image_link"]),
        ("g:availability", "in_stock" if item["in_stock"] else "out_of_stock"),
        ("g:price", item["price"]), ("g:brand", item["brand"]), ("g:condition", item["condition"]),
        ("g:identifier_exists", "no"),
        ("g:google_product_category", item["google_product_category"]),
        ("g:product_type", item["product_type"]), ("g:shipping_weight", item["shipping_weight"]),
    ]
    lines = "".join(f"  <{name}>{_xml(value)}</{name}>\n" for name, value in fields if value)
    return f"<item>\n{lines}</item>\n"


def meta_row(product):
    """One row of Meta's catalogue CSV, in ``META_COLUMNS`` order."""
    item = feed_item(product)
    values = dict(item, availability="in stock" if item["in_stock"] else "out of stock",
                  additional_image_link=",".join(item["additional_image_link"]))
    return [values[column] for column in META_COLUMNS]


def meta_chunks(chunks):
    """Meta's CSV, header first, one piece of text per chunk of products; every cell through
    ``csv_safe`` (a title starting with ``=`` is no formula)."""
    writer = CsvWriter()
    writer.writerow(META_COLUMNS)
    yield writer.take()
    for chunk in chunks:
        writer.writerows(meta_row(product) for product in chunk)
        yield writer.take()
