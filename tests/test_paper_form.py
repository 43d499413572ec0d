"""The village's paper form (issue 17): every problem at once, a good scan kept across a refused
submit, and an unusual number confirmed before it is saved.

Over HTTP, as a browser without JavaScript sends the form; messages in Indonesian.
"""
import html
import io
import re
from datetime import timedelta
from pathlib import Path

from PIL import Image
from sqlalchemy import func, select

from storefront import clock
from storefront.clock import today_wita
from storefront.extensions import db
from storefront.legality.held_scans import HOLD_HOURS, find_held_scan, hold_scan
from storefront.legality.models import Certificate, CertificateScan
from storefront.legality.scans import CleanScan
from storefront.outbox.worker import housekeeping

from .conftest import csrf_token
from .factories import make_certificate, make_certified_village, make_product, make_user, sign_in

NEW = "/portal/dokumen/baru"
KEPT = "Pindaian disimpan: pirt.png"
GONE = "Pindaian yang disimpan dari percobaan sebelumnya sudah tidak tersedia. Pilih berkasnya lagi."
WARNING = "Periksa dengan teliti: nomor ini tidak sesuai format yang lazim untuk jenis dokumen ini."
CONFIRM = "Nomor tertulis persis seperti ini pada dokumen"
GOOD = {"kind": "pirt", "number": "P-IRT No. 2105309010001-30", "issued_on": "2025-01-10",
        "expires_on": "2030-01-10"}


def png_bytes(color="white"):
    out = io.BytesIO()
    Image.new("RGB", (120, 160), color).save(out, "PNG")
    return out.getvalue()


def member_of(village=None):
    village = village or make_certified_village()
    product = make_product(village, "kopi")
    return village, product, make_user("village_member", village)


def hidden(page, name):
    return re.search(rf'name="{name}"[^>]*value="([^"]*)"', page).group(1)


def post(browser, url=NEW, page=None, scan=None, **fields):
    """Send the form at ``url`` as a browser would: the page's CSRF token (and, from ``page``,
    the held scan and the warned number it carries), ``fields``, and ``scan`` when given."""
    page = page if page is not None else browser.get(url).get_data(as_text=True)
    data = {"csrf_token": csrf_token(page), "held_scan": hidden(page, "held_scan"),
            "warned_number": hidden(page, "warned_number"), **fields}
    if scan is not None:
        data["scan"] = (io.BytesIO(scan), "pirt.png")
    return browser.post(url, data=data, content_type="multipart/form-data")


def text(response):
    return html.unescape(response.get_data(as_text=True))


def error_at(page, field, message):
    """``message`` is shown at ``field`` (the form macro's error paragraph for it)."""
    return re.search(rf'<p class="error" id="{field}-error">{re.escape(message)}', page) is not None


def papers():
    db.session.expire_all()
    return db.session.scalar(select(func.count()).select_from(Certificate))


def held_files(app, user):
    folder = Path(app.config["SCAN_ROOT"]) / "held" / str(user.id)
    return sorted(folder.iterdir()) if folder.exists() else []


def test_a_refused_submit_lists_every_problem_at_its_field(app):
    village, coffee, member = member_of()
    cloth = make_product(village, "tenun", name="Tenun Ikat Sikka")
    taken = make_certificate(village, "halal", [coffee])
    m = sign_in(app.test_client(), member)
    before = papers()

    # No scan, the dates the wrong way round, a number already registered, no product.
    response = post(m, kind="halal", number=taken.number, issued_on="2025-05-01", expires_on="2025-04-01")
    assert response.status_code == 422
    page = text(response)
    assert error_at(page, "scan", "Lampirkan pindaian atau foto dokumen yang jelas.")
    assert error_at(page, "expires_on", "Tanggal berakhir tidak boleh sebelum tanggal terbit.")
    assert error_at(page, "number", f"Dokumen dengan nomor {taken.number} sudah terdaftar.")
    assert error_at(page, "products", "Pilih produk yang dicakup dokumen ini.")

    # A date that cannot be read holds back only the checks that need it: the expiry still counts.
    yesterday = (today_wita() - timedelta(days=1)).isoformat()
    response = post(m, kind="pirt", number="P-IRT No. 2105309010001-30", issued_on="",
                    expires_on=yesterday, products=[str(cloth.id)], scan=png_bytes())
    page = text(response)
    assert response.status_code == 422
    assert error_at(page, "issued_on", "Masukkan tanggal terbit.")
    assert error_at(page, "expires_on", "Dokumen ini sudah kedaluwarsa; ajukan dokumen perpanjangannya.")
    assert error_at(page, "products", "Jenis dokumen ini untuk makanan dan minuman; produk ini bukan pangan: "
                                      "Tenun Ikat Sikka.")
    assert 'value="P-IRT No. 2105309010001-30"' in page  # what was typed stays
    assert papers() == before and db.session.scalar(select(func.count()).select_from(CertificateScan)) == 0


def test_a_good_scan_is_kept_across_a_refused_submit_and_saved_from_the_hold(app):
    village, coffee, member = member_of()
    m = sign_in(app.test_client(), member)
    response = post(m, **{**GOOD, "expires_on": "2024-01-10"}, products=[str(coffee.id)], scan=png_bytes())
    assert response.status_code == 422
    page = text(response)
    assert KEPT in page and "pilih berkas lain untuk menggantinya" in page
    [held] = [p for p in held_files(app, member) if p.suffix == ".scan"]  # in the private scan store
    kept_bytes = held.read_bytes()

    # Sent again with the date fixed and no file: saved with the held scan, and the hold is used up.
    response = post(m, page=page, **GOOD, products=[str(coffee.id)])
    assert response.status_code == 303, text(response)[:3000]
    scan = db.session.scalars(select(CertificateScan)).one()
    assert scan.original_name == "pirt.png" and scan.uploaded_by_id == member.id
    assert (Path(app.config["SCAN_ROOT"]) / scan.key).read_bytes() == kept_bytes
    assert held_files(app, member) == []

    # The token cannot be used a second time.
    again = post(m, page=page, **{**GOOD, "number": "P-IRT No. 2105309010002-30"}, products=[str(coffee.id)])
    assert again.status_code == 422 and error_at(text(again), "scan", GONE)


def test_a_new_file_replaces_the_held_one(app):
    village, coffee, member = member_of()
    m = sign_in(app.test_client(), member)
    page = text(post(m, **GOOD, scan=png_bytes("white")))  # no product: refused, scan held
    first = hidden(page, "held_scan")
    page = text(post(m, page=page, **GOOD, scan=png_bytes("black")))  # still no product
    assert hidden(page, "held_scan") != first and KEPT in page
    assert len(held_files(app, member)) == 2  # one hold: its file and its facts
    assert post(m, page=page, **GOOD, products=[str(coffee.id)]).status_code == 303
    scan = db.session.scalars(select(CertificateScan)).one()
    with Image.open(Path(app.config["SCAN_ROOT"]) / scan.key) as image:
        assert image.getpixel((0, 0)) == (0, 0, 0)


def test_a_hold_serves_only_its_own_member_village_and_form(app):
    village_a, coffee_a, member_a = member_of()
    _village_b, coffee_b, member_b = member_of()
    a = sign_in(app.test_client(), member_a)
    page_a = text(post(a, **GOOD, scan=png_bytes()))
    token = hidden(page_a, "held_scan")
    assert token

    b = sign_in(app.test_client(), member_b)
    page_b = b.get(NEW).get_data(as_text=True).replace('name="held_scan" type="hidden" value=""',
                                                       f'name="held_scan" type="hidden" value="{token}"')
    assert token in page_b
    response = post(b, page=page_b, **GOOD, products=[str(coffee_b.id)])
    assert response.status_code == 422 and error_at(text(response), "scan", GONE)
    assert KEPT not in text(response) and token not in text(response)

    # Another member of the same village, and the owner on another form, are refused too.
    colleague = sign_in(app.test_client(), make_user("village_member", village_a))
    page_c = colleague.get(NEW).get_data(as_text=True).replace('name="held_scan" type="hidden" value=""',
                                                               f'name="held_scan" type="hidden" value="{token}"')
    assert error_at(text(post(colleague, page=page_c, **GOOD, products=[str(coffee_a.id)])), "scan", GONE)
    rejected = make_certificate(village_a, "pirt", [coffee_a], status="rejected")
    url = f"/portal/dokumen/{rejected.id}/ajukan-ulang"
    page_r = a.get(url).get_data(as_text=True).replace('name="held_scan" type="hidden" value=""',
                                                       f'name="held_scan" type="hidden" value="{token}"')
    response = post(a, url=url, page=page_r, **GOOD, products=[str(coffee_a.id)])
    assert response.status_code == 422 and error_at(text(response), "scan", GONE)
    assert papers() == 3  # the two NIBs and the rejected P-IRT, unchanged
    db.session.expire_all()
    assert db.session.get(Certificate, rejected.id).status == "rejected"
    # The owner's hold is untouched by the refusals.
    assert find_held_scan(token, user_id=member_a.id, village_id=village_a.id, form="new") is not None


def test_an_expired_hold_is_refused_and_cleaned_by_housekeeping(app):
    village, coffee, member = member_of()
    scan = CleanScan(png_bytes(), "image/png", "png", "pirt.png")
    long_ago = clock.now_utc() - timedelta(hours=HOLD_HOURS, minutes=1)
    stale = hold_scan(scan, user_id=member.id, village_id=village.id, form="new", now=long_ago)
    hold_scan(scan, user_id=member.id, village_id=village.id, form="new", now=long_ago)
    fresh = hold_scan(scan, user_id=member.id, village_id=village.id, form="new")
    assert len(held_files(app, member)) == 6

    m = sign_in(app.test_client(), member)
    page = m.get(NEW).get_data(as_text=True).replace('name="held_scan" type="hidden" value=""',
                                                     f'name="held_scan" type="hidden" value="{stale}"')
    response = post(m, page=page, **GOOD, products=[str(coffee.id)])
    assert response.status_code == 422 and error_at(text(response), "scan", GONE)
    assert papers() == 1

    housekeeping()  # the outbox worker's jobs (storefront/jobs.py)
    assert len(held_files(app, member)) == 2
    assert find_held_scan(fresh, user_id=member.id, village_id=village.id, form="new") is not None


def test_an_unusual_pirt_number_is_saved_only_once_confirmed(app):
    village, coffee, member = member_of()
    m = sign_in(app.test_client(), member)
    typed = {**GOOD, "number": "12345", "products": [str(coffee.id)]}
    response = post(m, **typed, scan=png_bytes())
    assert response.status_code == 422
    page = text(response)
    assert error_at(page, "number", WARNING)
    assert "Biasanya ditulis seperti P-IRT No. 2053374020970-28." in page
    assert CONFIRM in page and 'name="confirm_number"' in page
    assert 'value="12345"' in page and 'value="2025-01-10"' in page and KEPT in page
    assert papers() == 1

    # Not ticked, or ticked for another number than the one warned about: asked again.
    response = post(m, page=page, **typed)
    assert response.status_code == 422 and error_at(text(response), "number", WARNING)
    response = post(m, page=page, **{**typed, "number": "12346"}, confirm_number="y")
    assert response.status_code == 422 and error_at(text(response), "number", WARNING)
    page = text(response)

    response = post(m, page=page, **{**typed, "number": "12346"}, confirm_number="y")
    assert response.status_code == 303, text(response)[:3000]
    paper = db.session.scalars(select(Certificate).where(Certificate.kind == "pirt")).one()
    assert (paper.number, paper.status) == ("12346", "pending")
    office = sign_in(app.test_client(), make_user("verifier"))
    assert WARNING in text(office.get(f"/kantor/dokumen/{paper.id}"))


def test_a_number_without_digits_stays_an_error_even_when_confirmed(app):
    village, coffee, member = member_of()
    m = sign_in(app.test_client(), member)
    response = post(m, **{**GOOD, "number": "SURAT IZIN"}, products=[str(coffee.id)], scan=png_bytes(),
                    confirm_number="y")
    assert response.status_code == 422
    page = text(response)
    assert error_at(page, "number", "Nomor dokumen memuat angka: ketik persis seperti tercetak pada dokumen.")
    assert CONFIRM not in page and KEPT in page
    assert papers() == 1
