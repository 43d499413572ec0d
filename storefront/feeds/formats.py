"""The three shapes of a village's order feed, built from the same parcel documents.

Every item is ``orders.notices.parcel_document`` (what the village's webhooks and e-mails say),
so the Atom entry, the JSON Feed item and the CSV rows of a parcel never disagree. Text is
fixed Indonesian: a feed is read by programs and spreadsheets, not in the visitor's language.
"""
import json
import re
import uuid
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field

from ..csv_safe import CsvWriter
from ..money import format_idr
from ..orders.tracking import VILLAGE_DELIVERY

ATOM_NS = "http://www.w3.org/2005/Atom"
JSON_FEED_VERSION = "https://jsonfeed.org/version/1.1"
#: Names the feed and its entries (urn:uuid, RFC 4122 v5): stable across token rotations
#: and host names, and revealing nothing.
ID_NAMESPACE = uuid.uuid5(uuid.NAMESPACE_URL, "https://produkdesa-ntt/feeds")
AUTHOR = "Produk Desa NTT"
STATUS_TEXT = {
    "awaiting_payment": "menunggu pembayaran", "paid": "sudah dibayar, perlu diterima",
    "accepted": "diterima desa", "packed": "dikemas", "shipped": "dikirim",
    "delivered": "sudah sampai", "declined": "ditolak desa", "cancelled": "dibatalkan",
    "expired": "kedaluwarsa",
}
CSV_COLUMNS = (
    "order_number", "parcel_id", "status", "status_reason", "payment", "created_at", "updated_at",
    "ship_to_name", "ship_to_phone", "ship_to_street", "ship_to_village_ward", "ship_to_district",
    "ship_to_regency", "ship_to_province", "ship_to_postal_code",
    "sku", "name", "quantity", "price_idr", "total_idr", "courier", "tracking_number", "url",
    # For the people who open the file in a spreadsheet: the status and the payment in
    # Indonesian words. Last, so programs reading the columns above by place are undisturbed.
    "keterangan_status", "keterangan_pembayaran",
)
#: Characters XML 1.0 cannot carry at all (a stray control character would break the feed).
_NOT_XML = re.compile("[^\t\n\r\u0020-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


@dataclass
class FeedPage:
    """One response of a feed: the village, its newest parcels (as documents) and the links."""

    village_id: int
    village_name: str
    #: When anything in the feed last changed, WITA, timezone-aware.
    updated: object
    self_url: str
    home_url: str
    #: The next (older) page when the limit cut the list, else None.
    next_url: str | None
    #: ``parcel_document`` of each parcel, newest first.
    documents: list = field(default_factory=list)


def feed_id(village_id):
    return f"urn:uuid:{uuid.uuid5(ID_NAMESPACE, f'village/{village_id}/orders')}"


def parcel_id(parcel_id):
    return f"urn:uuid:{uuid.uuid5(ID_NAMESPACE, f'parcel/{parcel_id}')}"


def feed_title(page):
    return f"Pesanan {page.village_name} — Produk Desa NTT"


def status_text(doc):
    """The status in words; a cash-on-delivery parcel is the village's to accept from the start."""
    if doc["status"] == "awaiting_payment" and doc["payment_method"] == "cod":
        return "COD baru, perlu diterima"
    return STATUS_TEXT.get(doc["status"], doc["status"])


def item_title(doc):
    cod = " (COD)" if doc["payment_method"] == "cod" else ""
    return f"Pesanan {doc['order_number']}: {status_text(doc)}{cod}"


def payment_text(doc):
    return "Bayar tunai saat diterima (COD)" if doc["payment_method"] == "cod" else "Sudah dibayar di toko"


def item_text(doc):
    """The parcel in plain words: what to pack, where it goes, how it travels."""
    ship = doc["ship_to"]
    payment = payment_text(doc)
    text = [f"Pesanan {doc['order_number']}, paket {doc['parcel_id']}",
            f"Status: {status_text(doc)}"]
    if doc["status_reason"]:
        text.append(f"Alasan: {doc['status_reason']}")
    text += [f"Pembayaran: {payment}", "", "Barang:"]
    text += [f"  {line['quantity']} x {line['name']} ({line['sku']}) — {format_idr(line['total_idr'])}"
             for line in doc["lines"]]
    text += ["", f"Nilai barang: {format_idr(doc['subtotal_idr'])}",
             f"Ongkos kirim: {format_idr(doc['shipping_idr'])} ({doc['weight_grams']} gram)", "",
             "Kirim ke:", f"  {ship['name']} ({ship['phone']})", f"  {ship['street']}",
             f"  {ship['village_ward']}, {ship['district']}",
             f"  {ship['regency']}, {ship['province']} {ship['postal_code']}"]
    if doc["courier"] == VILLAGE_DELIVERY:
        text += ["", "Diantar sendiri oleh desa"]
    elif doc["courier"] and doc["tracking_number"]:
        text += ["", f"Kurir: {doc['courier']}, resi {doc['tracking_number']}"]
    elif doc["courier"]:
        text += ["", f"Kurir: {doc['courier']}"]
    return "\n".join(text)


# -- Atom (RFC 4287) ---------------------------------------------------------------------------

def _xml_text(value):
    return _NOT_XML.sub("", str(value))


def _sub(parent, tag, text=None, **attrs):
    element = ET.SubElement(parent, tag, {k: _xml_text(v) for k, v in attrs.items()})
    if text is not None:
        element.text = _xml_text(text)
    return element


def atom(page):
    """An Atom 1.0 document (bytes, UTF-8)."""
    # The namespace is written as a plain attribute so ElementTree's global prefix map is untouched.
    root = ET.Element("feed", {"xmlns": ATOM_NS, "xml:lang": "id"})
    _sub(root, "id", feed_id(page.village_id))
    _sub(root, "title", feed_title(page))
    _sub(root, "updated", page.updated.isoformat())
    _sub(root, "link", rel="self", type="application/atom+xml", href=page.self_url)
    _sub(root, "link", rel="alternate", type="text/html", href=page.home_url)
    if page.next_url:
        _sub(root, "link", rel="next", type="application/atom+xml", href=page.next_url)
    author = _sub(root, "author")
    _sub(author, "name", AUTHOR)
    _sub(root, "generator", AUTHOR)
    for doc in page.documents:
        entry = _sub(root, "entry")
        _sub(entry, "id", parcel_id(doc["parcel_id"]))
        _sub(entry, "title", item_title(doc))
        _sub(entry, "updated", doc["updated_at"])
        _sub(entry, "published", doc["created_at"])
        _sub(entry, "link", rel="alternate", type="text/html", href=doc["url"])
        _sub(entry, "category", term=doc["status"], label=status_text(doc))
        _sub(entry, "content", item_text(doc), type="text")
    return ET.tostring(root, encoding="utf-8", xml_declaration=True)


# -- JSON Feed 1.1 -----------------------------------------------------------------------------

def json_feed(page):
    """A JSON Feed 1.1 document (bytes, UTF-8); each item carries the parcel as ``_ntt_parcel``."""
    feed = {
        "version": JSON_FEED_VERSION,
        "title": feed_title(page),
        "home_page_url": page.home_url,
        "feed_url": page.self_url,
        "description": "Paket pesanan desa, terbaru dulu.",
        "authors": [{"name": AUTHOR}],
        "language": "id",
        "items": [{
            "id": parcel_id(doc["parcel_id"]),
            "url": doc["url"],
            "title": item_title(doc),
            "content_text": item_text(doc),
            "date_published": doc["created_at"],
            "date_modified": doc["updated_at"],
            "tags": [doc["status"]],
            "_ntt_parcel": doc,
        } for doc in page.documents],
    }
    if page.next_url:
        feed["next_url"] = page.next_url
    return json.dumps(feed, ensure_ascii=False, indent=1).encode("utf-8")


# -- CSV ---------------------------------------------------------------------------------------

def csv_rows(page):
    """One row per line of each parcel, newest parcel first: the codes of the JSON feed (``shipped``,
    ``prepaid``), then the same in Indonesian words."""
    for doc in page.documents:
        ship = doc["ship_to"]
        for line in doc["lines"]:
            yield [
                doc["order_number"], doc["parcel_id"], doc["status"], doc["status_reason"],
                doc["payment_method"], doc["created_at"], doc["updated_at"],
                ship["name"], ship["phone"], ship["street"], ship["village_ward"], ship["district"],
                ship["regency"], ship["province"], ship["postal_code"],
                line["sku"], line["name"], line["quantity"], line["price_idr"], line["total_idr"],
                doc["courier"], doc["tracking_number"], doc["url"], status_text(doc), payment_text(doc)]


def csv_document(page):
    """UTF-8 with a byte-order mark, so Excel shows Indonesian text as written."""
    writer = CsvWriter()
    writer.writerow(CSV_COLUMNS)
    writer.writerows(csv_rows(page))
    return writer.take().encode("utf-8-sig")
