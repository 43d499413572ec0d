"""Share cards: the 1200 × 630 JPEG that chat apps and social sites show for a shared link
(Open Graph ``og:image``), made from a product's first photo or a village's picture.

A card is drawn once per source photo and kept in the media store under ``cards/``: its name
holds the photo's media key (a new key for every upload, so a new photo makes a new card) and
``CARD_FORMAT`` (bumped when the drawing changes). The address that pages give out carries
``?v=`` with a digest of both, so a card can be cached for a year and a new photo is fetched at
once. The source is the shop's own stored photo (960 px, ``media.py``), read through the one image
loader (``images.load_image``); it is enlarged and cut to fill the card ("cover"). A product or
village without a picture gets a plain card in the shop's colour.
"""
import hashlib
import io

from PIL import Image, ImageDraw, ImageFont, ImageOps

from ..images import ImageRefused, load_image
from ..media import KEY
from ..storage import FileMissing, media_store

#: Open Graph's recommended size: 1.91 : 1, what WhatsApp, Facebook and X show large.
CARD_SIZE = (1200, 630)
#: Part of every card's file name and version: bump it when the drawing below changes.
CARD_FORMAT = "og1"
#: The shop's colour (``--brand`` in static/shop.css) and the text on it.
BACKGROUND = (122, 46, 29)
INK = (255, 255, 255)
#: The name on a plain card.
PLAIN_TEXT = "Produk Desa NTT"
PLAIN = "plain"
JPEG_QUALITY = 82


#: Photos known to be in the store (keys are never reused, so a yes stays true): a page that
#: names a card does not ask an object store about its photo every time.
_PRESENT = set()
_PRESENT_MAX = 50_000


def card_key(key):
    """The key a card is drawn from: ``key`` if its large photo is there, else None (plain)."""
    if not key or not KEY.match(key):
        return None
    if key not in _PRESENT:
        if not media_store().exists(f"{key}-l.jpg"):
            return None
        if len(_PRESENT) >= _PRESENT_MAX:
            _PRESENT.clear()
        _PRESENT.add(key)
    return key


def card_version(key):
    """The ``?v=`` of the card drawn from ``key`` (None: a plain card)."""
    return hashlib.sha1(f"{key or PLAIN}|{CARD_FORMAT}".encode()).hexdigest()[:12]


def _plain():
    image = Image.new("RGB", CARD_SIZE, BACKGROUND)
    draw = ImageDraw.Draw(image)
    font = ImageFont.load_default(size=84)
    draw.text((CARD_SIZE[0] / 2, CARD_SIZE[1] / 2), PLAIN_TEXT, fill=INK, font=font, anchor="mm")
    return image


def _draw(key):
    if key is None:
        return _plain()
    try:
        data = media_store().get(f"{key}-l.jpg")
        photo = load_image(io.BytesIO(data), formats=("JPEG",), longest=max(CARD_SIZE))
    except (FileMissing, ImageRefused):
        return _plain()
    # Cover: scaled until it fills the card, then the middle cut out.
    return ImageOps.fit(photo.convert("RGB"), CARD_SIZE, Image.Resampling.LANCZOS)


def card_file(key):
    """(media store key, version) of the card for the photo ``key`` (None or a missing file: the
    plain card), drawn now if it was not yet."""
    key = card_key(key)
    name = f"cards/{key or PLAIN}-{CARD_FORMAT}.jpg"
    store = media_store()
    if not store.exists(name):
        out = io.BytesIO()
        _draw(key).save(out, "JPEG", quality=JPEG_QUALITY, optimize=True, progressive=True)
        store.put(name, out.getvalue(), "image/jpeg")  # whole or not at all (storage.base)
    return name, card_version(key)
