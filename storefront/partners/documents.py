"""A product as partners read it: the API's item, the CSV's row and the webhooks' ``data`` are
this one document, and its hash is how the snapshot notices a change of price, stock or content."""
import hashlib
import json

from ..legality.papers import issuer
from ..urls import external_url


def product_document(product, papers):
    """The product (village, category and photos loaded) with its current ``papers``."""
    village = product.village
    return {
        "id": product.id,
        "sku": product.sku,
        "slug": product.slug,
        "name": product.name,
        "village": village.slug,
        "village_name": village.name,
        "regency": village.regency_name,
        "regency_code": village.regency_code,
        "category": product.category.code,
        "description": product.description,
        "price_idr": product.price_idr,
        "weight_grams": product.weight_grams,
        "stock": product.stock,
        "in_stock": product.stock > 0,
        "non_halal": product.non_halal,
        "url": external_url("catalog.product_detail", slug=product.slug),
        "image": (external_url("media.file", filename=f"{product.photos[0].key}-l.jpg")
                  if product.photos else None),
        "certificates": [
            {
                "kind": paper.kind,
                "number": paper.number,
                "issuer": issuer(paper, village.regency_name),
                "issued_on": paper.issued_on.isoformat(),
                "expires_on": paper.expires_on.isoformat() if paper.expires_on else None,
                "status": paper.status,
            }
            for paper in papers
        ],
    }


def content_hash(document):
    """SHA-256 of the document in a canonical JSON form: equal exactly when partners would see
    the same thing."""
    canonical = json.dumps(document, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()
