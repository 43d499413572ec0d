"""Scans of legality papers: checked by content, cleaned, stored outside ``static/``.

PDF, JPEG and PNG only, at most 5 MB. The type comes from the bytes, and the file name must
agree with it (a PDF renamed ``.png`` is refused). Images are decoded with a pixel limit (no
decompression bombs) and re-encoded without metadata; PDFs are re-written page by page, which
drops scripts, attachments and document metadata.
"""
import io
import secrets
import warnings
from dataclasses import dataclass
from pathlib import Path

from flask import current_app
from flask_babel import gettext as _
from PIL import Image, ImageOps

MAX_SCAN_BYTES = 5 * 1024 * 1024
#: An A4 page scanned at 600 dpi is about 35 megapixels.
MAX_PIXELS = 40_000_000
MAX_SIDE = 4000
MAX_PDF_PAGES = 20

_SIGNATURES = (
    (b"%PDF-", "application/pdf", "pdf"),
    (b"\xff\xd8\xff", "image/jpeg", "jpg"),
    (b"\x89PNG\r\n\x1a\n", "image/png", "png"),
)
_EXTENSIONS = {"pdf": "pdf", "jpg": "jpg", "jpeg": "jpg", "png": "png"}
_NAMES = {"pdf": "PDF", "jpg": "JPEG", "png": "PNG"}


class ScanError(ValueError):
    """The upload cannot be accepted; the message tells the village why, in their language."""


@dataclass
class CleanScan:
    data: bytes
    content_type: str
    extension: str
    original_name: str


def clean_scan(file_storage):
    """Read, check and clean an uploaded scan, or raise ``ScanError``."""
    name = (file_storage.filename or "").strip()
    data = file_storage.stream.read(MAX_SCAN_BYTES + 1)
    if not data:
        raise ScanError(_("The file is empty. Choose the scan of the paper (PDF, JPEG or PNG)."))
    if len(data) > MAX_SCAN_BYTES:
        raise ScanError(_("The file is larger than 5 MB. Scan at a lower resolution or save it as JPEG."))
    detected = next(((ctype, ext) for sig, ctype, ext in _SIGNATURES if data.startswith(sig)), None)
    if detected is None:
        raise ScanError(_("Only PDF, JPEG or PNG files can be uploaded."))
    content_type, extension = detected
    claimed = _EXTENSIONS.get(name.rpartition(".")[2].lower()) if "." in name else None
    if claimed != extension:
        raise ScanError(_("The file name says %(claimed)s but the file is a %(actual)s. Upload the original file.",
                          claimed=(name.rpartition(".")[2].upper() or "?") if "." in name else "?",
                          actual=_NAMES[extension]))
    cleaned = _clean_pdf(data) if extension == "pdf" else _clean_image(data, extension)
    return CleanScan(cleaned, content_type, extension, name[:200])


def _clean_image(data, extension):
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data)) as image:
                width, height = image.size
                if width * height > MAX_PIXELS:
                    raise ScanError(_("The image is too large (%(w)s × %(h)s pixels). Scan at 300 dpi or less.",
                                      w=width, h=height))
                # Phone cameras write multi-picture JPEGs, which Pillow calls MPO.
                expected = ("JPEG", "MPO") if extension == "jpg" else ("PNG",)
                if image.format not in expected:
                    raise ScanError(_("Only PDF, JPEG or PNG files can be uploaded."))
                image.load()
                image = ImageOps.exif_transpose(image)
                image.thumbnail((MAX_SIDE, MAX_SIDE))
                if image.mode in ("I", "I;16", "I;16B", "I;16L", "I;16N"):
                    # 16-bit greyscale: scale to 8 bits, or every light pixel turns white.
                    image = image.convert("I").point(lambda v: v * (1 / 256)).convert("L")
                image.info.clear()  # comments, ICC, text chunks: nothing of the uploader's goes back out
                out = io.BytesIO()
                if extension == "jpg":
                    image.convert("RGB").save(out, "JPEG", quality=85, optimize=True)
                else:
                    if image.mode not in ("1", "L", "LA", "P", "RGB", "RGBA"):
                        image = image.convert("RGBA")
                    image.save(out, "PNG", optimize=True)
                return out.getvalue()
    except ScanError:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise ScanError(_("The image is too large to open safely. Scan at 300 dpi or less.")) from None
    except Exception:  # Pillow raises many kinds of errors for broken files
        raise ScanError(_("The image could not be read; it may be damaged. Scan the paper again.")) from None


def _clean_pdf(data):
    from pypdf import PdfReader, PdfWriter

    try:
        reader = PdfReader(io.BytesIO(data), strict=False)
        if reader.is_encrypted:
            raise ScanError(_("The PDF is password-protected. Upload it without a password."))
        pages = len(reader.pages)
        if pages == 0:
            raise ScanError(_("The PDF has no pages."))
        if pages > MAX_PDF_PAGES:
            raise ScanError(_("The PDF has more than %(n)s pages. Upload only the paper itself.", n=MAX_PDF_PAGES))
        writer = PdfWriter()
        for page in reader.pages:
            added = writer.add_page(page)
            # Page actions and annotations can carry scripts and links; a scan needs neither.
            for key in ("/AA", "/Annots"):
                if key in added:
                    del added[key]
        out = io.BytesIO()
        writer.write(out)
        return out.getvalue()
    except ScanError:
        raise
    except Exception:  # pypdf raises many kinds of errors for broken files
        raise ScanError(_("The PDF could not be read; it may be damaged. Save or scan it again.")) from None


def scan_root():
    root = Path(current_app.config["SCAN_ROOT"])
    root.mkdir(parents=True, exist_ok=True)
    return root


def store_scan(scan):
    """Write a cleaned scan under a random name; return the key."""
    key = f"{secrets.token_hex(16)}.{scan.extension}"
    (scan_root() / key).write_bytes(scan.data)
    return key


def delete_scan_file(key):
    (scan_root() / key).unlink(missing_ok=True)
