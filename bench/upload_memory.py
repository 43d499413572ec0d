"""Memory and time of decoding uploads: ``.venv/bin/python bench/upload_memory.py``.

For each kind of file a village may send (phone photos, screenshots, scans, and files crafted to
be small on disk and huge in memory) it prints what ``storefront.images.plan_decoding`` predicts,
the peak resident memory ``load_image`` really took (``tests.images.peak_memory``), the time and
the result. Each file is decoded in a fresh process, so that memory freed by an earlier one is
not reused unseen. The README's "Uploads and memory" quotes a run. Linux only; a minute or two,
and about 1 GB of memory to make the largest photos.
"""
import io
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from PIL import Image  # noqa: E402

from storefront.images import ImageRefused, load_image, plan_decoding  # noqa: E402
from tests.images import jpeg_of_size, peak_memory, phone_photo, png_of_size, webp_of_size  # noqa: E402

PHOTO_SIDE = 960  # storefront.media.SIZES["l"]
SCAN_SIDE = 4000  # storefront.legality.scans.MAX_SIDE


def peak(fn):
    """(result or the refusal, extra peak resident bytes, seconds) of ``fn()``."""
    def attempt():
        try:
            return fn()
        except ImageRefused as exc:
            return exc

    started = time.perf_counter()
    result, extra = peak_memory(attempt)
    return result, extra, time.perf_counter() - started


def plain(fmt, mode, size, **save):
    out = io.BytesIO()
    Image.new(mode, size, "white" if mode in ("RGB", "RGBA", "L", "LA") else 1).save(out, fmt, **save)
    return out.getvalue()


CASES = [
    # (what, bytes, formats, longest side kept)
    ("photo: phone JPEG 12 MP (4000 x 3000)", lambda: phone_photo(4000, 3000), ("JPEG", "PNG", "WEBP"), PHOTO_SIDE),
    ("photo: phone JPEG 50 MP (8160 x 6120)", lambda: phone_photo(8160, 6120), ("JPEG", "PNG", "WEBP"), PHOTO_SIDE),
    ("photo: progressive JPEG 12 MP", lambda: phone_photo(4000, 3000, progressive=True), ("JPEG", "PNG", "WEBP"), PHOTO_SIDE),
    ("photo: progressive JPEG 50 MP", lambda: phone_photo(8160, 6120, progressive=True), ("JPEG", "PNG", "WEBP"), PHOTO_SIDE),
    ("photo: PNG screenshot 1290 x 2796 RGBA", lambda: plain("PNG", "RGBA", (1290, 2796)), ("JPEG", "PNG", "WEBP"), PHOTO_SIDE),
    ("photo: PNG 5K screenshot 5120 x 2880 RGB", lambda: plain("PNG", "RGB", (5120, 2880)), ("JPEG", "PNG", "WEBP"), PHOTO_SIDE),
    ("photo: PNG 5K screenshot 5120 x 2880 RGBA", lambda: plain("PNG", "RGBA", (5120, 2880)), ("JPEG", "PNG", "WEBP"), PHOTO_SIDE),
    ("photo: PNG 12 MP RGB", lambda: plain("PNG", "RGB", (4000, 3000)), ("JPEG", "PNG", "WEBP"), PHOTO_SIDE),
    ("photo: PNG 12 MP RGBA", lambda: plain("PNG", "RGBA", (4000, 3000)), ("JPEG", "PNG", "WEBP"), PHOTO_SIDE),
    ("photo: PNG 20 MP RGB", lambda: plain("PNG", "RGB", (5000, 4000)), ("JPEG", "PNG", "WEBP"), PHOTO_SIDE),
    ("photo: WebP 12 MP RGB", lambda: plain("WEBP", "RGB", (4000, 3000), lossless=True), ("JPEG", "PNG", "WEBP"), PHOTO_SIDE),
    ("photo: WebP 4 MP RGBA", lambda: plain("WEBP", "RGBA", (2000, 2000), lossless=True), ("JPEG", "PNG", "WEBP"), PHOTO_SIDE),
    ("crafted: PNG 60 MP RGBA (10000 x 6000)", lambda: png_of_size(10000, 6000), ("JPEG", "PNG", "WEBP"), PHOTO_SIDE),
    ("crafted: PNG 20 MP RGBA", lambda: png_of_size(5000, 4000), ("JPEG", "PNG", "WEBP"), PHOTO_SIDE),
    ("crafted: progressive JPEG header 7600 x 7600", lambda: jpeg_of_size(7600, 7600), ("JPEG", "PNG", "WEBP"), PHOTO_SIDE),
    ("crafted: WebP canvas 7000 x 7000", lambda: webp_of_size(7000, 7000), ("JPEG", "PNG", "WEBP"), PHOTO_SIDE),
    ("crafted: WebP canvas 16383 x 16383", lambda: webp_of_size(16383, 16383), ("JPEG", "PNG", "WEBP"), PHOTO_SIDE),
    ("scan: phone JPEG 12 MP", lambda: phone_photo(4000, 3000), ("JPEG", "PNG"), SCAN_SIDE),
    ("scan: phone JPEG 50 MP", lambda: phone_photo(8160, 6120), ("JPEG", "PNG"), SCAN_SIDE),
    ("scan: PNG A4 300 dpi RGB (2480 x 3508)", lambda: plain("PNG", "RGB", (2480, 3508)), ("JPEG", "PNG"), SCAN_SIDE),
    ("scan: PNG A4 600 dpi grey (4961 x 7016)", lambda: plain("PNG", "L", (4961, 7016)), ("JPEG", "PNG"), SCAN_SIDE),
    ("scan: PNG A4 600 dpi black and white", lambda: plain("PNG", "1", (4961, 7016)), ("JPEG", "PNG"), SCAN_SIDE),
    ("scan: PNG A4 600 dpi RGB", lambda: plain("PNG", "RGB", (4961, 7016)), ("JPEG", "PNG"), SCAN_SIDE),
]


def predicted(data, formats, longest):
    """(header size, decoded size, predicted bytes), or None where Pillow itself refuses to open it."""
    try:
        with Image.open(io.BytesIO(data), formats=list(formats)) as image:
            plan = plan_decoding(image, longest)
            return image.size, plan.decoded, plan.cost
    except Image.DecompressionBombError:
        return None


def measure(path, formats, longest):
    """In a fresh process: decode the file at ``path``; print the peak as JSON."""
    data = Path(path).read_bytes()
    result, extra, seconds = peak(lambda: load_image(io.BytesIO(data), formats=formats, longest=longest))
    outcome = f"{result.size[0]} x {result.size[1]}" if isinstance(result, Image.Image) else type(result).__name__
    print(json.dumps({"peak": extra, "seconds": seconds, "outcome": outcome}))


def main():
    mb = 1024 * 1024
    print("| file | on disk | header | decoded at | predicted | measured peak | time | result |")
    print("|---|---|---|---|---|---|---|---|")
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "upload"
        for what, make, formats, longest in CASES:
            limit = os.environ["JPEGMEM"]
            os.environ["JPEGMEM"] = "4096M"  # making a 50 MP progressive JPEG takes more than the shop allows
            data = make()
            os.environ["JPEGMEM"] = limit
            path.write_bytes(data)
            plan = predicted(data, formats, longest)
            # A fresh process each: memory freed by an earlier file would be reused unseen.
            child = subprocess.run([sys.executable, __file__, str(path), ",".join(formats), str(longest)],
                                   check=True, capture_output=True, text=True)
            got = json.loads(child.stdout)
            header, decoded, cost = (f"{plan[0][0]} x {plan[0][1]}", f"{plan[1][0]} x {plan[1][1]}",
                                     f"{plan[2] / mb:.0f} MB") if plan else ("(Pillow refuses)", "", "")
            print(f"| {what} | {len(data) / mb:.1f} MB | {header} | {decoded} | {cost} "
                  f"| {got['peak'] / mb:.0f} MB | {got['seconds']:.2f} s | {got['outcome']} |", flush=True)


if __name__ == "__main__":
    if len(sys.argv) == 4:
        measure(sys.argv[1], tuple(sys.argv[2].split(",")), int(sys.argv[3]))
    else:
        main()
