"""Edge cases of the legality flow found while building it."""
import io
import re
from datetime import timedelta

import pytest
from PIL import Image

from storefront.clock import today_wita
from storefront.extensions import db
from storefront.legality.models import Certificate
from storefront.legality.services import TransitionError, verify_certificate

from .conftest import csrf_token
from .factories import make_certificate, make_certified_village, make_product, make_user, sign_in


def test_an_expired_pending_paper_cannot_be_verified(app):
    village = make_certified_village()
    product = make_product(village, "kopi")
    paper = make_certificate(village, "pirt", [product], status="pending",
                             expires_on=today_wita() - timedelta(days=1))
    with pytest.raises(TransitionError):
        verify_certificate(paper, make_user("verifier"))
    db.session.rollback()
    assert db.session.get(Certificate, paper.id).status == "pending"


def test_a_refused_correction_shows_the_form_again_with_the_reason(app):
    """A failed resubmission rolls back; the page must still render the paper and its reason."""
    village = make_certified_village()
    product = make_product(village, "kopi")
    taken = make_certificate(village, "halal", [product])
    member = make_user("village_member", village)
    verifier = make_user("verifier")
    client = sign_in(app.test_client(), member)
    form = client.get("/portal/dokumen/baru").get_data(as_text=True)
    scan = io.BytesIO()
    Image.new("RGB", (400, 560), "white").save(scan, "PNG")
    scan.seek(0)
    response = client.post("/portal/dokumen/baru", content_type="multipart/form-data", data={
        "csrf_token": csrf_token(form), "kind": "pirt", "number": "P-IRT No. 2105309010001-30",
        "issued_on": "2025-01-10", "expires_on": "2030-01-10", "products": [str(product.id)],
        "scan": (scan, "pirt.png")})
    assert response.status_code == 303
    paper_id = int(re.search(r"/portal/dokumen/(\d+)", response.headers["Location"]).group(1))

    office = sign_in(app.test_client(), verifier)
    page = office.get(f"/kantor/dokumen/{paper_id}").get_data(as_text=True)
    office.post(f"/kantor/dokumen/{paper_id}/tolak", data={"csrf_token": csrf_token(page),
                                                             "reason": "Pindaian buram"})

    form = client.get(f"/portal/dokumen/{paper_id}/ajukan-ulang").get_data(as_text=True)
    assert "Pindaian buram" in form
    response = client.post(f"/portal/dokumen/{paper_id}/ajukan-ulang", data={
        "csrf_token": csrf_token(form), "kind": "pirt", "number": taken.number,
        "issued_on": "2025-01-10", "expires_on": "2030-01-10", "products": [str(product.id)]})
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "sudah terdaftar" in html and "Pindaian buram" in html
    db.session.expire_all()
    assert db.session.get(Certificate, paper_id).status == "rejected"
