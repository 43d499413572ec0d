"""Scans of legality papers: checked by content, cleaned, stored outside ``static/``.

PDF, JPEG and PNG only: images (a scan, or a phone photo of the paper) up to 20 MB, PDFs up to
5 MB. The type comes from the bytes, and the file name must agree with it (a PDF renamed ``.png``
is refused). Images go through the shop's one bounded loader (``images.load_image``: refused
before decoding if they would not fit its memory budget, decoded straight down to ``MAX_SIDE``)
and are re-encoded without metadata; PDFs are re-written page by page, which drops scripts,
attachments and document metadata.
"""
import io
import secrets
from dataclasses import dataclass

from flask_babel import gettext as _

from ..images import ImageRefused, TooLarge, WrongFormat, load_image, upload_size
from ..storage import scan_store

#: Images: a phone photo of a paper is up to 20 MB (50 megapixels), and is reduced here.
MAX_SCAN_BYTES = 20 * 1024 * 1024
#: PDFs are kept as sent (the pictures inside are not reduced) and are what the office downloads,
#: often on mobile data; pypdf holds a document about 4.5 times over while it rewrites it
#: (measured: 24 MB for a 5.5 MB three-page scan). Scanner apps write a few pages in 0.3-3 MB.
MAX_PDF_BYTES = 5 * 1024 * 1024
#: Longest side kept: an A4 page at 340 dpi, so the small print of a certificate stays legible.
MAX_SIDE = 4000
MAX_PDF_PAGES = 20

_SIGNATURES = (
    (b"%PDF-", "application/pdf", "pdf"),
    (b"\xff\xd8\xff", "image/jpeg", "jpg"),
    (b"\x89PNG\r\n\x1a\n", "image/png", "png"),
)
_EXTENSIONS = {"pdf": "pdf", "jpg": "jpg", "jpeg": "jpg", "png": "png"}
_NAMES = {"pdf": "PDF", "jpg": "JPEG", "png": "PNG"}
#: Pillow's names for each image extension (phones' multi-picture JPEGs count as JPEG).
_FORMATS = {"jpg": ("JPEG",), "png": ("PNG",)}


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
    stream = file_storage.stream
    size = upload_size(stream)
    if not size:
        raise ScanError(_("The file is empty. Choose the scan of the paper (PDF, JPEG or PNG)."))
    if size > MAX_SCAN_BYTES:
        raise ScanError(_("The file is larger than 20 MB. Scan at a lower resolution or save it as JPEG."))
    head = stream.read(16)
    stream.seek(0)
    detected = next(((ctype, ext) for sig, ctype, ext in _SIGNATURES if head.startswith(sig)), None)
    if detected is None:
        raise ScanError(_("Only PDF, JPEG or PNG files can be uploaded."))
    content_type, extension = detected
    claimed = _EXTENSIONS.get(name.rpartition(".")[2].lower()) if "." in name else None
    if claimed != extension:
        raise ScanError(_("The file name says %(claimed)s but the file is a %(actual)s. Upload the original file.",
                          claimed=(name.rpartition(".")[2].upper() or "?") if "." in name else "?",
                          actual=_NAMES[extension]))
    if extension == "pdf":
        if size > MAX_PDF_BYTES:
            raise ScanError(_("The PDF is larger than 5 MB. Save it at a lower quality, or send a photo "
                              "of the paper instead (JPEG, up to 20 MB)."))
        cleaned = _clean_pdf(stream.read())
    else:
        cleaned = _clean_image(stream, extension)
    return CleanScan(cleaned, content_type, extension, name[:200])


def _clean_image(stream, extension):
    """Decode (bounded), then re-encode as the same kind of file with nothing of the original's
    metadata: comments, ICC, EXIF and text chunks all stay behind."""
    try:
        image = load_image(stream, formats=_FORMATS[extension], longest=MAX_SIDE)
    except WrongFormat:
        raise ScanError(_("Only PDF, JPEG or PNG files can be uploaded.")) from None
    except TooLarge as exc:
        if exc.width is None:
            raise ScanError(_("The image is too large to open safely. Scan at 300 dpi or less.")) from None
        raise ScanError(_("The image is too large (%(w)s × %(h)s pixels). Scan at 300 dpi or less.",
                          w=exc.width, h=exc.height)) from None
    except ImageRefused:
        raise ScanError(_("The image could not be read; it may be damaged. Scan the paper again.")) from None
    out = io.BytesIO()
    if extension == "jpg":
        # Not "optimize": libjpeg would hold the whole image's coefficients for it (36 MB at
        # 4000 × 3000) beside the image; plain encoding streams, for a file a few % larger.
        (image if image.mode == "RGB" else image.convert("RGB")).save(out, "JPEG", quality=85)
    else:
        image.save(out, "PNG", optimize=True)
    return out.getvalue()


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


def store_scan(scan):
    """Write a cleaned scan to the private scan store under a random name; return the key."""
    key = f"{secrets.token_hex(16)}.{scan.extension}"
    scan_store().put(key, scan.data, scan.content_type)
    return key


def delete_scan_file(key):
    scan_store().delete(key)


def scan_response(key, content_type, download_name):
    """Send a stored scan (after the caller's access check), never as a page of the shop."""
    response = scan_store().response(key, mimetype=content_type, download_name=download_name)
    response.headers["Cache-Control"] = "private, no-store"
    response.headers["Content-Security-Policy"] = "default-src 'none'; img-src 'self'; frame-ancestors 'self'"
    response.headers["X-Frame-Options"] = "SAMEORIGIN"
    return response
