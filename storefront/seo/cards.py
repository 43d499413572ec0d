"""Share cards: the 1200 × 630 JPEG that chat apps and social sites show for a shared link
(Open Graph ``og:image``), made from a product's first photo or a village's picture.

A card is drawn once per source photo and kept on disk under ``MEDIA_ROOT/cards/``: its name
holds the photo's media key (a new key for every upload, so a new photo makes a new card) and
``CARD_FORMAT`` (bumped when the drawing changes). The address that pages give out carries
``?v=`` with a digest of both, so a card can be cached for a year and a new photo is fetched at
once. The source is the shop's own stored photo (960 px, ``media.py``), read through the one image
loader (``images.load_image``); it is enlarged and cut to fill the card ("cover"). A product or
village without a picture gets a plain card in the shop's colour.
"""
import hashlib
import os
import secrets
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont, ImageOps

from ..images import ImageRefused, load_image
from ..media import KEY, media_root

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


def card_folder():
    folder = media_root() / "cards"
    folder.mkdir(exist_ok=True)
    return folder


def card_key(key):
    """The key a card is drawn from: ``key`` if its large photo is there, else None (plain)."""
    if key and KEY.match(key) and (media_root() / f"{key}-l.jpg").is_file():
        return key
    return None


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
    with open(media_root() / f"{key}-l.jpg", "rb") as fp:
        try:
            photo = load_image(fp, formats=("JPEG",), longest=max(CARD_SIZE))
        except ImageRefused:
            return _plain()
    # Cover: scaled until it fills the card, then the middle cut out.
    return ImageOps.fit(photo.convert("RGB"), CARD_SIZE, Image.Resampling.LANCZOS)


def card_file(key):
    """(path, version) of the card for the photo ``key`` (None or a missing file: the plain card),
    drawn now if it was not yet."""
    key = card_key(key)
    path = card_folder() / f"{key or PLAIN}-{CARD_FORMAT}.jpg"
    if not path.is_file():
        image = _draw(key)
        # Written aside and renamed: a card being written is never served half-made.
        partial = path.with_name(f".{path.name}.{secrets.token_hex(4)}")
        image.save(partial, "JPEG", quality=JPEG_QUALITY, optimize=True, progressive=True)
        os.replace(partial, path)
    return Path(path), card_version(key)
