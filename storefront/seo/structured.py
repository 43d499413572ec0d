"""What a product or village page tells machines about itself: schema.org JSON-LD (``Product``
with its ``Offer``; a village's producer group as an ``Organization``), Open Graph and Twitter
card tags, and the "Share on WhatsApp" link.

JSON-LD is built here as data and written with ``json.dumps``; ``<``, ``>`` and ``&`` are
escaped as ``\\u003c`` ... so no text of a product (a name holding ``</script>``) can end the
block. A ``<script type="application/ld+json">`` is a data block, never run by a browser: the
page's Content-Security-Policy (``script-src 'none'``) governs scripts that run, so it neither
blocks nor needs to allow this one (``storefront/security_headers.py``).
"""
import json
from typing import NamedTuple
from urllib.parse import quote

from flask_babel import gettext as _
from markupsafe import Markup

from ..i18n import current_language
from ..money import format_idr
from ..urls import external_url
from .cards import CARD_SIZE, card_key, card_version
from .links import language_url

SCHEMA = "https://schema.org"
PROVINCE = "Nusa Tenggara Timur"
#: Open Graph's names of the shop's languages.
OG_LOCALES = {"id": "id_ID", "en": "en_US"}
#: Characters of a description in tags and share texts (Facebook shows about 200, Google 160).
SHORT = 200
_ESCAPES = {"<": "\\u003c", ">": "\\u003e", "&": "\\u0026", "\u2028": "\\u2028", "\u2029": "\\u2029"}


class PageMeta(NamedTuple):
    #: The ``<script type="application/ld+json">`` block, ready for the page.
    json_ld: Markup
    #: (property, content) of the Open Graph ``<meta property>`` tags, in order.
    og: list
    #: (name, content) of the Twitter card ``<meta name>`` tags.
    twitter: list
    #: The wa.me link that shares the page with its name (and price) on WhatsApp.
    whatsapp: str


def json_ld_block(data):
    """``data`` as a JSON-LD script block that no value inside can break out of."""
    text = json.dumps(data, ensure_ascii=False, separators=(",", ":"), sort_keys=False)
    for char, escaped in _ESCAPES.items():
        text = text.replace(char, escaped)
    return Markup(f'<script type="application/ld+json">{text}</script>')


def short_text(text, limit=SHORT):
    """``text`` on one line, cut at a word before ``limit`` characters (with "…")."""
    flat = " ".join((text or "").split())
    if len(flat) <= limit:
        return flat
    return flat[:limit - 1].rsplit(" ", 1)[0].rstrip(" ,.;:") + "…"


def whatsapp_link(text):
    """A wa.me link that opens WhatsApp with ``text`` ready to send to anyone (no number)."""
    return "https://wa.me/?text=" + quote(text, safe="")


def photo_url(key):
    return external_url("media.file", filename=f"{key}-l.jpg")


def product_card_url(product):
    """The absolute address of the product's share card, versioned by the photo it shows."""
    key = card_key(product.photos[0].key if product.photos else product.village.photo)
    return external_url("seo.product_card", slug=product.slug, v=card_version(key))


def village_card_url(village):
    return external_url("seo.village_card", slug=village.slug, v=card_version(card_key(village.photo)))


def _organization(village, url=None):
    group = {"@type": "Organization", "name": village.group_name}
    if url:
        group["url"] = url
    return group


def _address(village):
    locality = ", ".join(part for part in (village.name, village.district) if part)
    return {"@type": "PostalAddress", "addressLocality": locality,
            "addressRegion": f"{village.regency_name}, {PROVINCE}", "addressCountry": "ID"}


def product_json_ld(product, page_url, card_url, language="id"):
    """schema.org ``Product`` with one ``Offer`` (what Google's product results read)."""
    village = product.village
    village_url = language_url("villages.village_detail", {"slug": village.slug}, language)
    images = [photo_url(photo.key) for photo in product.photos] + [card_url]
    availability = "InStock" if product.stock > 0 else "OutOfStock"
    return {
        "@context": SCHEMA,
        "@type": "Product",
        "@id": f"{page_url}#product",
        "name": product.name,
        "description": short_text(product.description, 5000) or product.name,
        "sku": product.sku,
        "image": images,
        "url": page_url,
        "category": product.category.name(language),
        "brand": _organization(village),
        "weight": {"@type": "QuantitativeValue", "value": product.weight_grams, "unitCode": "GRM"},
        "offers": {
            "@type": "Offer",
            "url": page_url,
            "priceCurrency": "IDR",
            "price": int(product.price_idr),
            "availability": f"{SCHEMA}/{availability}",
            "itemCondition": f"{SCHEMA}/NewCondition",
            "seller": _organization(village, village_url),
        },
    }


def village_json_ld(village, page_url, card_url):
    """schema.org ``Organization``: the village's producer group, where it is."""
    data = {
        "@context": SCHEMA,
        "@type": "Organization",
        "@id": f"{page_url}#organization",
        "name": village.group_name,
        "url": page_url,
        "logo": photo_url(village.photo) if card_key(village.photo) else card_url,
        "image": card_url,
        "address": _address(village),
    }
    story = short_text(village.story, 5000)
    if story:
        data["description"] = story
    if village.phone:
        data["telephone"] = village.phone
    return data


def _og_common(language, title, description, url, card_url, alt):
    other = [code for code in OG_LOCALES if code != language]
    og = [
        ("og:site_name", _("Village Products of NTT")),
        ("og:title", title),
        ("og:description", description),
        ("og:url", url),
        ("og:image", card_url),
        ("og:image:type", "image/jpeg"),
        ("og:image:width", str(CARD_SIZE[0])),
        ("og:image:height", str(CARD_SIZE[1])),
        ("og:image:alt", alt),
        ("og:locale", OG_LOCALES.get(language, "id_ID")),
    ] + [("og:locale:alternate", OG_LOCALES[code]) for code in other]
    twitter = [("twitter:card", "summary_large_image"), ("twitter:title", title),
               ("twitter:description", description), ("twitter:image", card_url),
               ("twitter:image:alt", alt)]
    return og, twitter


def product_meta(product):
    """``PageMeta`` of a (sellable) product's page, in the page's language."""
    language = current_language()
    village = product.village
    url = language_url("catalog.product_detail", {"slug": product.slug}, language)
    card_url = product_card_url(product)
    price = format_idr(product.price_idr)
    title = f"{product.name} · {price}"
    made_by = _("Made by %(group)s, %(village)s, %(regency)s.", group=village.group_name,
                village=village.name, regency=village.regency_name)
    description = short_text(f"{made_by} {product.description}")
    alt = (product.photos[0].alt if product.photos else "") or product.name
    og, twitter = _og_common(language, title, description, url, card_url, alt)
    og.insert(0, ("og:type", "product"))
    og += [("product:price:amount", str(int(product.price_idr))), ("product:price:currency", "IDR"),
           ("product:availability", "in stock" if product.stock > 0 else "out of stock"),
           ("product:condition", "new"), ("product:retailer_item_id", product.sku),
           ("product:brand", village.group_name)]
    return PageMeta(json_ld_block(product_json_ld(product, url, card_url, language)), og, twitter,
                    whatsapp_link(f"{title}\n{url}"))


def village_meta(village):
    """``PageMeta`` of a village's page, in the page's language."""
    language = current_language()
    url = language_url("villages.village_detail", {"slug": village.slug}, language)
    card_url = village_card_url(village)
    title = f"{village.group_name} · {village.name}"
    where = _("%(village)s, %(regency)s, Nusa Tenggara Timur.", village=village.name,
              regency=village.regency_name)
    description = short_text(f"{where} {village.story}")
    alt = _("Picture of %(village)s", village=village.name)
    og, twitter = _og_common(language, title, description, url, card_url, alt)
    og.insert(0, ("og:type", "website"))
    return PageMeta(json_ld_block(village_json_ld(village, url, card_url)), og, twitter,
                    whatsapp_link(f"{title}\n{url}"))
