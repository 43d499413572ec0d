"""Legality verification: the status table, and the whole flow over HTTP as browsers drive it.

A village member submits a paper with its scan in the portal, the provincial office verifies,
rejects or revokes it under /kantor, and the shop's listing rule follows. Uploads are checked by
content and cleaned; members see only their own village's papers. Also: invitations, roles and
village registration / suspension at the office.

Messages are checked in Indonesian (the shop's default language) unless a test switches to English.
"""
import html
import io
import json
import re
from datetime import timedelta
from pathlib import Path

import pytest
from PIL import Image
from pypdf import PdfWriter
from sqlalchemy import func, select

from storefront import create_app
from storefront.accounts.models import Invitation, User
from storefront.clock import now_utc, today_wita
from storefront.extensions import db
from storefront.legality.models import Certificate, CertificateEvent, CertificateScan
from storefront.legality.services import (TRANSITIONS, LegalityError, TransitionError,
                                          change_certificate_status)
from storefront.outbox.models import OutboxMessage
from storefront.villages.models import Village

from .conftest import FreshContextClient, csrf_token
from .factories import (make_certificate, make_certified_village, make_product, make_sellable_food, make_user,
                        make_village, sign_in)
from .images import MB, peak_memory, phone_photo, png_of_size
from .visibility import assert_hidden, assert_visible

PASSWORD = "a-long-test-password"
STATUSES = ("pending", "verified", "rejected", "revoked")
HALAL_NUMBER = "ID53110012345670824"


# --- helpers -------------------------------------------------------------------------------


def person(app, user=None):
    """A separate browser; signed in as ``user`` when given."""
    app.test_client_class = FreshContextClient
    browser = app.test_client()
    if user is not None:
        sign_in(browser, user)
    return browser


def text_of(response):
    return html.unescape(response.get_data(as_text=True))


def fetch(browser, url):
    """GET ``url`` and read the body, closing the response (scans are streamed from files)."""
    response = browser.get(url)
    response.get_data()
    response.close()
    return response


def follow(browser, response):
    """Follow one redirect, as a browser would after a 303."""
    assert response.status_code in (302, 303), response.status_code
    return browser.get(response.headers["Location"])


def png_bytes(size=(60, 40), color="white"):
    out = io.BytesIO()
    Image.new("RGB", size, color).save(out, "PNG")
    return out.getvalue()


def jpeg_bytes(size=(60, 40), exif=None):
    out = io.BytesIO()
    kwargs = {"exif": exif} if exif is not None else {}
    Image.new("RGB", size, "blue").save(out, "JPEG", **kwargs)
    return out.getvalue()


def pdf_bytes(pages=1, password=None):
    writer = PdfWriter()
    for _ in range(pages):
        writer.add_blank_page(width=595, height=842)
    if password is not None:
        writer.encrypt(password, algorithm="RC4-128")
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def post_paper(browser, *, kind="halal", number=HALAL_NUMBER, products=(), scan=None,
               issued_on="2024-03-01", expires_on=""):
    """Fill in /portal/dokumen/baru and send it, multipart, with the form's CSRF token."""
    page = browser.get("/portal/dokumen/baru")
    assert page.status_code == 200
    data = {"csrf_token": csrf_token(page.get_data(as_text=True)), "kind": kind, "number": number,
            "issued_on": issued_on, "expires_on": expires_on,
            "products": [str(p) for p in products]}
    if scan is not None:
        content, filename = scan
        data["scan"] = (io.BytesIO(content), filename)
    return browser.post("/portal/dokumen/baru", data=data, content_type="multipart/form-data")


def office_post(browser, certificate_id, action, reason=None):
    """Press a button on the office's review page (verifikasi, tolak or cabut)."""
    page = browser.get(f"/kantor/dokumen/{certificate_id}")
    assert page.status_code == 200
    data = {"csrf_token": csrf_token(page.get_data(as_text=True))}
    if reason is not None:
        data["reason"] = reason
    return browser.post(f"/kantor/dokumen/{certificate_id}/{action}", data=data)


def fresh(model, id_):
    db.session.expire_all()
    return db.session.get(model, id_)


def events_of(certificate_id):
    db.session.expire_all()
    return db.session.scalars(select(CertificateEvent).where(
        CertificateEvent.certificate_id == certificate_id).order_by(CertificateEvent.id)).all()


def count(model):
    db.session.expire_all()
    return db.session.scalar(select(func.count()).select_from(model))


def stored_files(app):
    root = Path(app.config["SCAN_ROOT"])
    return sorted(p.name for p in root.iterdir()) if root.exists() else []


def food_village_with_member():
    """Village A with a coffee that has a verified NIB and P-IRT but no halal paper yet."""
    village = make_certified_village()
    product = make_product(village, "kopi")
    make_certificate(village, "pirt", [product], expires_on=today_wita() + timedelta(days=365))
    member = make_user("village_member", village)
    return village, product, member


def listed(browser, product):
    return f'href="/produk/{product.slug}"' in browser.get("/produk").get_data(as_text=True)


# --- the transition table --------------------------------------------------------------------

ALLOWED = {
    ("pending", "verified"): "office",
    ("pending", "rejected"): "office",
    ("verified", "revoked"): "office",
    ("rejected", "pending"): "village",
}


def test_transition_table_is_exactly_the_agreed_one():
    assert TRANSITIONS == ALLOWED


@pytest.mark.parametrize("side", ["office", "village"])
@pytest.mark.parametrize("to_status", STATUSES)
@pytest.mark.parametrize("from_status", STATUSES)
def test_status_change_follows_the_table(app, from_status, to_status, side):
    village = make_village()
    actor = make_user("verifier") if side == "office" else make_user("village_member", village)
    certificate = make_certificate(village, "nib", status=from_status)
    cert_id = certificate.id

    if ALLOWED.get((from_status, to_status)) == side:
        change_certificate_status(certificate, to_status, actor, reason="x", side=side)
        db.session.commit()
        assert fresh(Certificate, cert_id).status == to_status
        [event] = events_of(cert_id)
        assert (event.from_status, event.to_status) == (from_status, to_status)
        assert event.actor_id == actor.id
        assert actor.name in event.actor_name and actor.email in event.actor_name
        assert event.reason == "x"
        assert event.created_at is not None
    else:
        with pytest.raises(TransitionError):
            change_certificate_status(certificate, to_status, actor, reason="x", side=side)
        db.session.rollback()
        assert fresh(Certificate, cert_id).status == from_status
        assert events_of(cert_id) == []


@pytest.mark.parametrize("from_status, to_status", [("pending", "rejected"), ("verified", "revoked")])
@pytest.mark.parametrize("reason", ["", "   \n ", None])
def test_reject_and_revoke_need_a_reason(app, from_status, to_status, reason):
    village = make_village()
    certificate = make_certificate(village, "nib", status=from_status)
    with pytest.raises(LegalityError) as raised:
        change_certificate_status(certificate, to_status, make_user("verifier"), reason=reason)
    assert not isinstance(raised.value, TransitionError)
    db.session.rollback()
    assert fresh(Certificate, certificate.id).status == from_status
    assert events_of(certificate.id) == []


def test_verifying_records_who_and_revoking_clears_it(app):
    village = make_village()
    verifier = make_user("verifier")
    certificate = make_certificate(village, "nib", status="pending")
    change_certificate_status(certificate, "verified", verifier)
    db.session.commit()
    certificate = fresh(Certificate, certificate.id)
    assert certificate.verified_by_id == verifier.id
    assert verifier.name in certificate.verified_by_name and certificate.verified_at is not None
    change_certificate_status(certificate, "revoked", verifier, reason="nomor palsu")
    db.session.commit()
    certificate = fresh(Certificate, certificate.id)
    assert certificate.verified_by_id is None and certificate.verified_at is None
    assert [(e.from_status, e.to_status, e.reason) for e in events_of(certificate.id)] == [
        ("pending", "verified", ""), ("verified", "revoked", "nomor palsu")]


# --- the flow over HTTP ---------------------------------------------------------------------


def test_submit_verify_revoke_drives_the_listing(app):
    village, product, member = food_village_with_member()
    verifier = make_user("verifier")
    m, v, shopper = person(app, member), person(app, verifier), person(app)

    response = post_paper(m, products=[product.id], scan=(png_bytes(), "halal.png"))
    assert response.status_code == 303
    certificate = db.session.scalars(select(Certificate).where(Certificate.kind == "halal")).one()
    assert response.headers["Location"].endswith(f"/portal/dokumen/{certificate.id}")
    assert (certificate.status, certificate.village_id, certificate.number) == ("pending", village.id, HALAL_NUMBER)
    [event] = events_of(certificate.id)
    assert (event.from_status, event.to_status, event.actor_id) == (None, "pending", member.id)
    assert count(CertificateScan) == 1 and len(stored_files(app)) == 1

    papers = text_of(m.get("/portal/dokumen"))
    row = papers[papers.index(HALAL_NUMBER):]
    assert 'tag-pending' in row[:400] and "menunggu" in row[:400]

    # Pending counts for nothing: the coffee still lacks its halal paper.
    assert shopper.get(f"/produk/{product.slug}").status_code == 404
    assert not listed(shopper, product)

    queue = text_of(v.get("/kantor/antrean"))
    assert HALAL_NUMBER in queue and f"/kantor/dokumen/{certificate.id}" in queue
    review = text_of(v.get(f"/kantor/dokumen/{certificate.id}"))
    scan_id = db.session.scalars(select(CertificateScan.id)).one()
    assert f"/dokumen/scan/{scan_id}" in review

    response = office_post(v, certificate.id, "verifikasi")
    assert response.status_code == 303
    assert "Tersimpan" in text_of(follow(v, response))
    certificate = fresh(Certificate, certificate.id)
    assert certificate.status == "verified" and certificate.verified_by_id == verifier.id
    assert shopper.get(f"/produk/{product.slug}").status_code == 200
    assert listed(shopper, product)

    response = office_post(v, certificate.id, "cabut", reason="Nomor tidak terdaftar di BPJPH.")
    assert response.status_code == 303
    assert fresh(Certificate, certificate.id).status == "revoked"
    assert shopper.get(f"/produk/{product.slug}").status_code == 404
    assert not listed(shopper, product)
    assert "Nomor tidak terdaftar di BPJPH." in text_of(m.get("/portal/dokumen"))

    # A revoked paper cannot be verified again: refused with a clear message, nothing changes.
    response = office_post(v, certificate.id, "verifikasi")
    assert response.status_code == 303
    page = text_of(follow(v, response))
    assert "Dokumen berstatus dicabut tidak dapat diubah menjadi terverifikasi." in page
    assert fresh(Certificate, certificate.id).status == "revoked"
    assert [(e.from_status, e.to_status) for e in events_of(certificate.id)] == [
        (None, "pending"), ("pending", "verified"), ("verified", "revoked")]
    assert shopper.get(f"/produk/{product.slug}").status_code == 404


def test_office_buttons_need_the_csrf_token(app):
    village, product, member = food_village_with_member()
    certificate = make_certificate(village, "halal", [product], status="pending")
    v = person(app, make_user("verifier"))
    response = v.post(f"/kantor/dokumen/{certificate.id}/verifikasi")
    assert response.status_code in (303, 400)
    assert fresh(Certificate, certificate.id).status == "pending"
    assert events_of(certificate.id) == []


def test_only_the_office_may_verify(app):
    village, product, member = food_village_with_member()
    certificate = make_certificate(village, "halal", [product], status="pending")
    for browser in (person(app, member), person(app, make_user("customer"))):
        page = browser.get("/")
        response = browser.post(f"/kantor/dokumen/{certificate.id}/verifikasi",
                                data={"csrf_token": csrf_token(page.get_data(as_text=True))})
        assert response.status_code == 403
        assert browser.get("/kantor/antrean").status_code == 403
    anonymous = person(app).get("/kantor/antrean")
    assert anonymous.status_code == 302 and "/masuk" in anonymous.headers["Location"]
    assert fresh(Certificate, certificate.id).status == "pending"


def test_reject_with_reason_then_the_village_corrects_and_resubmits(app):
    village, product, member = food_village_with_member()
    m, v = person(app, member), person(app, make_user("verifier"))
    assert post_paper(m, number="ID5311001234567082", products=[product.id],
                      scan=(png_bytes(), "halal.png")).status_code == 303
    certificate = db.session.scalars(select(Certificate).where(Certificate.kind == "halal")).one()

    # Rejecting without a reason is refused with a message.
    response = office_post(v, certificate.id, "tolak", reason="  ")
    assert "Tuliskan alasannya agar desa tahu apa yang harus diperbaiki." in text_of(follow(v, response))
    assert fresh(Certificate, certificate.id).status == "pending"

    reason = "Nomor pada pindaian berbeda: kurang satu angka."
    assert office_post(v, certificate.id, "tolak", reason=reason).status_code == 303
    assert fresh(Certificate, certificate.id).status == "rejected"
    assert reason in text_of(m.get("/portal/dokumen"))
    detail = text_of(m.get(f"/portal/dokumen/{certificate.id}"))
    assert f"/portal/dokumen/{certificate.id}/ajukan-ulang" in detail and reason in detail
    assert HALAL_NUMBER not in text_of(v.get("/kantor/antrean"))

    form = m.get(f"/portal/dokumen/{certificate.id}/ajukan-ulang")
    assert form.status_code == 200
    assert 'value="ID5311001234567082"' in form.get_data(as_text=True)  # pre-filled
    response = m.post(f"/portal/dokumen/{certificate.id}/ajukan-ulang", data={
        "csrf_token": csrf_token(form.get_data(as_text=True)), "kind": "halal", "number": HALAL_NUMBER,
        "issued_on": "2024-03-01", "expires_on": "", "products": [str(product.id)],
        "scan": (io.BytesIO(jpeg_bytes()), "halal-jelas.jpg")}, content_type="multipart/form-data")
    assert response.status_code == 303
    assert "Dokumen yang diperbaiki sudah dikirim ulang ke kantor." in text_of(follow(m, response))

    certificate = fresh(Certificate, certificate.id)
    assert (certificate.status, certificate.number) == ("pending", HALAL_NUMBER)
    history = events_of(certificate.id)
    assert [(e.from_status, e.to_status) for e in history] == [
        (None, "pending"), ("pending", "rejected"), ("rejected", "pending")]
    assert history[1].reason == reason
    assert history[2].actor_id == member.id and history[2].reason
    scans = db.session.scalars(select(CertificateScan).order_by(CertificateScan.id)).all()
    assert [s.content_type for s in scans] == ["image/png", "image/jpeg"]
    assert HALAL_NUMBER in text_of(v.get("/kantor/antrean"))

    # Now pending: the correction page sends the member back, and a post changes nothing.
    page = m.get(f"/portal/dokumen/{certificate.id}/ajukan-ulang")
    assert page.status_code == 303
    response = m.post(f"/portal/dokumen/{certificate.id}/ajukan-ulang", data={
        "csrf_token": csrf_token(form.get_data(as_text=True)), "kind": "halal", "number": "ID531100123456708",
        "issued_on": "2024-03-01", "products": [str(product.id)]}, content_type="multipart/form-data")
    assert response.status_code == 303
    assert fresh(Certificate, certificate.id).number == HALAL_NUMBER
    assert len(events_of(certificate.id)) == 3


def test_resubmitting_without_a_new_scan_keeps_the_old_one(app):
    village, product, member = food_village_with_member()
    certificate = make_certificate(village, "halal", [product], status="rejected", number="ID531100")
    m = person(app, member)
    form = m.get(f"/portal/dokumen/{certificate.id}/ajukan-ulang")
    response = m.post(f"/portal/dokumen/{certificate.id}/ajukan-ulang", data={
        "csrf_token": csrf_token(form.get_data(as_text=True)), "kind": "halal", "number": HALAL_NUMBER,
        "issued_on": "2024-03-01", "expires_on": "", "products": [str(product.id)],
        "scan": (io.BytesIO(b""), "")}, content_type="multipart/form-data")
    assert response.status_code == 303
    assert fresh(Certificate, certificate.id).status == "pending"
    assert count(CertificateScan) == 0


def test_office_success_message_names_the_status_in_the_page_language(app):
    village, product, member = food_village_with_member()
    certificate = make_certificate(village, "halal", [product], status="pending")
    v = person(app, make_user("verifier"))
    page = text_of(follow(v, office_post(v, certificate.id, "verifikasi")))
    assert "Tersimpan: status dokumen sekarang terverifikasi." in page


# --- villages only see their own ------------------------------------------------------------


@pytest.mark.parametrize("tamper", ["other only", "own and other"])
def test_paper_for_another_villages_product_is_refused(app, tamper):
    village_a, product_a, member = food_village_with_member()
    village_b = make_certified_village()
    product_b = make_product(village_b, "kopi")
    products = [product_b.id] if tamper == "other only" else [product_a.id, product_b.id]
    response = post_paper(person(app, member), products=products, scan=(png_bytes(), "halal.png"))
    assert response.status_code == 422
    assert "Dokumen hanya dapat mencakup produk desa Anda sendiri." in text_of(response)
    assert db.session.scalars(select(Certificate).where(Certificate.kind == "halal")).all() == []
    assert count(CertificateScan) == 0 and count(CertificateEvent) == 0
    # The scan itself was good: it waits, held apart, for the corrected form (test_paper_form.py).
    assert stored_files(app) == ["held"]


def test_a_member_cannot_reach_another_villages_paper(app):
    village_a, _product_a, member_a = food_village_with_member()
    village_b, product_b, member_b = food_village_with_member()
    b = person(app, member_b)
    assert post_paper(b, products=[product_b.id], scan=(png_bytes(), "halal.png")).status_code == 303
    paper_b = db.session.scalars(select(Certificate).where(Certificate.kind == "halal")).one()
    paper_b.status = "rejected"
    db.session.commit()
    scan_b = db.session.scalars(select(CertificateScan)).one()
    urls = [f"/portal/dokumen/{paper_b.id}", f"/portal/dokumen/{paper_b.id}/ajukan-ulang",
            f"/dokumen/scan/{scan_b.id}"]

    for url in urls:  # the owner reaches all three
        assert fetch(b, url).status_code == 200, url

    a = person(app, member_a)
    for url in urls:
        assert fetch(a, url).status_code == 404, url
    page = a.get("/portal/dokumen/baru")
    response = a.post(f"/portal/dokumen/{paper_b.id}/ajukan-ulang", data={
        "csrf_token": csrf_token(page.get_data(as_text=True)), "kind": "halal",
        "number": "ID5311001234567099", "issued_on": "2024-03-01", "products": [str(product_b.id)]},
        content_type="multipart/form-data")
    assert response.status_code == 404
    assert fresh(Certificate, paper_b.id).status == "rejected"
    assert HALAL_NUMBER not in a.get("/portal/dokumen").get_data(as_text=True)

    for stranger in (person(app), person(app, make_user("customer"))):
        assert stranger.get(f"/dokumen/scan/{scan_b.id}").status_code == 404


# --- the office's queue ---------------------------------------------------------------------


def test_queue_is_oldest_first_filters_and_flags_odd_numbers(app):
    ngada = make_village(regency_code="53.09", slug="beiposo")
    manggarai = make_village(regency_code="53.10", slug="todo")
    coffee = make_product(ngada, "kopi")
    now = now_utc()
    # Created in this order; waiting since different days.
    newest = make_certificate(ngada, "halal", [coffee], status="pending", number="ID531100000000000001")
    oldest = make_certificate(manggarai, "nib", status="pending", number="5310000000001")
    middle = make_certificate(ngada, "pirt", [coffee], status="pending", number="P-IRT No. 2105309000001-30")
    odd = make_certificate(manggarai, "halal", status="pending", number="HALAL/123/NTT")
    make_certificate(ngada, "nib", status="verified", number="5309000000009")
    make_certificate(ngada, "trademark", status="rejected", number="IDM000000009")
    for cert, days in ((newest, 1), (oldest, 9), (middle, 5), (odd, 3)):
        cert.updated_at = now - timedelta(days=days)
    db.session.commit()
    v = person(app, make_user("verifier"))

    def shown(**query):
        response = v.get("/kantor/antrean", query_string=query)
        assert response.status_code == 200
        page = text_of(response)
        found = [(page.index(c.number), c.number) for c in (newest, oldest, middle, odd)
                 if c.number in page]
        return [number for _at, number in sorted(found)], page

    numbers, page = shown()
    assert numbers == [oldest.number, middle.number, odd.number, newest.number]
    assert "5309000000009" not in page and "IDM000000009" not in page
    assert shown(kabupaten="53.10")[0] == [oldest.number, odd.number]
    assert shown(jenis="halal")[0] == [odd.number, newest.number]
    assert shown(desa="beiposo")[0] == [middle.number, newest.number]
    assert shown(kabupaten="53.09", jenis="pirt", desa="beiposo")[0] == [middle.number]
    assert shown(desa="tidak-ada")[0] == []

    # Only the odd number is flagged, on its own row.
    rows = page.split("<li>")
    flag = "nomor tidak sesuai format lazim"
    assert [row for row in rows if flag in row] == [row for row in rows if odd.number in row]
    assert text_of(v.get(f"/kantor/dokumen/{odd.id}")).count(
        "Periksa dengan teliti: nomor ini tidak sesuai format yang lazim") == 1
    good = text_of(v.get(f"/kantor/dokumen/{middle.id}"))
    assert "Periksa dengan teliti" not in good
    assert "Nomor sesuai format yang lazim untuk jenis dokumen ini." in good


def test_an_odd_number_from_the_portal_is_kept_as_typed_and_flagged(app):
    village, product, member = food_village_with_member()
    m = person(app, member)
    response = post_paper(m, number="  sertifikat halal 12/2024 ", products=[product.id],
                          scan=(png_bytes(), "halal.png"))
    assert response.status_code == 422  # the village confirms such a number first (test_paper_form.py)
    page = response.get_data(as_text=True)
    assert "Periksa dengan teliti: nomor ini tidak sesuai format yang lazim" in text_of(response)
    response = m.post("/portal/dokumen/baru", content_type="multipart/form-data", data={
        "csrf_token": csrf_token(page), "kind": "halal", "number": "  sertifikat halal 12/2024 ",
        "issued_on": "2024-03-01", "products": [str(product.id)], "confirm_number": "y",
        "warned_number": re.search(r'name="warned_number"[^>]*value="([^"]*)"', page).group(1),
        "held_scan": re.search(r'name="held_scan"[^>]*value="([^"]*)"', page).group(1)})
    assert response.status_code == 303
    certificate = db.session.scalars(select(Certificate).where(Certificate.kind == "halal")).one()
    assert certificate.number == "SERTIFIKAT HALAL 12/2024"
    queue = text_of(person(app, make_user("verifier")).get("/kantor/antrean"))
    assert "nomor tidak sesuai format lazim" in queue


# --- upload checks --------------------------------------------------------------------------


def _html_page():
    return b"<!DOCTYPE html><html><body><script>alert(document.cookie)</script></body></html>"


def _encrypted_pdf():
    return pdf_bytes(password="rahasia")


BAD_UPLOADS = {
    "over 20 MB": (lambda: png_bytes() + b"\0" * (20 * MB), "besar.png",
                   "Berkas lebih dari 20 MB. Pindai dengan resolusi lebih rendah"),
    "pdf over 5 MB": (lambda: pdf_bytes() + b"\n" * (5 * MB), "besar.pdf",
                      "PDF lebih dari 5 MB. Simpan dengan kualitas lebih rendah, atau kirim foto dokumennya saja"),
    "text file": (lambda: b"Sertifikat halal nomor ID123\n", "surat.txt",
                  "Hanya berkas PDF, JPEG, atau PNG yang dapat diunggah."),
    "html file": (_html_page, "surat.html", "Hanya berkas PDF, JPEG, atau PNG yang dapat diunggah."),
    "html renamed pdf": (_html_page, "surat.pdf", "Hanya berkas PDF, JPEG, atau PNG yang dapat diunggah."),
    "pdf renamed png": (pdf_bytes, "surat.png", "Nama berkas menyebut PNG, tetapi isinya PDF."),
    "png renamed pdf": (png_bytes, "surat.pdf", "Nama berkas menyebut PDF, tetapi isinya PNG."),
    "jpeg renamed png": (jpeg_bytes, "foto.png", "Nama berkas menyebut PNG, tetapi isinya JPEG."),
    "no extension": (png_bytes, "scan", "tetapi isinya PNG"),
    "image bomb": (lambda: png_of_size(20000, 20000, 0), "bom.png",
                   "Gambar terlalu besar (20000 × 20000 piksel). Pindai dengan 300 dpi atau kurang."),
    "A4 in colour at 600 dpi": (lambda: png_of_size(4961, 7016, 2), "besar.png",
                                "Gambar terlalu besar (4961 × 7016 piksel)."),
    "empty file": (lambda: b"", "kosong.pdf", "Berkas kosong."),
    "damaged pdf": (lambda: b"%PDF-1.4 garbage", "rusak.pdf", "PDF tidak dapat dibaca; mungkin rusak."),
    "damaged png": (lambda: png_bytes()[:40], "rusak.png", "Gambar tidak dapat dibaca; mungkin rusak."),
    "encrypted pdf": (_encrypted_pdf, "kunci.pdf", "PDF dilindungi kata sandi."),
    "gif": (lambda: b"GIF89a" + b"\0" * 30, "foto.gif", "Hanya berkas PDF, JPEG, atau PNG"),
}


@pytest.mark.parametrize("case", list(BAD_UPLOADS))
def test_bad_upload_is_refused_with_a_message_and_nothing_stored(app, case):
    make_content, filename, message = BAD_UPLOADS[case]
    village, product, member = food_village_with_member()
    response = post_paper(person(app, member), products=[product.id], scan=(make_content(), filename))
    assert response.status_code == 422
    page = text_of(response)
    assert message in page
    assert 'class="error"' in page
    assert count(Certificate) == 2  # the factories' NIB and P-IRT only
    assert count(CertificateScan) == 0 and count(CertificateEvent) == 0
    assert stored_files(app) == []


def test_missing_scan_is_refused_with_a_message(app):
    village, product, member = food_village_with_member()
    response = post_paper(person(app, member), products=[product.id])
    assert response.status_code == 422
    assert "Lampirkan pindaian atau foto dokumen yang jelas." in text_of(response)
    assert count(Certificate) == 2 and stored_files(app) == []


def test_a_phone_photo_of_the_paper_is_taken_and_reduced(app):
    """A 48-megapixel photo straight from the phone (18 MB) is a good scan: stored as a JPEG of
    4000 × 3000, in bounded memory (the old code refused it with a dead-end 413 page)."""
    village, product, member = food_village_with_member()
    photo = phone_photo(8000, 6000, quality=85)
    assert 15 * MB < len(photo) <= 20 * MB
    m = person(app, member)
    response, peak = peak_memory(lambda: post_paper(m, products=[product.id], scan=(photo, "IMG_0042.jpg")))
    assert response.status_code == 303, text_of(response)[:2000]
    [stored] = stored_files(app)
    with Image.open(Path(app.config["SCAN_ROOT"]) / stored) as scan:
        assert (scan.format, scan.size) == ("JPEG", (4000, 3000))
    # Within the decode budget (128 MB), request and all; a 40 MP PNG scan took the old code 421 MB.
    assert peak < 128 * MB, f"{peak / MB:.0f} MB"


def test_more_than_a_request_can_take_gets_a_page_that_leads_back_to_the_form(app):
    village, product, member = food_village_with_member()
    too_much = png_bytes() + bytes(app.config["MAX_CONTENT_LENGTH"])
    m = person(app, member)
    response = post_paper(m, products=[product.id], scan=(too_much, "besar.png"))
    assert response.status_code == 413
    page = text_of(response)
    # The same form again, the message at its file field (storefront/upload_forms.py).
    assert re.search(r'<p class="error" id="scan-error">Tidak ada yang disimpan: berkas terlalu besar untuk '
                     r'dikirim\. Foto atau pindaian dokumen boleh sampai 20 MB, PDF sampai 5 MB\.', page)
    assert '<select id="kind" name="kind"' in page and 'name="scan" type="file"' in page
    assert count(Certificate) == 2 and count(CertificateScan) == 0
    assert stored_files(app) == []


def test_upload_messages_in_english(app):
    village, product, member = food_village_with_member()
    m = person(app, member)
    m.get("/bahasa/en")
    response = post_paper(m, products=[product.id], scan=(pdf_bytes(), "scan.png"))
    assert response.status_code == 422
    assert "The file name says PNG but the file is a PDF. Upload the original file." in text_of(response)
    response = post_paper(m, products=[product.id], scan=(b"hello", "scan.txt"))
    assert "Only PDF, JPEG or PNG files can be uploaded." in text_of(response)
    assert count(CertificateScan) == 0 and stored_files(app) == []


# --- accepted uploads: cleaned, stored privately, served safely ---------------------------


def test_accepted_scans_are_cleaned_and_served_safely(app):
    village, product, member = food_village_with_member()
    m, v = person(app, member), person(app, make_user("verifier"))
    exif = Image.Exif()
    exif[0x010F] = "SecretCam"  # Make
    exif[0x0110] = "SecretModel 9"  # Model
    exif[0x8825] = {1: "S", 2: (8.0, 47.0, 12.0), 3: "E", 4: (120.0, 58.0, 30.0)}  # GPS
    original = jpeg_bytes(exif=exif)
    assert b"SecretCam" in original

    uploads = [
        ("halal", HALAL_NUMBER, [product.id], (original, "halal.JPG"), "image/jpeg"),
        ("nib", "9120301234567", [], (png_bytes(), "nib.png"), "image/png"),
        ("trademark", "IDM000984301", [], (pdf_bytes(), "merek.pdf"), "application/pdf"),
    ]
    for kind, number, products, scan, _type in uploads:
        response = post_paper(m, kind=kind, number=number, products=products, scan=scan)
        assert response.status_code == 303, text_of(response)

    db.session.expire_all()
    scans = {c.kind: s for s, c in db.session.execute(
        select(CertificateScan, Certificate).join(Certificate, Certificate.id == CertificateScan.certificate_id))}
    static_root = Path(app.static_folder).resolve()
    for kind, _number, _products, _scan, content_type in uploads:
        scan = scans[kind]
        assert scan.content_type == content_type
        response = fetch(v, f"/dokumen/scan/{scan.id}")
        assert response.status_code == 200
        assert response.mimetype == content_type
        assert "text/html" not in response.headers["Content-Type"]
        assert response.headers["X-Content-Type-Options"] == "nosniff"
        path = Path(app.config["SCAN_ROOT"], scan.key).resolve()
        assert path.read_bytes() == response.data and scan.size_bytes == len(response.data)
        assert not path.is_relative_to(static_root)
        assert v.get(f"/static/{scan.key}").status_code == 404
        assert scan.key not in m.get("/portal/dokumen").get_data(as_text=True)  # the key stays private

    served = fetch(v, f"/dokumen/scan/{scans['halal'].id}").data
    assert b"SecretCam" not in served and b"SecretModel" not in served
    with Image.open(io.BytesIO(served)) as image:
        assert image.format == "JPEG"
        tags = image.getexif()
        assert 0x010F not in tags and 0x0110 not in tags and 0x8825 not in tags

    # The default store is outside static/ too.
    default = create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": "sqlite://"})
    assert not Path(default.config["SCAN_ROOT"]).resolve().is_relative_to(
        Path(default.static_folder).resolve())


# --- invitations ----------------------------------------------------------------------------


def _invite(office, village_id, email="ina@desa.example.id", name="Ina Wole"):
    form = office.get(f"/kantor/desa/{village_id}/undang")
    assert form.status_code == 200
    response = office.post(f"/kantor/desa/{village_id}/undang", data={
        "csrf_token": csrf_token(form.get_data(as_text=True)), "name": name, "email": email})
    assert response.status_code == 303
    assert f"Undangan dikirim ke {email}" in text_of(follow(office, response))
    # The invitation leaves through the outbox: its link is in the queued mail.
    db.session.expire_all()
    mail = db.session.scalars(select(OutboxMessage).where(
        OutboxMessage.kind == "account.invitation", OutboxMessage.target == email)
        .order_by(OutboxMessage.id.desc())).first()
    assert mail is not None, "no invitation mail in the outbox"
    match = re.search(r"http://shop\.test/undangan/([A-Za-z0-9_\-]+)", json.loads(mail.payload)["text"])
    assert match, "the invitation mail holds no link on the shop's public address"
    return match.group(1)


def _accept(browser, token, password="kata-sandi-panjang-sekali"):
    form = browser.get(f"/undangan/{token}")
    assert form.status_code == 200
    return browser.post(f"/undangan/{token}", data={
        "csrf_token": csrf_token(form.get_data(as_text=True)), "name": "Ina Wole",
        "password": password, "confirm": password})


def test_invitation_creates_a_member_once(app):
    village = make_village()
    office = person(app, make_user("verifier"))
    token = _invite(office, village.id)
    invitation = db.session.scalars(select(Invitation)).one()
    assert token not in invitation.token_hash  # only the hash is stored

    invitee = person(app)
    response = _accept(invitee, token)
    assert response.status_code == 303 and response.headers["Location"].endswith("/portal/")
    landing = invitee.get("/portal/", follow_redirects=True)
    assert landing.status_code == 200 and village.name in text_of(landing)
    user = db.session.scalars(select(User).where(User.email == "ina@desa.example.id")).one()
    assert (user.role, user.village_id, user.name) == ("village_member", village.id, "Ina Wole")
    assert user.password_hash != "kata-sandi-panjang-sekali"

    again = person(app).get(f"/undangan/{token}")
    assert again.status_code == 410
    assert "Undangan ini sudah dipakai." in text_of(again)
    response = person(app).post(f"/undangan/{token}", data={"name": "X", "password": "p" * 12, "confirm": "p" * 12})
    assert response.status_code in (400, 410)
    assert count(User) == 2

    later = person(app)
    sign_in(later, user, password="kata-sandi-panjang-sekali")
    assert later.get("/portal/dokumen").status_code == 200
    assert later.get("/kantor/antrean").status_code == 403


def test_expired_or_unknown_invitation_answers_410(app):
    village = make_village()
    office = person(app, make_user("admin"))
    token = _invite(office, village.id)
    invitation = db.session.scalars(select(Invitation)).one()
    invitation.expires_at = now_utc() - timedelta(minutes=1)
    db.session.commit()
    response = person(app).get(f"/undangan/{token}")
    assert response.status_code == 410
    assert "Undangan ini sudah kedaluwarsa." in text_of(response)
    unknown = person(app).get("/undangan/bukan-token-yang-benar")
    assert unknown.status_code == 410 and "Tautan undangan ini tidak berlaku." in text_of(unknown)
    assert db.session.scalars(select(User).where(User.role == "village_member")).all() == []


def test_short_password_on_invitation_is_refused(app):
    village = make_village()
    token = _invite(person(app, make_user("verifier")), village.id)
    response = _accept(person(app), token, password="pendek")
    assert response.status_code == 422
    assert "Kata sandi minimal 12 karakter." in text_of(response)
    db.session.expire_all()
    assert db.session.scalars(select(Invitation)).one().accepted_at is None
    assert _accept(person(app), token).status_code == 303


def test_inviting_someone_who_has_an_account_is_refused(app):
    village = make_village()
    existing = make_user(email="ina@desa.example.id")
    office = person(app, make_user("verifier"))
    form = office.get(f"/kantor/desa/{village.id}/undang")
    response = office.post(f"/kantor/desa/{village.id}/undang", data={
        "csrf_token": csrf_token(form.get_data(as_text=True)), "name": "Ina", "email": existing.email})
    assert response.status_code == 422
    assert existing.email in text_of(response)
    assert count(Invitation) == 0


# --- roles ----------------------------------------------------------------------------------


def _set_role(browser, user_id, role):
    page = browser.get("/")
    return browser.post(f"/kantor/pengguna/{user_id}/peran",
                        data={"csrf_token": csrf_token(page.get_data(as_text=True)), "role": role})


def test_admin_makes_a_customer_verifier_and_back(app):
    admin = make_user("admin")
    customer = make_user("customer")
    a, c = person(app, admin), person(app, customer)
    assert customer.email in text_of(a.get("/kantor/pengguna"))
    assert c.get("/kantor/antrean").status_code == 403

    assert _set_role(a, customer.id, "verifier").status_code == 303
    assert fresh(User, customer.id).role == "verifier"
    assert c.get("/kantor/antrean").status_code == 200

    assert _set_role(a, customer.id, "customer").status_code == 303
    assert fresh(User, customer.id).role == "customer"
    assert c.get("/kantor/antrean").status_code == 403


def test_a_verifier_cannot_manage_roles(app):
    verifier = make_user("verifier")
    customer = make_user("customer")
    v = person(app, verifier)
    assert v.get("/kantor/pengguna").status_code == 403
    assert _set_role(v, customer.id, "verifier").status_code == 403
    assert _set_role(v, verifier.id, "customer").status_code == 403
    assert fresh(User, customer.id).role == "customer" and fresh(User, verifier.id).role == "verifier"


def test_role_changes_that_are_refused(app):
    admin = make_user("admin")
    other_admin = make_user("admin")
    member = make_user("village_member", make_village())
    customer = make_user("customer")
    a = person(app, admin)

    page = text_of(follow(a, _set_role(a, admin.id, "customer")))
    assert "Anda tidak dapat mengubah peran Anda sendiri." in page
    page = text_of(follow(a, _set_role(a, member.id, "verifier")))
    assert "Di sini hanya peran pembeli dan verifikator yang dapat ditukar." in page
    page = text_of(follow(a, _set_role(a, other_admin.id, "customer")))
    assert "Di sini hanya peran pembeli dan verifikator yang dapat ditukar." in page
    page = text_of(follow(a, _set_role(a, customer.id, "admin")))
    assert "Pilih peran yang benar." in page
    assert _set_role(a, 999999, "verifier").status_code == 404

    db.session.expire_all()
    assert [fresh(User, u.id).role for u in (admin, other_admin, member, customer)] == [
        "admin", "admin", "village_member", "customer"]
    assert fresh(User, member.id).village_id is not None


# --- villages -------------------------------------------------------------------------------

VILLAGE_FORM = {"name": "Oelolok", "slug": "oelolok-insana", "regency_code": "53.03",
                "district": "Insana", "group_name": "Kelompok Tenun Oelolok",
                "group_type": "kelompok_wanita", "phone": "0812 3456 7890",
                "email": "Tenun@Oelolok.example.id", "story": "Tenun ikat dari Insana."}


def _new_village(browser, **changes):
    form = browser.get("/kantor/desa/baru")
    assert form.status_code == 200
    data = dict(VILLAGE_FORM, csrf_token=csrf_token(form.get_data(as_text=True)))
    data.update(changes)
    return browser.post("/kantor/desa/baru", data=data)


def test_office_registers_a_village(app):
    v = person(app, make_user("verifier"))
    response = _new_village(v)
    assert response.status_code == 303
    village = db.session.scalars(select(Village).where(Village.slug == "oelolok-insana")).one()
    assert response.headers["Location"].endswith(f"/kantor/desa/{village.id}/undang")
    assert village.active is True
    assert (village.name, village.regency_code, village.phone, village.email) == (
        "Oelolok", "53.03", "+6281234567890", "tenun@oelolok.example.id")


@pytest.mark.parametrize("changes, message", [
    ({"phone": "12345"}, "Masukkan nomor telepon Indonesia, misalnya 0812 3456 7890."),
    ({"phone": "+1 202 555 0143"}, "Masukkan nomor telepon Indonesia"),
    ({"slug": "desa-lama"}, "Alamat web “desa-lama” sudah dipakai desa lain."),
    ({"slug": "Desa Baru!"}, "Gunakan huruf kecil, angka, dan tanda hubung saja."),
])
def test_bad_village_fields_are_refused(app, changes, message):
    make_village(slug="desa-lama")
    response = _new_village(person(app, make_user("verifier")), **changes)
    assert response.status_code == 422
    assert message in text_of(response)
    assert count(Village) == 1


def test_suspending_a_village_hides_its_products_everywhere(app):
    product = make_sellable_food()
    village = db.session.get(Village, product.village_id)
    slug = village.slug
    v, shopper = person(app, make_user("verifier")), person(app)
    assert_visible(shopper, product, slug)

    page = v.get("/kantor/desa")
    token = csrf_token(page.get_data(as_text=True))
    response = v.post(f"/kantor/desa/{village.id}/tangguhkan", data={"csrf_token": token})
    assert response.status_code == 303
    assert "Desa ditangguhkan: produknya disembunyikan." in text_of(follow(v, response))
    assert fresh(Village, village.id).active is False
    assert_hidden(shopper, product, slug)

    response = v.post(f"/kantor/desa/{village.id}/aktifkan", data={"csrf_token": token})
    assert response.status_code == 303
    assert fresh(Village, village.id).active is True
    assert_visible(shopper, product, slug)


def test_suspending_needs_the_office(app):
    product = make_sellable_food()
    member = make_user("village_member", db.session.get(Village, product.village_id))
    m = person(app, member)
    page = m.get("/")
    response = m.post(f"/kantor/desa/{product.village_id}/tangguhkan",
                      data={"csrf_token": csrf_token(page.get_data(as_text=True))})
    assert response.status_code == 403
    assert fresh(Village, product.village_id).active is True
