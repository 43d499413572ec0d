"""``clean_scan`` and the bounded image loader on their own: what they accept, what they refuse
(and say), what they strip, and the memory a crafted file may take (none of its pixels).

No database: an app context is enough (messages come out in Indonesian, the default language).
"""
import io
from concurrent.futures import ThreadPoolExecutor

import pytest
from PIL import Image, PngImagePlugin
from pypdf import PdfReader, PdfWriter
from pypdf.generic import DictionaryObject, NameObject, TextStringObject
from werkzeug.datastructures import FileStorage

from storefront import create_app
from storefront.images import RESULT_MODES, load_image
from storefront.legality.scans import MAX_PDF_BYTES, MAX_SCAN_BYTES, CleanScan, ScanError, clean_scan

from .images import (MB, clean_in_fresh_process, gif_of_size, jpeg_of_size, peak_memory, png_of_size,
                     webp_of_size)


@pytest.fixture(scope="module")
def ctx():
    app = create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": "sqlite://"})
    with app.app_context():
        yield app


def clean(data, name):
    return clean_scan(FileStorage(io.BytesIO(data), filename=name))


def refused(data, name):
    with pytest.raises(ScanError) as raised:
        clean(data, name)
    return str(raised.value)


def image_bytes(fmt, mode="RGB", size=(60, 40), color=0, **save):
    out = io.BytesIO()
    Image.new(mode, size, color).save(out, fmt, **save)
    return out.getvalue()


def pdf_writer(pages=1):
    writer = PdfWriter()
    for _ in range(pages):
        writer.add_blank_page(width=595, height=842)
    return writer


def pdf_bytes(writer):
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def opened(data):
    return Image.open(io.BytesIO(data))


# --- accepted -----------------------------------------------------------------------------


@pytest.mark.parametrize("data, name, content_type, extension", [
    (lambda: image_bytes("PNG"), "scan.png", "image/png", "png"),
    (lambda: image_bytes("PNG"), "SCAN.PNG", "image/png", "png"),
    (lambda: image_bytes("JPEG"), "foto.jpg", "image/jpeg", "jpg"),
    (lambda: image_bytes("JPEG"), "foto.jpeg", "image/jpeg", "jpg"),
    (lambda: image_bytes("JPEG"), "foto.JPG", "image/jpeg", "jpg"),
    (lambda: image_bytes("JPEG", progressive=True), "foto.jpg", "image/jpeg", "jpg"),
    (lambda: image_bytes("JPEG", mode="L"), "abu.jpg", "image/jpeg", "jpg"),
    (lambda: image_bytes("JPEG", mode="CMYK"), "cmyk.jpg", "image/jpeg", "jpg"),
    (lambda: image_bytes("PNG", mode="1"), "hitam-putih.png", "image/png", "png"),
    (lambda: image_bytes("PNG", mode="P"), "palet.png", "image/png", "png"),
    (lambda: image_bytes("PNG", mode="RGBA"), "alpha.png", "image/png", "png"),
    (lambda: pdf_bytes(pdf_writer()), "sertifikat.pdf", "application/pdf", "pdf"),
    (lambda: pdf_bytes(pdf_writer()), "sertifikat.final.PDF", "application/pdf", "pdf"),
])
def test_good_scans_are_accepted(ctx, data, name, content_type, extension):
    scan = clean(data(), name)
    assert isinstance(scan, CleanScan)
    assert (scan.content_type, scan.extension, scan.original_name) == (content_type, extension, name)
    if extension == "pdf":
        assert len(PdfReader(io.BytesIO(scan.data)).pages) == 1
    else:
        assert opened(scan.data).format == ("JPEG" if extension == "jpg" else "PNG")


def test_a_long_file_name_is_cut_for_display(ctx):
    scan = clean(image_bytes("PNG"), "a" * 300 + ".png")
    assert len(scan.original_name) == 200


def test_size_limits_are_20_mb_for_images_and_5_mb_for_pdfs(ctx):
    assert MAX_SCAN_BYTES == 20 * MB and MAX_PDF_BYTES == 5 * MB
    pdf_at_limit = b"%PDF-1.4\n" + b"\n" * (MAX_PDF_BYTES - len(b"%PDF-1.4\n"))
    # At the limit the size is fine; the (useless) content is what is refused.
    assert refused(pdf_at_limit, "a.pdf") == "PDF tidak dapat dibaca; mungkin rusak. Simpan atau pindai ulang."
    assert refused(pdf_at_limit + b"\n", "a.pdf").startswith("PDF lebih dari 5 MB.")
    png = image_bytes("PNG")
    image_at_limit = png + b"\0" * (MAX_SCAN_BYTES - len(png))  # bytes after the image are dropped
    assert opened(clean(image_at_limit, "a.png").data).size == (60, 40)
    assert refused(image_at_limit + b"\0", "a.png").startswith("Berkas lebih dari 20 MB.")


def test_what_fits_the_memory_budget_is_taken_and_reduced(ctx):
    # An A4 page scanned at 600 dpi in grey: 35 megapixels, 1 byte each.
    assert opened(clean(png_of_size(4961, 7016, 0), "a.png").data).size == (2828, 4000)
    # The same page in colour would take 4 bytes a pixel, and more than the budget on the way down.
    assert refused(png_of_size(4961, 7016, 2), "a.png") == (
        "Gambar terlalu besar (4961 × 7016 piksel). Pindai dengan 300 dpi atau kurang.")


def test_big_images_are_scaled_down_to_4000_pixels(ctx):
    scan = clean(image_bytes("PNG", size=(6000, 1000)), "lebar.png")
    assert opened(scan.data).size == (4000, 667)


def test_exif_orientation_is_applied_then_dropped(ctx):
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90° clockwise to display
    scan = clean(image_bytes("JPEG", size=(40, 20), exif=exif), "hp.jpg")
    with opened(scan.data) as image:
        assert image.size == (20, 40)
        assert 0x0112 not in image.getexif()


def test_pdf_with_20_pages_is_accepted_21_refused(ctx):
    assert len(PdfReader(io.BytesIO(clean(pdf_bytes(pdf_writer(20)), "a.pdf").data)).pages) == 20
    assert refused(pdf_bytes(pdf_writer(21)), "a.pdf") == (
        "PDF lebih dari 20 halaman. Unggah dokumennya saja.")


# --- refused ------------------------------------------------------------------------------


@pytest.mark.parametrize("data, name, message", [
    (lambda: b"", "a.pdf", "Berkas kosong. Pilih pindaian dokumen (PDF, JPEG, atau PNG)."),
    (lambda: b"hello", "a.txt", "Hanya berkas PDF, JPEG, atau PNG yang dapat diunggah."),
    (lambda: b"<html><script>alert(1)</script></html>", "a.pdf",
     "Hanya berkas PDF, JPEG, atau PNG yang dapat diunggah."),
    (lambda: b"  %PDF-1.4", "a.pdf", "Hanya berkas PDF, JPEG, atau PNG yang dapat diunggah."),
    (lambda: image_bytes("GIF"), "a.gif", "Hanya berkas PDF, JPEG, atau PNG yang dapat diunggah."),
    (lambda: image_bytes("WEBP"), "a.webp", "Hanya berkas PDF, JPEG, atau PNG yang dapat diunggah."),
    (lambda: pdf_bytes(pdf_writer()), "a.png", "Nama berkas menyebut PNG, tetapi isinya PDF. Unggah berkas aslinya."),
    (lambda: image_bytes("PNG"), "a.pdf", "Nama berkas menyebut PDF, tetapi isinya PNG. Unggah berkas aslinya."),
    (lambda: image_bytes("PNG"), "a.jpg", "Nama berkas menyebut JPG, tetapi isinya PNG. Unggah berkas aslinya."),
    (lambda: image_bytes("JPEG"), "a.png", "Nama berkas menyebut PNG, tetapi isinya JPEG. Unggah berkas aslinya."),
    (lambda: image_bytes("PNG"), "scan", "Nama berkas menyebut ?, tetapi isinya PNG. Unggah berkas aslinya."),
    (lambda: image_bytes("PNG"), "scan.png.exe", "Nama berkas menyebut EXE, tetapi isinya PNG. Unggah berkas aslinya."),
    (lambda: image_bytes("PNG")[:30], "a.png", "Gambar tidak dapat dibaca; mungkin rusak. Pindai ulang dokumennya."),
    (lambda: b"\xff\xd8\xff\xe0" + b"\0" * 100, "a.jpg",
     "Gambar tidak dapat dibaca; mungkin rusak. Pindai ulang dokumennya."),
    (lambda: png_of_size(20000, 20000, 0), "bom.png",
     "Gambar terlalu besar (20000 × 20000 piksel). Pindai dengan 300 dpi atau kurang."),
    (lambda: png_of_size(7000, 7000, 2), "besar.png",
     "Gambar terlalu besar (7000 × 7000 piksel). Pindai dengan 300 dpi atau kurang."),
    (lambda: jpeg_of_size(20000, 10000, progressive=False), "bom.jpg",
     "Gambar terlalu besar untuk dibuka dengan aman. Pindai dengan 300 dpi atau kurang."),
    (lambda: b"%PDF-1.4 garbage", "a.pdf", "PDF tidak dapat dibaca; mungkin rusak. Simpan atau pindai ulang."),
    (lambda: pdf_bytes(pdf_writer(0)), "a.pdf", "PDF tidak memiliki halaman."),
])
def test_bad_scans_are_refused_with_a_clear_message(ctx, data, name, message):
    assert refused(data(), name) == message


@pytest.mark.parametrize("user_password", ["rahasia", ""])
def test_encrypted_pdf_is_refused(ctx, user_password):
    writer = pdf_writer()
    writer.encrypt(user_password=user_password, owner_password="pemilik", algorithm="RC4-128")
    assert refused(pdf_bytes(writer), "a.pdf") == "PDF dilindungi kata sandi. Unggah tanpa kata sandi."


def test_messages_follow_the_language(ctx):
    # Its own app, so that a fresh app context (and flask-babel's per-context locale) is used.
    english = create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": "sqlite://"})
    with english.test_request_context("/", headers={"Cookie": "lang=en"}):
        assert refused(b"hello", "a.txt") == "Only PDF, JPEG or PNG files can be uploaded."


# --- cleaned --------------------------------------------------------------------------------


def test_jpeg_exif_is_removed(ctx):
    exif = Image.Exif()
    exif[0x010F] = "SecretCam"
    exif[0x0110] = "SecretModel"
    exif[0x8825] = {1: "S", 2: (8.0, 47.0, 12.0)}
    data = image_bytes("JPEG", exif=exif)
    assert b"SecretCam" in data
    scan = clean(data, "foto.jpg")
    assert b"SecretCam" not in scan.data and b"SecretModel" not in scan.data
    assert dict(opened(scan.data).getexif()) == {}


def test_png_text_and_exif_chunks_are_removed(ctx):
    info = PngImagePlugin.PngInfo()
    info.add_text("Author", "SecretAuthor")
    info.add_itxt("Comment", "SecretComment")
    exif = Image.Exif()
    exif[0x010F] = "SecretCam"
    data = image_bytes("PNG", pnginfo=info, exif=exif)
    assert b"SecretAuthor" in data and b"SecretCam" in data
    scan = clean(data, "scan.png")
    assert b"SecretAuthor" not in scan.data and b"SecretComment" not in scan.data
    assert b"SecretCam" not in scan.data


def test_bytes_after_the_image_are_dropped(ctx):
    data = image_bytes("PNG") + b"<html><script>alert(document.cookie)</script></html>"
    assert b"script" not in clean(data, "scan.png").data


def test_pdf_document_scripts_attachments_and_metadata_are_dropped(ctx):
    writer = pdf_writer()
    writer.add_metadata({"/Author": "SecretAuthor", "/Title": "SecretTitle"})
    writer._root_object[NameObject("/OpenAction")] = DictionaryObject({
        NameObject("/S"): NameObject("/JavaScript"),
        NameObject("/JS"): TextStringObject("app.alert('DocumentScript');")})
    writer.add_attachment("rahasia.txt", b"SecretAttachment")
    data = pdf_bytes(writer)
    assert all(s in data for s in (b"SecretAuthor", b"DocumentScript", b"SecretAttachment"))
    cleaned = clean(data, "a.pdf").data
    for secret in (b"SecretAuthor", b"SecretTitle", b"DocumentScript", b"SecretAttachment"):
        assert secret not in cleaned
    reader = PdfReader(io.BytesIO(cleaned))
    assert "/OpenAction" not in reader.trailer["/Root"] and "/Names" not in reader.trailer["/Root"]


def test_pdf_page_scripts_are_dropped(ctx):
    writer = pdf_writer()
    writer.pages[0][NameObject("/AA")] = DictionaryObject({NameObject("/O"): DictionaryObject({
        NameObject("/S"): NameObject("/JavaScript"),
        NameObject("/JS"): TextStringObject("app.alert('PageScript');")})})
    data = pdf_bytes(writer)
    assert b"PageScript" in data
    cleaned = clean(data, "a.pdf").data
    assert b"PageScript" not in cleaned and b"/JavaScript" not in cleaned


def test_jpeg_comment_is_removed(ctx):
    data = image_bytes("JPEG", comment=b"SecretComment: scanned by Ina at Bajawa")
    assert b"SecretComment" in data
    assert b"SecretComment" not in clean(data, "foto.jpg").data


def test_multi_picture_jpeg_from_a_phone_is_accepted(ctx):
    out = io.BytesIO()
    Image.new("RGB", (80, 60), "red").save(out, "MPO", save_all=True,
                                            append_images=[Image.new("RGB", (40, 30), "blue")])
    data = out.getvalue()
    assert data.startswith(b"\xff\xd8\xff")
    scan = clean(data, "foto-hp.jpg")
    assert scan.content_type == "image/jpeg" and opened(scan.data).size == (80, 60)


def test_16_bit_greyscale_png_keeps_its_content(ctx):
    out = io.BytesIO()
    Image.new("I;16", (50, 40), 30000).save(out, "PNG")  # mid grey
    with opened(clean(out.getvalue(), "scan16.png").data) as image:
        grey = image.convert("L").getpixel((0, 0))
    assert 100 <= grey <= 135


# --- memory: crafted files are refused from their header -----------------------------------


CRAFTED = [
    # (clean_photo or clean_scan, file, name, message): each a few hundred bytes or KB on disk.
    ("photo", lambda: png_of_size(10000, 6000), "layar.png",  # 230 KB; the old code took 916 MB
     "Foto terlalu besar untuk diolah (10000 × 6000 piksel)."),
    ("photo", lambda: jpeg_of_size(7600, 7600), "foto.jpg",  # progressive: 221 MB
     "Foto terlalu besar untuk diolah (7600 × 7600 piksel)."),
    ("photo", lambda: webp_of_size(7000, 7000), "foto.webp",  # 94 bytes: 783 MB
     "Foto terlalu besar untuk diolah (7000 × 7000 piksel)."),
    ("photo", lambda: gif_of_size(30000, 30000), "anim.gif",
     "Hanya foto JPEG, PNG, atau WebP yang dapat diunggah."),
    ("scan", lambda: png_of_size(4961, 7016, 2), "pindaian.png",  # 386 MB
     "Gambar terlalu besar (4961 × 7016 piksel). Pindai dengan 300 dpi atau kurang."),
    ("scan", lambda: jpeg_of_size(7000, 5000), "foto.jpg",  # progressive: 388 MB
     "Gambar terlalu besar (7000 × 5000 piksel). Pindai dengan 300 dpi atau kurang."),
    ("scan", lambda: gif_of_size(30000, 30000), "pindaian.gif",
     "Hanya berkas PDF, JPEG, atau PNG yang dapat diunggah."),
]


def test_crafted_images_are_refused_quickly_without_decoding_their_pixels(tmp_path):
    """Small files that declare huge images, through the real ``clean_photo`` and ``clean_scan``
    in a fresh process (as in a gunicorn worker): refused with a clear message in well under a
    second, and with no more memory than a few MB (Pillow's pixels live outside Python, so the
    process's resident memory is measured, not ``tracemalloc``)."""
    results = clean_in_fresh_process([(kind, make(), name) for kind, make, name, _ in CRAFTED], tmp_path)
    wrong = [f"{kind} {name}: {result['outcome']!r}, {result['peak'] / MB:.0f} MB, {result['seconds']:.2f} s"
             for (kind, _, name, message), result in zip(CRAFTED, results)
             if not result["outcome"].startswith(message) or result["peak"] >= 16 * MB or result["seconds"] >= 1]
    assert not wrong, "\n".join(wrong)


# --- the loader: every mode comes out reduced, upright and plain ------------------------------


def _encoded(fmt, mode, size, **save):
    """An image whose left half is painted (light or dark, whatever the mode makes of it)."""
    image = Image.new(mode, size)
    if mode == "P":
        image.putpalette([v for grey in range(256) for v in (grey, grey, grey)])
    paint = {"1": 1, "L": 200, "P": 200, "I;16": 50000}.get(mode, (200,) * len(mode))
    image.paste(Image.new(mode, (size[0] // 2, size[1]), paint), (0, 0))
    out = io.BytesIO()
    image.save(out, fmt, **save)
    return out


@pytest.mark.parametrize("fmt, mode, save, result_mode", [
    ("PNG", "1", {}, "L"),
    ("PNG", "L", {}, "L"),
    ("PNG", "LA", {}, "LA"),
    ("PNG", "P", {}, "RGB"),
    ("PNG", "P", {"transparency": 0}, "RGBA"),
    ("PNG", "RGB", {}, "RGB"),
    ("PNG", "RGBA", {}, "RGBA"),
    ("PNG", "I;16", {}, "L"),
    ("JPEG", "L", {}, "L"),
    ("JPEG", "RGB", {}, "RGB"),
    ("JPEG", "RGB", {"progressive": True}, "RGB"),
    ("JPEG", "CMYK", {}, "RGB"),
    ("WEBP", "RGB", {"lossless": True}, "RGB"),
    ("WEBP", "RGBA", {"lossless": True}, "RGBA"),
])
def test_every_kind_of_image_is_reduced_to_the_size_kept(fmt, mode, save, result_mode):
    image = load_image(_encoded(fmt, mode, (1600, 800), **save), formats=("JPEG", "PNG", "WEBP"), longest=400)
    assert image.size == (400, 200) and image.mode == result_mode in RESULT_MODES
    assert image.info == {}
    left, right = image.convert("L").getpixel((50, 100)), image.convert("L").getpixel((350, 100))
    assert abs(left - right) > 100  # the painted half stays on the left, and 16-bit grey is not all white


def test_small_images_keep_their_mode_and_size():
    image = load_image(_encoded("PNG", "1", (300, 200)), formats=("PNG",), longest=400)
    assert (image.mode, image.size) == ("1", (300, 200))


@pytest.mark.parametrize("orientation, size", [(1, (400, 200)), (3, (400, 200)), (6, (200, 400)), (8, (200, 400))])
def test_exif_orientation_is_applied_to_the_reduced_image(orientation, size):
    exif = Image.Exif()
    exif[0x0112] = orientation
    image = load_image(_encoded("JPEG", "RGB", (1600, 800), exif=exif), formats=("JPEG",), longest=400)
    assert image.size == size and image.info == {} and dict(image.getexif()) == {}
    painted = {1: (50, 100), 3: (350, 100), 6: (100, 50), 8: (100, 350)}[orientation]
    assert image.convert("L").getpixel(painted) > 100


def test_a_worker_decodes_one_image_at_a_time():
    """gunicorn gives each worker two threads; the budget holds for the worker, not per thread,
    because a worker decodes one image at a time. Two uploads at once peak like one."""
    data = png_of_size(4000, 3000, 2)  # 12 MP: 57 MB at its peak

    def decode():
        return load_image(io.BytesIO(data), formats=("PNG",), longest=960)

    def two_at_once():
        with ThreadPoolExecutor(2) as pool:
            return [future.result() for future in [pool.submit(decode), pool.submit(decode)]]

    _, alone = peak_memory(decode)
    images, together = peak_memory(two_at_once)
    assert [image.size for image in images] == [(960, 720), (960, 720)]
    assert together < alone * 1.4, f"{together / MB:.0f} MB for two, {alone / MB:.0f} MB for one"
