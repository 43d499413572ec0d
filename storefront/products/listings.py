"""A village's own listings: create and change products, their photos, and what keeps them hidden.

The verbs flush and never commit: the portal's view commits once. Papers are never touched
here: a product is linked to its papers only through the legality flow (submit, verify), and
whether it shows in the shop is decided by the listing rule (``listing.rule``) alone.

Conventions a village can rely on:
- the web address (slug) is made from the name when the product is created and then kept, so
  links already shared keep working after a rename;
- the SKU is typed by the village or, left empty, made by the shop (``RAT-KOPI-003``: village,
  category, number); it is fixed once saved, because partner feeds and order records key on it;
- stock typed on the form is applied only if nobody bought in between (see ``update_product``).
"""
import re
import unicodedata
from dataclasses import dataclass

from flask_babel import gettext as _
from PIL import Image
from sqlalchemy import func, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm.attributes import set_committed_value

from ..clock import now_utc
from ..extensions import db
from ..images import ImageRefused, TooLarge, WrongFormat, load_image, upload_size
from ..media import SIZES, discard_images, save_image
from ..unit_of_work import after_commit
from ..villages.models import Village
from .models import Category, Product, ProductPhoto, ProductRevision
from .review import pending_revision, propose_change, proposed, resubmit_listing, submit_listing

#: Per photo: phones write 3-8 MB at 12 megapixels and 10-20 MB at 50; the shop reduces them
#: itself. A whole save is capped by ``MAX_CONTENT_LENGTH`` (config.py) as well.
MAX_PHOTO_BYTES = 20 * 1024 * 1024
MAX_PHOTOS = 8
#: The largest size ``media.save_image`` writes; photos are decoded straight down to it.
_KEEP_SIDE = max(SIZES.values())
#: Pillow's names; phones' multi-picture JPEGs (MPO) count as JPEG.
PHOTO_FORMATS = ("JPEG", "PNG", "WEBP")
SKU_PATTERN = re.compile(r"^[A-Z0-9]+(?:-[A-Z0-9]+)*$")



class ListingError(ValueError):
    """A change to a listing cannot be made; the message tells the village why."""


class PhotoError(ListingError):
    """An uploaded photo is refused; nothing of it is stored."""


@dataclass
class ProductData:
    """What a village types on the product form, already parsed."""

    name: str
    category_id: int
    description: str
    price_idr: int
    weight_grams: int
    stock: int
    published: bool
    non_halal: bool
    #: Only read when creating; empty means "make one".
    sku: str = ""


# --- photos ----------------------------------------------------------------------------------


def clean_photo(file_storage):
    """Read and check an uploaded product photo; return it decoded (a PIL image) or raise ``PhotoError``.

    The type comes from the bytes, not the name: JPEG, PNG or WebP, at most 20 MB. The one
    bounded loader (``images.load_image``) refuses what would not fit its memory budget before
    decoding anything, decodes straight down to the largest size the shop keeps, turns it
    upright and drops all metadata, so nothing of the original file survives.
    """
    stream = file_storage.stream
    size = upload_size(stream)
    if not size:
        raise PhotoError(_("The photo file is empty."))
    if size > MAX_PHOTO_BYTES:
        raise PhotoError(_("The photo is larger than 20 MB. Choose a smaller photo size in the camera's "
                           "settings, or share the photo reduced."))
    try:
        image = load_image(stream, formats=PHOTO_FORMATS, longest=_KEEP_SIDE)
    except WrongFormat:
        raise PhotoError(_("Only JPEG, PNG or WebP photos can be uploaded.")) from None
    except TooLarge as exc:
        if exc.width is None:
            raise PhotoError(_("The photo is too large to open safely. Send it as the phone's camera "
                               "took it (JPEG), or at a smaller size.")) from None
        raise PhotoError(_("The photo is too large to process (%(w)s × %(h)s pixels). Send it as the phone's "
                           "camera took it (JPEG), or at a smaller size.", w=exc.width, h=exc.height)) from None
    except ImageRefused:
        raise PhotoError(_("The photo could not be read; it may be damaged. Take or export it again.")) from None
    if image.mode not in ("RGB", "L"):
        # Transparent parts become white, not black, in the JPEGs.
        rgba = image.convert("RGBA")
        image = Image.new("RGB", rgba.size, "white")
        image.paste(rgba, mask=rgba.getchannel("A"))
    return image


def _store_photo_files(product, images):
    """Write each image in both sizes, without a record (a proposal names them); their keys."""
    keys = []
    try:
        for image in images:
            keys.append(save_image(image, product.slug))
    except BaseException:
        discard_images(keys)
        raise
    return keys


def _store_photos(product, images):
    """Write each image in both sizes and add its row after the product's last photo."""
    keys = []
    position = max((p.position for p in product.photos), default=-1) + 1
    try:
        for image in images:
            key = save_image(image, product.slug)
            keys.append(key)
            db.session.add(ProductPhoto(product_id=product.id, position=position, key=key,
                                        alt=product.name[:200]))
            position += 1
        db.session.flush()
    except IntegrityError:
        discard_images(keys)
        raise ListingError(_("Someone else changed this product's photos at the same time. Please try again.")) from None
    except BaseException:
        discard_images(keys)
        raise
    return keys


# --- names -----------------------------------------------------------------------------------


def slugify(text, max_len=80):
    """``"Kopi Arabika Bajawa 250 g"`` -> ``"kopi-arabika-bajawa-250-g"``; accents dropped."""
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
    slug = re.sub(r"[^a-z0-9]+", "-", ascii_text.lower()).strip("-")
    return slug[:max_len].rstrip("-") or "produk"


def _free_slug(name):
    """A slug from ``name`` that no product has: ``base``, else ``base-2``, ``base-3``, ..."""
    base = slugify(name)
    taken = set(db.session.scalars(
        select(Product.slug).where(or_(Product.slug == base, Product.slug.like(f"{base}-%")))))
    if base not in taken:
        return base
    n = 2
    while f"{base}-{n}" in taken:
        n += 1
    return f"{base}-{n}"


def normalise_sku(raw):
    """Capitals, spaces and underscores turned into hyphens: ``" rat kopi_01 "`` -> ``"RAT-KOPI-01"``."""
    return re.sub(r"[\s_]+", "-", (raw or "").strip().upper())


def _check_sku(sku):
    if not 3 <= len(sku) <= 40 or not SKU_PATTERN.match(sku):
        raise ListingError(_("The SKU may hold only letters, digits and hyphens (3 to 40 characters), "
                             "e.g. RAT-KOPI-001. Leave it empty and the shop makes one."))
    if db.session.scalar(select(func.count()).where(func.upper(Product.sku) == sku)):
        raise ListingError(_("The SKU %(sku)s is already used by another product. Choose another, "
                             "or leave it empty and the shop makes one.", sku=sku))
    return sku


def _new_sku(village, category):
    """``<village>-<category>-<number>``, e.g. ``RAT-KOPI-003``: the next free number."""
    village_part = (re.sub(r"[^A-Z0-9]", "", village.slug.upper()) or "DESA")[:3]
    category_part = (re.sub(r"[^A-Z0-9]", "", category.code.split("-")[0].upper()) or "PRD")[:4]
    prefix = f"{village_part}-{category_part}-"
    used = db.session.scalars(select(Product.sku).where(Product.sku.like(f"{prefix}%"))).all()
    numbers = [int(s[len(prefix):]) for s in used if s[len(prefix):].isdigit()]
    return f"{prefix}{max(numbers, default=0) + 1:03d}"


# --- the verbs -------------------------------------------------------------------------------


def _category(category_id):
    category = db.session.get(Category, category_id)
    if category is None:
        raise ListingError(_("Choose a category."))
    return category


def _check_numbers(data):
    if data.price_idr < 0 or data.stock < 0 or data.weight_grams <= 0:
        raise ListingError(_("Price and stock cannot be negative, and the weight must be above 0 g."))


def create_product(*, village_id, data, photos=(), actor=None):
    """Add a product to the village's listings, with its first photos.

    It is published by default, yet shows in the shop only when the listing rule allows: until
    then it waits for the office's review of the listing and for its papers. ``photos`` are
    images from ``clean_photo``.
    """
    village = db.session.get(Village, village_id)
    if village is None:
        raise ListingError(_("Your account is not linked to a village."))
    category = _category(data.category_id)
    _check_numbers(data)
    if len(photos) > MAX_PHOTOS:
        raise ListingError(_("A product can have at most %(n)s photos.", n=MAX_PHOTOS))
    sku = _check_sku(normalise_sku(data.sku)) if (data.sku or "").strip() else _new_sku(village, category)
    product = Product(
        village_id=village.id, category_id=category.id, slug=_free_slug(data.name), sku=sku,
        name=data.name, description=data.description, price_idr=data.price_idr,
        weight_grams=data.weight_grams, stock=data.stock, published=data.published,
        non_halal=data.non_halal and category.is_food)
    db.session.add(product)
    try:
        db.session.flush()
    except IntegrityError:
        # Another product took the same SKU or slug in the meantime.
        raise ListingError(_("Another product was saved with the same SKU or name at the same moment. "
                             "Please try again.")) from None
    set_committed_value(product, "photos", [])  # new, so empty: no need to ask the database
    _store_photos(product, photos)
    submit_listing(product, actor)
    return product


class StockChanged(ListingError):
    """Stock moved (an order came in) between opening the form and saving it."""

    def __init__(self, message, current):
        super().__init__(message)
        #: The stock the database holds now.
        self.current = current


@dataclass
class Saved:
    """What ``update_product`` did: the product, and the proposal that waits for the office
    when the change touched what an approved product is (None otherwise). Photo files the
    change made useless are deleted once it is committed."""

    product: Product
    revision: ProductRevision | None = None


def update_product(product, *, data, stock_seen, photos=(), actor=None):
    """Change a village's product. Papers are not touched; the listing rule re-decides at once.

    ``product`` must have ``photos`` and ``category`` loaded. Price, stock and the published
    switch change at once. What the product *is* (name, category, description, weight, photos,
    non-halal) changes at once only while the office has not approved the listing yet; for an
    approved product it becomes a proposal the office reviews (``products/review.py``), and the
    approved version stays on sale meanwhile.

    Stock is set to what was typed only when it still is ``stock_seen`` (what the form showed):
    an order placed meanwhile is never overwritten, the village is asked to look again
    (``StockChanged``). A food product cannot move to a non-food category: its food papers would
    silently stop being required.
    """
    category = _category(data.category_id)
    _check_numbers(data)
    if product.category.is_food and not category.is_food:
        raise ListingError(_("A food product cannot be moved to a non-food category, because its food "
                             "papers would no longer be checked. Add it as a new product instead."))
    waiting = pending_revision(product.id) if product.review_status == "approved" else None
    photo_keys = proposed(waiting)["photo_keys"] if waiting else [photo.key for photo in product.photos]
    if len(photo_keys) + len(photos) > MAX_PHOTOS:
        raise ListingError(_("A product can have at most %(n)s photos; remove one first.", n=MAX_PHOTOS))
    if data.stock != stock_seen:
        moved = db.session.execute(
            update(Product).where(Product.id == product.id, Product.stock == stock_seen)
            .values(stock=data.stock, updated_at=now_utc()).execution_options(synchronize_session=False))
        if moved.rowcount != 1:
            current = db.session.scalar(select(Product.stock).where(Product.id == product.id))
            raise StockChanged(_(
                "The stock changed from %(seen)s to %(now)s while you were editing (orders came in). "
                "Check the number and save again.", seen=stock_seen, now=current), current)
        set_committed_value(product, "stock", data.stock)  # the row holds it already
    product.price_idr = data.price_idr
    product.published = data.published
    wanted = {"name": data.name, "category_id": category.id, "description": data.description,
              "weight_grams": data.weight_grams, "non_halal": data.non_halal and category.is_food}
    if product.review_status != "approved":
        changed = any(getattr(product, name) != value for name, value in wanted.items()) or bool(photos)
        for name, value in wanted.items():
            setattr(product, name, value)
        db.session.flush()
        _store_photos(product, photos)
        if changed and product.review_status == "rejected":
            resubmit_listing(product, actor)
        return Saved(product)
    db.session.flush()
    new_keys = _store_photo_files(product, photos)
    try:
        revision, unused = propose_change(product, {**wanted, "photo_keys": photo_keys + new_keys}, actor)
    except BaseException:
        discard_images(new_keys)
        raise
    after_commit(discard_images, unused)
    return Saved(product, revision)


def delete_product_photo(product, photo_key, actor=None):
    """Remove one photo of the product (``photo_key``: a photo it shows, or one a waiting
    proposal adds). Before approval the photo goes at once; for an approved product its removal
    is proposed to the office like any other change. Returns a ``Saved``."""
    if product.review_status != "approved":
        photo = next((p for p in product.photos if p.key == photo_key), None)
        if photo is None:
            raise ListingError(_("That photo is not one of this product's."))
        product.photos.remove(photo)
        db.session.flush()
        after_commit(discard_images, [photo.key])
        return Saved(product)
    waiting = pending_revision(product.id)
    keys = proposed(waiting)["photo_keys"] if waiting else [photo.key for photo in product.photos]
    if photo_key not in keys:
        raise ListingError(_("That photo is not one of this product's."))
    revision, unused = propose_change(product, {"photo_keys": [k for k in keys if k != photo_key]}, actor)
    after_commit(discard_images, unused)
    return Saved(product, revision)
