"""Uploaded images, decoded within a fixed memory budget: product photos and scans of papers.

An image file states its size in its first bytes, and Pillow reads no more than that header when
it opens a file. So ``load_image`` knows what decoding will cost before a single pixel is
decoded, and refuses what would not fit. Then it decodes as little as it can:

- a JPEG is decoded already reduced (``draft``: libjpeg scales by 1/2, 1/4 or 1/8 while it
  decodes), so a 50-megapixel phone photo of 8160 × 6120 becomes 2040 × 1530 for a product photo;
- what is still larger than needed is shrunk at once, first by whole factors (``reduce``), then
  resampled (Lanczos, one direction at a time), and each step drops the image before it, so no
  more than two images of the upload exist at any moment;
- EXIF orientation is applied to the small image, and no metadata (EXIF, GPS, ICC, XMP,
  comments, text chunks) is kept.

The limits (``DECODE_BUDGET``, ``MAX_PIXELS``) are explained where they are set; the measurements
behind them are in the README ("Uploads and memory") and come from ``bench/upload_memory.py``.
"""
import ctypes
import math
import os
import threading
from typing import NamedTuple

from PIL import Image

#: What one upload may take in memory while it is decoded and shrunk, in bytes. gunicorn runs
#: 2 × cores + 1 workers of 2 threads each (gunicorn.conf.py) and a worker decodes one image at
#: a time (``_decoding``), so on a 2-core server the five workers together need at most 5 × 128 MB
#: beside their own 85 MB each (measured: 30-45 MB of it private, the rest shared with the
#: master), even if every worker decodes at the same moment: about 1.1 GB in all, which leaves a
#: 2 GB server room for PostgreSQL. It covers every ordinary upload (measured peaks: a 12 MP
#: phone photo as a product photo 18 MB, a 50 MP one 19 MB; a 50 MP phone photo of a paper kept
#: at 4000 pixels 96 MB; a 12 MP PNG with transparency 92 MB; a 5K screenshot with transparency
#: 113 MB). The old code took 916 MB for a 230 KB PNG of 60 MP, 113 MB for a 12 MP phone photo.
DECODE_BUDGET = 128 * 1024 * 1024
#: No image with more pixels in its header is decoded at all, even where the budget would allow
#: it (a JPEG decoded at 1/8 scale): libjpeg still reads every block of the full image, so time
#: grows with this number. Phone cameras write at most 50 megapixels (8160 × 6120, or
#: 8192 × 6144); cameras that offer 108 or 200 MP write files above the 20 MB upload limit.
MAX_PIXELS = 64_000_000
#: Whole-factor reduction stops at this multiple of the final size; Lanczos resampling does the
#: rest (Pillow's default for thumbnails: as good as resampling the full image). A JPEG is decoded
#: at a scale that still covers it, unless only a smaller one fits the budget.
REDUCING_GAP = 2.0

# libjpeg keeps a whole progressive (or multi-scan) JPEG's coefficients in memory, at full size
# whatever the scale it decodes to: 3 bytes a pixel for a phone's colour JPEG. The budget counts
# that for progressive files (Pillow reads the kind from the header); JPEGMEM makes libjpeg
# refuse anything else that would need more than the budget, e.g. a baseline file crafted with one
# scan per colour (the upload is then refused as unreadable). It applies to every libjpeg
# operation in the process; the shop's own JPEGs need little (product photos are 960 pixels,
# scans are written without the optimisation pass that would hold a whole image). libjpeg reads
# it when a decoder is created, so it is set at import, before any thread starts; an operator's
# own value is kept.
os.environ.setdefault("JPEGMEM", f"{DECODE_BUDGET // (1024 * 1024)}M")

_ORIENTATION = 0x0112
_TRANSPOSE = {
    2: Image.Transpose.FLIP_LEFT_RIGHT, 3: Image.Transpose.ROTATE_180,
    4: Image.Transpose.FLIP_TOP_BOTTOM, 5: Image.Transpose.TRANSPOSE,
    6: Image.Transpose.ROTATE_270, 7: Image.Transpose.TRANSVERSE, 8: Image.Transpose.ROTATE_90,
}
#: Modes returned as they are; anything else becomes one of them.
RESULT_MODES = ("1", "L", "LA", "P", "RGB", "RGBA")
#: Besides the image, Pillow holds a WebP file's pixels three more times while it decodes
#: (libwebp's canvas and previous frame, and the bytes it hands over), 4 bytes a pixel each.
_WEBP_DECODER_BYTES = 12
#: 16-bit grey (I) to 8 bits: the high byte, or every light pixel would turn white.
_HIGH_BYTE = [value >> 8 for value in range(65536)]

_decoding = threading.Lock()


def _trimmer():
    """glibc's ``malloc_trim``, or a no-op elsewhere."""
    try:
        return ctypes.CDLL("libc.so.6").malloc_trim
    except (OSError, AttributeError):
        return lambda pad: 0


_malloc_trim = _trimmer()


def _release_freed_memory():
    """Give the memory of the pixels just freed back to the system. glibc keeps freed blocks of
    up to 32 MB in the arena of the thread that used them (one arena per thread), so without this
    each of a worker's threads would keep the memory of the largest image it decoded, and the
    worker would hold the budget once per thread instead of once."""
    _malloc_trim(0)


class ImageRefused(ValueError):
    """An upload is not an image the shop takes; the caller says why in its own words."""


class WrongFormat(ImageRefused):
    """Not an image in one of the accepted formats."""


class TooLarge(ImageRefused):
    """Decoding it would take more memory than ``DECODE_BUDGET`` (or has more than ``MAX_PIXELS``).

    ``width`` and ``height`` are the size its header declares (None when Pillow itself refused
    to open it). Nothing was decoded.
    """

    def __init__(self, width=None, height=None):
        super().__init__(f"image too large: {width} x {height}")
        self.width = width
        self.height = height


class Unreadable(ImageRefused):
    """Damaged, truncated, or refused by the decoder."""


class Plan(NamedTuple):
    """How an opened image is decoded and shrunk, and what that costs at its peak."""

    #: The size kept: no side longer than asked.
    final: tuple
    #: For a JPEG decoded at a reduced scale: the size that scale must still cover.
    draft: tuple | None
    #: The size the decoder delivers.
    decoded: tuple
    #: What is done to the decoded pixels, in order: ``(operation, mode, size, factor)``, the mode
    #: and size after each step (``factor``: of a reduction).
    steps: tuple
    #: Bytes of memory at the peak.
    cost: int


def _bytes_per_pixel(mode):
    """What Pillow keeps in memory for one pixel of ``mode``."""
    if mode in ("1", "L", "P"):
        return 1
    return 2 if mode.startswith("I;16") else 4


def _image_bytes(mode, size):
    return size[0] * size[1] * _bytes_per_pixel(mode)


def fitted_size(size, longest):
    """``size`` scaled down (never up) so that neither side exceeds ``longest``."""
    width, height = size
    if max(width, height) <= longest:
        return size
    scale = longest / max(width, height)
    return max(1, round(width * scale)), max(1, round(height * scale))


def _jpeg_decoded_size(size, target):
    """The size ``draft(None, target)`` decodes a JPEG of ``size`` at: 1/1, 1/2, 1/4 or 1/8 scale,
    the smallest that still covers ``target`` (Pillow's rule)."""
    fits = min(size[0] // max(target[0], 1), size[1] // max(target[1], 1))
    scale = next((n for n in (8, 4, 2) if fits >= n), 1)
    return math.ceil(size[0] / scale), math.ceil(size[1] / scale)


def _decoder_bytes(image, size, decoded):
    """What the decoder holds besides the decoded image, while it decodes."""
    if image.format == "WEBP":
        return decoded[0] * decoded[1] * _WEBP_DECODER_BYTES
    if image.format in ("JPEG", "MPO") and image.info.get("progressive"):
        # Every 8 × 8 block of every colour component, as 16-bit numbers, at full size.
        layers = getattr(image, "layer", None) or [(None, 1, 1, None)] * len(image.getbands())
        h_max = max(h for _, h, _, _ in layers)
        v_max = max(v for _, _, v, _ in layers)
        blocks = sum(math.ceil(size[0] * h / h_max / 8) * math.ceil(size[1] * v / v_max / 8)
                     for _, h, v, _ in layers)
        return blocks * 64 * 2
    return 0


def _steps(mode, transparent, decoded, final):
    """The steps from the decoded pixels (``mode``, ``decoded`` size) to the result.

    Pillow resamples neither bilevel nor palette images (it would drop pixels) nor 16-bit ones,
    and images with transparency only premultiplied; so those are converted first.
    """
    steps = []
    size = decoded
    if decoded != final:
        conversions = {"1": ["L"], "P": ["RGBA", "RGBa"] if transparent else ["RGB"],
                       "PA": ["RGBA", "RGBa"], "LA": ["La"], "RGBA": ["RGBa"]}
        if mode.startswith("I"):
            conversions[mode] = ["L"] if mode == "I" else ["I", "L"]
        for working in conversions.get(mode, []):
            mode = working
            steps.append(("convert", mode, size, None))
        factor = (int(size[0] / final[0] / REDUCING_GAP) or 1, int(size[1] / final[1] / REDUCING_GAP) or 1)
        if factor != (1, 1):
            size = (math.ceil(size[0] / factor[0]), math.ceil(size[1] / factor[1]))
            steps.append(("reduce", mode, size, factor))
        if size[0] != final[0]:
            size = (final[0], size[1])
            steps.append(("resize", mode, size, None))
        if size[1] != final[1]:
            size = final
            steps.append(("resize", mode, size, None))
    if mode not in RESULT_MODES or (mode == "P" and transparent):
        if mode.startswith("I;16"):
            steps.append(("convert", "I", size, None))
            mode = "I"
        result = ("L" if mode == "I" else "LA" if mode == "La"
                  else "RGBA" if mode in ("RGBa", "PA", "P") else "RGB")
        steps.append(("convert", result, size, None))
    if not steps:
        steps.append(("copy", mode, size, None))  # a plain image, no longer tied to the file
    return tuple(steps)


def _priced(image, final, draft, decoded):
    """The ``Plan`` for ``image`` decoded at ``decoded`` size and shrunk to ``final``: while it
    decodes, the image and what the decoder holds; then, at each step, the image before it and
    the one it makes."""
    steps = _steps(image.mode, "transparency" in image.info, decoded, final)
    before = _image_bytes(image.mode, decoded)
    cost = before + _decoder_bytes(image, image.size, decoded)
    for _, mode, size, _ in steps:
        after = _image_bytes(mode, size)
        cost = max(cost, before + after)
        before = after
    return Plan(final, draft, decoded, steps, cost)


def plan_decoding(image, longest, budget=DECODE_BUDGET):
    """The ``Plan`` for an image Pillow has opened (nothing decoded yet), kept at no more than
    ``longest`` pixels a side. Its cost is within a few MB of what ``bench/upload_memory.py``
    measures."""
    size = image.size
    final = fitted_size(size, longest)
    if image.format not in ("JPEG", "MPO") or final == size:
        return _priced(image, final, None, size)
    for gap in (REDUCING_GAP, 1):
        target = (math.ceil(final[0] * gap), math.ceil(final[1] * gap))
        plan = _priced(image, final, target, _jpeg_decoded_size(size, target))
        if plan.cost <= budget:
            break
    return plan


def _format_of(head):
    """The format a file's first bytes say it is in, as Pillow names it, or None."""
    if head.startswith(b"\xff\xd8\xff"):
        return "JPEG"
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "PNG"
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "WEBP"
    return None


def _declared_size(head):
    """``(format, size)`` the first 30 bytes of a PNG or WebP file declare, else None (a JPEG's
    size comes later in the file: Pillow reads it).

    Pillow creates libwebp's decoder, which sets the whole canvas aside, as it opens a WebP file;
    so WebP files are measured before they are opened at all. PNG files are measured the same way
    so that Pillow does not even warn about a crafted one.
    """
    if len(head) < 30:
        return None
    if head[:8] == b"\x89PNG\r\n\x1a\n" and head[12:16] == b"IHDR":
        return "PNG", (int.from_bytes(head[16:20], "big"), int.from_bytes(head[20:24], "big"))
    if head[:4] != b"RIFF" or head[8:12] != b"WEBP":
        return None
    kind = head[12:16]
    if kind == b"VP8X":
        return "WEBP", (1 + int.from_bytes(head[24:27], "little"), 1 + int.from_bytes(head[27:30], "little"))
    if kind == b"VP8L" and head[20] == 0x2F:
        bits = int.from_bytes(head[21:25], "little")
        return "WEBP", ((bits & 0x3FFF) + 1, ((bits >> 14) & 0x3FFF) + 1)
    if kind == b"VP8 " and head[23:26] == b"\x9d\x01\x2a":
        return "WEBP", (int.from_bytes(head[26:28], "little") & 0x3FFF,
                        int.from_bytes(head[28:30], "little") & 0x3FFF)
    return None


def _apply(image, operation, mode, size, factor):
    """One step of a plan: a new image (the caller drops the old one)."""
    if operation == "convert":
        if image.mode == "I" and mode == "L":
            return image.point(_HIGH_BYTE, "L")
        return image.convert(mode)
    if operation == "reduce":
        return image.reduce(factor)
    if operation == "resize":
        return image.resize(size, Image.Resampling.LANCZOS)
    return image.copy()


def upload_size(fp):
    """The size in bytes of an uploaded file, rewound to its start. Werkzeug keeps uploads in
    seekable files (in memory up to 500 KB, else on disk), so nothing is read to know it."""
    fp.seek(0, os.SEEK_END)
    size = fp.tell()
    fp.seek(0)
    return size


def load_image(fp, *, formats, longest, budget=DECODE_BUDGET):
    """Decode the image in the (seekable) binary file ``fp``, from its start, to no more than
    ``longest`` pixels on its longest side; return it as a new PIL image in one of
    ``RESULT_MODES``, upright, without metadata. At most ``budget`` bytes of memory are used.

    ``formats`` are Pillow's names of the formats accepted ("JPEG", "PNG", "WEBP"); phones'
    multi-picture JPEGs ("MPO") count as JPEG. Raises ``WrongFormat``, ``TooLarge`` (nothing has
    been decoded then) or ``Unreadable``.
    """
    accepted = set(formats) | ({"MPO"} if "JPEG" in formats else set())
    fp.seek(0)
    head = fp.read(30)
    fp.seek(0)
    if _format_of(head) not in accepted:
        raise WrongFormat("not an accepted image format")
    kind, (width, height) = _declared_size(head) or (None, (0, 0))
    if width * height > MAX_PIXELS or (kind == "WEBP" and width * height * (4 + _WEBP_DECODER_BYTES) > budget):
        raise TooLarge(width, height)
    try:
        image = Image.open(fp, formats=list(formats))
    except Image.DecompressionBombError:
        raise TooLarge() from None  # Pillow's own limit (179 MP), checked as it opens the file
    except Exception as exc:  # Pillow raises many kinds of errors for broken headers
        raise Unreadable(str(exc)) from None
    if image.format not in accepted:
        raise WrongFormat(f"{image.format} is not accepted")
    size = image.size
    if size[0] * size[1] > MAX_PIXELS:
        raise TooLarge(*size)
    plan = plan_decoding(image, longest, budget)
    if plan.draft:
        image.draft(None, plan.draft)  # libjpeg will decode at 1/2, 1/4 or 1/8 scale
        if image.size != plan.decoded:  # the decoder cannot scale this file: it decodes it whole
            plan = _priced(image, plan.final, None, image.size)
    if plan.cost > budget:
        raise TooLarge(*size)
    try:
        with _decoding:
            image.load()
            orientation = image.getexif().get(_ORIENTATION, 1)
            for step in plan.steps:
                image = _apply(image, *step)  # the image before it is freed here
            _release_freed_memory()
    except MemoryError:
        raise TooLarge(*size) from None
    except Exception as exc:  # Pillow raises many kinds of errors for broken files
        raise Unreadable(str(exc)) from None
    if orientation in _TRANSPOSE:
        image = image.transpose(_TRANSPOSE[orientation])
    image.info.clear()  # EXIF, GPS, ICC, XMP, comments, text chunks: nothing goes back out
    return image
