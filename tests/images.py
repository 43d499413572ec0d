"""Image files for upload tests, made in the test (nothing big is committed), and a way to measure
the memory an upload takes.

Crafted files are tiny on disk and declare huge sizes: the shop must refuse them from their
header. Phone photos are real JPEGs with a phone photo's detail, so their files are as large as
a phone's.
"""
import ctypes
import io
import json
import os
import subprocess
import sys
import zlib
from functools import lru_cache
from pathlib import Path

from PIL import Image

ROOT = Path(__file__).resolve().parent.parent
MB = 1024 * 1024


def _chunk(kind, data):
    return len(data).to_bytes(4, "big") + kind + data + zlib.crc32(kind + data).to_bytes(4, "big")


def _zeros_deflated(count, chunk=1 << 20):
    """``count`` zero bytes as a zlib stream, made in milliseconds: after a full flush deflate
    starts afresh, so one compressed megabyte is repeated; a run of zeros has the Adler-32
    checksum ``(count mod 65521) << 16 | 1``."""
    deflate = zlib.compressobj(9, zlib.DEFLATED, -15)
    block = deflate.compress(bytes(chunk)) + deflate.flush(zlib.Z_FULL_FLUSH)
    full, rest = divmod(count, chunk)
    raw = block * full + deflate.compress(bytes(rest)) + deflate.flush()
    return b"\x78\xda" + raw + (((count % 65521) << 16) | 1).to_bytes(4, "big")


@lru_cache(maxsize=None)
def png_of_size(width, height, colour_type=6):
    """A valid PNG of ``width`` × ``height``, all zero (RGBA by default; 2: RGB, 0: grey): a few
    hundred KB (a 60-megapixel one: 230 KB) that decode to ``width × height × 4`` bytes."""
    row = 1 + width * {0: 1, 2: 3, 6: 4}[colour_type]  # each row: filter byte, then pixels
    header = width.to_bytes(4, "big") + height.to_bytes(4, "big") + bytes([8, colour_type, 0, 0, 0])
    return (b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", header) + _chunk(b"IDAT", _zeros_deflated(row * height))
            + _chunk(b"IEND", b""))


def _small(fmt, mode="RGB", size=(16, 16), **save):
    out = io.BytesIO()
    Image.new(mode, size, "white").save(out, fmt, **save)
    return out.getvalue()


@lru_cache(maxsize=None)
def jpeg_of_size(width, height, progressive=True):
    """A 16 × 16 JPEG whose frame header (SOF) says ``width`` × ``height``: libjpeg decodes it at
    that size (what the scans lack it fills in), a progressive one holding every block in memory."""
    data = bytearray(_small("JPEG", progressive=progressive))
    sof = data.find(b"\xff\xc2" if progressive else b"\xff\xc0")
    data[sof + 5:sof + 9] = height.to_bytes(2, "big") + width.to_bytes(2, "big")
    return bytes(data)


@lru_cache(maxsize=None)
def webp_of_size(width, height):
    """An animated WebP of one 1 × 1 frame on a ``width`` × ``height`` canvas: about 100 bytes;
    libwebp sets the whole canvas aside (and Pillow copies it twice) to decode it."""
    still = _small("WEBP", size=(1, 1), lossless=True)
    frame = still[12:]  # the VP8L chunk of a 1 × 1 image
    canvas = (width - 1).to_bytes(3, "little") + (height - 1).to_bytes(3, "little")
    anmf = bytes(6) + bytes(6) + (100).to_bytes(3, "little") + b"\0" + frame  # at 0,0; 1 × 1; 100 ms
    body = (b"WEBP" + _chunk_le(b"VP8X", bytes([0x02, 0, 0, 0]) + canvas)
            + _chunk_le(b"ANIM", bytes(4) + bytes(2)) + _chunk_le(b"ANMF", anmf))
    return b"RIFF" + len(body).to_bytes(4, "little") + body


def _chunk_le(kind, data):
    return kind + len(data).to_bytes(4, "little") + data + (b"\0" if len(data) % 2 else b"")


@lru_cache(maxsize=None)
def gif_of_size(width, height):
    """A 1 × 1 GIF whose screen and image descriptors say ``width`` × ``height``."""
    data = bytearray(_small("GIF", mode="L", size=(1, 1)))
    data[6:10] = width.to_bytes(2, "little") + height.to_bytes(2, "little")
    image = data.find(b"\x2c", 13)
    data[image + 5:image + 9] = width.to_bytes(2, "little") + height.to_bytes(2, "little")
    return bytes(data)


@lru_cache(maxsize=None)
def phone_photo(width, height, quality=90, progressive=False, orientation=None):
    """A JPEG with a phone photo's detail (noise over gradients), so about as large as a phone's
    file: 4000 × 3000 at quality 90 is about 6 MB, 8000 × 6000 at 85 about 18 MB. With ``orientation``
    it carries EXIF as a phone writes it: that tag, the camera's make and a GPS position."""
    tile = Image.merge("RGB", (Image.effect_noise((500, 500), 40), Image.radial_gradient("L").resize((500, 500)),
                               Image.effect_noise((500, 500), 20)))
    image = Image.new("RGB", (width, height))
    for x in range(0, width, 500):
        for y in range(0, height, 500):
            image.paste(tile, (x, y))
    save = {"quality": quality, "progressive": progressive}
    if orientation is not None:
        exif = Image.Exif()
        exif[0x0112] = orientation
        exif[0x010F] = "SecretPhoneMaker"
        exif[0x8825] = {1: "S", 2: (8.0, 47.0, 12.0), 3: "E", 4: (120.0, 58.0, 30.0)}  # Bajawa
        save["exif"] = exif
    out = io.BytesIO()
    image.save(out, "JPEG", **save)
    return out.getvalue()


# --- memory ---------------------------------------------------------------------------------------


def _status(key):
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(key + ":"):
            return int(line.split()[1]) * 1024
    raise KeyError(key)


def peak_memory(fn):
    """``(result, bytes)``: what ``fn()`` returned and the most resident memory it added at any
    moment. Linux: freed memory is handed back first (else new allocations reuse it unseen), then
    the high-water mark is reset (``/proc/self/clear_refs``). Pillow's pixels are allocated
    outside Python, so ``tracemalloc`` would not see them."""
    ctypes.CDLL("libc.so.6").malloc_trim(0)
    Path("/proc/self/clear_refs").write_text("5")
    before = _status("VmRSS")
    result = fn()
    return result, _status("VmHWM") - before


_CHILD = """
import io, json, sys, time
from pathlib import Path
from PIL import Image
from werkzeug.datastructures import FileStorage
from storefront import create_app
from tests.images import peak_memory
app = create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": "sqlite://", "SECRET_KEY": "x" * 40})
Image.init()  # Pillow loads its format plugins once; not part of any upload's time
for line in sys.stdin:
    kind, path, name = json.loads(line)
    data = Path(path).read_bytes()
    with app.test_request_context():
        if kind == "photo":
            from storefront.products.listings import clean_photo as clean
        else:
            from storefront.legality.scans import clean_scan as clean
        started = time.perf_counter()
        def run():
            try:
                result = clean(FileStorage(io.BytesIO(data), filename=name))
                return "accepted " + str(getattr(result, "size", ""))
            except ValueError as exc:
                return str(exc)
        outcome, peak = peak_memory(run)
        print(json.dumps({"outcome": outcome, "peak": peak, "seconds": time.perf_counter() - started}), flush=True)
"""


def clean_in_fresh_process(cases, tmp_path):
    """Run ``clean_photo`` ("photo") or ``clean_scan`` ("scan") on each ``(kind, bytes, file name)``
    in a fresh Python process (as a gunicorn worker would: nothing else in its memory); return,
    for each, ``{"outcome": message or "accepted ...", "peak": bytes, "seconds": ...}``."""
    lines = []
    for number, (kind, data, name) in enumerate(cases):
        path = tmp_path / f"upload-{number}"
        path.write_bytes(data)
        lines.append(json.dumps([kind, str(path), name]))
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    child = subprocess.run([sys.executable, "-c", _CHILD], input="\n".join(lines) + "\n", cwd=ROOT, env=env,
                           capture_output=True, text=True, timeout=300)
    assert child.returncode == 0, child.stderr[-3000:]
    return [json.loads(line) for line in child.stdout.splitlines()]
