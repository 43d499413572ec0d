"""Two web servers share one shop (issue 20): what a buyer, a village and the office do through
one server, the other sees at once, since sessions are signed cookies and the database, Redis
and the bucket are shared (docs/operations.md, "Scale out").

Each step is what a person does in a browser, through nginx pinned to one server (doors ``a`` and
``b`` of tests/cluster.py), or straight to each server where nginx is not installed.
"""
import io
import re
from urllib.parse import urlsplit

import pytest
from PIL import Image

from .cluster import RATOGESA, VERIFIER, Browser, deployed_cluster, loopback_address, mail_to, new_account

PASSWORD = "kopi-bajawa-pagi-hari"
ADDRESS = {"name": "Maria Goreti", "phone": "0812 3456 7890", "province": "Nusa Tenggara Timur",
           "regency": "53.09", "district": "Bajawa", "village_ward": "Trikora", "postal_code": "86413",
           "street": "Jl. Soekarno-Hatta 7"}


@pytest.fixture(scope="session")
def cluster(tmp_path_factory, s3_server):
    yield from deployed_cluster(tmp_path_factory, s3_server)


def links(page, pattern):
    return re.findall(rf'href="({pattern})"', page.text)


def test_a_buyer_signs_up_on_one_server_and_buys_through_the_other(cluster):
    email = new_account(cluster)
    phone = Browser(cluster)
    phone.submit(phone.open("a", "/daftar"), "/daftar", name="Maria Goreti", email=email, password=PASSWORD,
                 confirm=PASSWORD)
    link = re.search(r"https?://\S+/daftar/konfirmasi/\S+", mail_to(cluster, email)["body"]).group(0)
    confirm = phone.open("b", urlsplit(link).path)
    assert "Maria Goreti" in phone.follow(phone.submit(confirm, urlsplit(link).path)).text  # signed in by B

    laptop = Browser(cluster)  # signs in with the password on A, carries on on B
    laptop.sign_in("a", email, PASSWORD)
    assert email in laptop.open("b", "/akun").text
    product = laptop.open("b", links(laptop.open("b", "/produk?kategori=tenun"), "/produk/[a-z0-9-]+")[0])
    name = re.search(r"<h1[^>]*>([^<]+)</h1>", product.text).group(1).strip()
    laptop.submit(product, "/keranjang/tambah")
    assert name in laptop.open("a", "/keranjang").text

    quoted = laptop.follow(laptop.submit(laptop.open("a", "/checkout"), "/checkout", ("action", "quote"),
                                         email=email, payment_method="bank_transfer", **ADDRESS))
    assert re.search(r'name="expected_total"[^>]*value="\d+"', quoted.text), "A shows no quote"
    # The quote made on A is on B's checkout page too; B places the order.
    placed = laptop.submit(laptop.open("b", "/checkout"), "/checkout", ("action", "place"))
    number = re.search(r"/pesanan/(NTT-\d{6}-[A-Z0-9]{6})", placed.headers["Location"]).group(1)
    assert number in laptop.open("a", "/akun/pesanan").text


def test_a_photo_uploaded_through_one_server_is_served_by_the_other(cluster):
    member = Browser(cluster)
    member.sign_in("a", RATOGESA)
    photo = io.BytesIO()
    Image.new("RGB", (1600, 1200), (120, 70, 30)).save(photo, "JPEG", quality=90)
    saved = member.submit(member.open("a", "/portal/produk/baru"), "/portal/produk/baru",
                          files={"photos": ("kopi-sangrai.jpg", photo.getvalue(), "image/jpeg")},
                          name="Kopi Sangrai Ratogesa 250 g", category="1", price_idr="85000",
                          weight_grams="250", stock="12", description="Kopi arabika sangrai sedang.")
    edit_page = member.get(cluster.doors["b"] + urlsplit(saved.headers["Location"]).path, timeout=30)
    (small,) = re.findall(r'src="(/media/kopi-sangrai-ratogesa-250-g-[0-9a-f]{8}-s\.jpg)"', edit_page.text)
    large = small.replace("-s.jpg", "-l.jpg")

    served = {door: member.open(door, large) for door in ("a", "b")}
    assert served["a"].content == served["b"].content
    assert served["b"].headers["Cache-Control"] == "public, max-age=31536000, immutable"
    assert Image.open(io.BytesIO(served["b"].content)).size == (960, 720)  # the shop's large size


def test_failed_sign_ins_are_counted_across_both_servers(cluster):
    # One browser guessing one account's password: five failures in 15 minutes, wherever they land.
    guesser = Browser(cluster, address=loopback_address())
    email = new_account(cluster)
    for door in ("a", "a", "a", "b", "b"):
        guesser.submit(guesser.open(door, "/masuk"), "/masuk", status=422, email=email,
                       password="tebakan-salah")
    for door in ("b", "a"):
        refused = guesser.submit(guesser.open(door, "/masuk"), "/masuk", status=429, email=email,
                                 password=PASSWORD)
        assert "Terlalu banyak percobaan" in refused.text and int(refused.headers["Retry-After"]) > 0


def test_a_paper_revoked_through_one_server_hides_the_product_on_the_other(cluster):
    shopper = Browser(cluster)
    path = links(shopper.open("b", "/produk?kategori=kopi"), "/produk/[a-z0-9-]+")[0]
    product = shopper.open("b", path)  # now also in the shared page cache
    name = re.search(r"<h1[^>]*>([^<]+)</h1>", product.text).group(1).strip()
    assert path in shopper.open("b", f"/cari?q={name}").text
    product_id = re.search(r'name="product_id" value="(\d+)"', product.text).group(1)

    verifier = Browser(cluster)
    verifier.sign_in("a", VERIFIER)
    listing = verifier.open("a", f"/kantor/produk/{product_id}")
    (paper,) = re.findall(r'href="(/kantor/dokumen/\d+)">Izin pangan industri rumah tangga', listing.text)
    verifier.submit(verifier.open("a", paper), "/cabut", reason="Izin dicabut oleh dinas kabupaten.")

    assert shopper.get(cluster.doors["b"] + path, timeout=30).status_code == 404
    assert path not in shopper.open("b", "/produk?kategori=kopi").text
    assert path not in shopper.open("b", f"/cari?q={name}").text
