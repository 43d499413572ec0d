"""Product and village photos: JPEG files in two sizes under ``MEDIA_ROOT``.

Files are written once under a fresh random key and never changed, so they are served
with a long cache lifetime.
"""
import io
import re
import secrets
from pathlib import Path

from flask import Blueprint, abort, current_app, send_from_directory, url_for
from PIL import Image, ImageOps

#: size name -> longest side in pixels. Small fits a 2-column phone grid, large a phone screen.
SIZES = {"s": 360, "l": 960}
KEY = re.compile(r"^[a-z0-9-]{4,100}$")

bp = Blueprint("media", __name__)


def media_root():
    root = Path(current_app.config["MEDIA_ROOT"])
    root.mkdir(parents=True, exist_ok=True)
    return root


def new_key(prefix):
    """A fresh, unguessable file key such as ``kopi-bajawa-3f9a1c2b``."""
    prefix = re.sub(r"[^a-z0-9-]+", "-", prefix.lower()).strip("-")[:60] or "img"
    return f"{prefix}-{secrets.token_hex(4)}"


def save_image(image, prefix):
    """Re-encode ``image`` (a PIL image) as small and large JPEGs without metadata; return the key."""
    key = new_key(prefix)
    image = ImageOps.exif_transpose(image).convert("RGB")
    root = media_root()
    for size, longest in SIZES.items():
        copy = image.copy()
        copy.thumbnail((longest, longest), Image.Resampling.LANCZOS)
        buffer = io.BytesIO()
        copy.save(buffer, "JPEG", quality=72, optimize=True, progressive=True)
        (root / f"{key}-{size}.jpg").write_bytes(buffer.getvalue())
    return key


def discard_images(keys):
    """Delete the files (every size) of images no record uses any more, or never did."""
    root = media_root()
    for key in keys:
        for size in SIZES:
            (root / f"{key}-{size}.jpg").unlink(missing_ok=True)


def media_url(key, size="s"):
    return url_for("media.file", filename=f"{key}-{size}.jpg")


@bp.get("/media/<filename>")
def file(filename):
    """Serve a stored photo; only names this module writes are accepted."""
    stem, dot, ext = filename.rpartition(".")
    key, dash, size = stem.rpartition("-")
    if ext != "jpg" or size not in SIZES or not KEY.match(key):
        abort(404)
    response = send_from_directory(media_root(), filename, max_age=31536000)
    response.headers["Cache-Control"] = "public, max-age=31536000, immutable"
    return response
