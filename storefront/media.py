"""Product and village photos: JPEG files in two sizes in the media store (``storage``).

Files are written once under a fresh random key and never changed, so they are served
with a long cache lifetime.
"""
import io
import re
import secrets

from flask import Blueprint, abort, url_for
from PIL import Image, ImageOps

from .storage import media_store

#: size name -> longest side in pixels. Small fits a 2-column phone grid, large a phone screen.
SIZES = {"s": 360, "l": 960}
KEY = re.compile(r"^[a-z0-9-]{4,100}$")

bp = Blueprint("media", __name__)


def new_key(prefix):
    """A fresh, unguessable file key such as ``kopi-bajawa-3f9a1c2b``."""
    prefix = re.sub(r"[^a-z0-9-]+", "-", prefix.lower()).strip("-")[:60] or "img"
    return f"{prefix}-{secrets.token_hex(4)}"


def save_image(image, prefix):
    """Re-encode ``image`` (a PIL image) as small and large JPEGs without metadata; return the key."""
    key = new_key(prefix)
    image = ImageOps.exif_transpose(image).convert("RGB")
    store = media_store()
    for size, longest in SIZES.items():
        copy = image.copy()
        copy.thumbnail((longest, longest), Image.Resampling.LANCZOS)
        buffer = io.BytesIO()
        copy.save(buffer, "JPEG", quality=72, optimize=True, progressive=True)
        store.put(f"{key}-{size}.jpg", buffer.getvalue(), "image/jpeg")
    return key


def discard_images(keys):
    """Delete the files (every size) of images no record uses any more, or never did."""
    store = media_store()
    for key in keys:
        for size in SIZES:
            store.delete(f"{key}-{size}.jpg")


def media_url(key, size="s"):
    return url_for("media.file", filename=f"{key}-{size}.jpg")


@bp.get("/media/<filename>")
def file(filename):
    """Serve a stored photo; only names this module writes are accepted."""
    stem, dot, ext = filename.rpartition(".")
    key, dash, size = stem.rpartition("-")
    if ext != "jpg" or size not in SIZES or not KEY.match(key):
        abort(404)
    response = media_store().response(filename, mimetype="image/jpeg", max_age=31536000)
    response.headers["Cache-Control"] = "public, max-age=31536000, immutable"
    return response
