"""The public proof of legality (``/verifikasi/<code>``), its QR label and the label sheets."""
import re
from datetime import date, datetime, timedelta, timezone

import pytest
import segno
from sqlalchemy import select

from storefront.clock import today_wita
from storefront.extensions import db
from storefront.legality.models import Certificate
from storefront.villages.models import Village

from .factories import make_certificate, make_certified_village, make_product, make_user, sign_in

VERIFIED_AT = datetime(2026, 2, 27, 1, 30, tzinfo=timezone.utc)  # 27 Feb 2026 09:30 WITA
VERIFIER = "Ibu Veronika Bria, Dinas Koperasi NTT"
BUY_WORDS = ("Rp ", "keranjang", "Keranjang", "cart", "Cart", "Beli", "Buy", "checkout", "Checkout")


def english(client):
    assert client.get("/bahasa/en").status_code == 303
    return client


def _stamp(*certificates):
    for certificate in certificates:
        certificate.verified_by_name = VERIFIER
        certificate.verified_at = VERIFIED_AT
    db.session.commit()


def _nib(village):
    return db.session.scalars(select(Certificate).where(
        Certificate.village_id == village.id, Certificate.kind == "nib")).one()


def food(village, *, pirt=None, halal=None, **fields):
    """A coffee with its own P-IRT (valid until 30 June 2030) and halal certificate."""
    product = make_product(village, "kopi", **fields)
    papers = {
        "pirt": make_certificate(village, "pirt", [product],
                                 **{"expires_on": date(2030, 6, 30), **(pirt or {})}),
        "halal": make_certificate(village, "halal", [product], **(halal or {})),
    }
    return product, papers


def item_for(html, number):
    """The list item of the papers list that shows ``number``."""
    items = [chunk for chunk in html.split("<li") if number in chunk]
    assert len(items) == 1, f"{number} is listed {len(items)} times"
    return items[0].split("</li>")[0]


def assert_not_for_sale(html, product):
    # The site-wide header links to the cart; what matters is the page's own content.
    html = html[html.index('<main id="main"'):html.index("</main>")]
    assert "/keranjang/tambah" not in html
    for word in BUY_WORDS:
        assert word not in html, f"a hidden product's proof page shows {word!r}"
    assert f"{product.price_idr:,}".replace(",", ".") not in html
    assert f'href="/produk/{product.slug}"' not in html


# --- a sellable product --------------------------------------------------------------------------

def test_proof_of_a_sellable_product_lists_each_paper_with_issuer_validity_and_verifier(client):
    village = make_certified_village(regency_code="53.09")
    product, papers = food(village)
    nib = _nib(village)
    _stamp(nib, papers["pirt"], papers["halal"])

    html = english(client).get(f"/verifikasi/{product.verification_code}").get_data(as_text=True)
    assert "Sellable" in html and "Not currently verified" not in html
    assert product.name in html and product.verification_code in html
    expected = {
        nib.number: ("Business number (NIB)", "OSS RBA", "no expiry"),
        papers["pirt"].number: ("Home-industry food permit (P-IRT)", "Pemerintah Kabupaten Ngada",
                                "30 June 2030"),
        papers["halal"].number: ("Halal certificate", "BPJPH", "no expiry"),
    }
    for number, (kind, issuer, until) in expected.items():
        item = item_for(html, number)
        assert kind in item, (number, kind)
        assert issuer in item, (number, issuer)
        assert "15 January 2024" in item and until in item, number  # valid from – until
        assert VERIFIER in item, number
        assert "27 Feb 2026" in item and "09:30 WITA" in item, number  # 01:30 UTC, shown in WITA
        assert ">valid<" in item, number


def test_proof_is_in_indonesian_by_default(client):
    village = make_certified_village(regency_code="53.71")
    product, papers = food(village)
    html = client.get(f"/verifikasi/{product.verification_code}").get_data(as_text=True)
    assert '<html lang="id"' in html
    assert "Dapat dijual" in html and "Saat ini tidak terverifikasi" not in html
    item = item_for(html, papers["pirt"].number)
    assert "Pemerintah Kota Kupang" in item  # a city, not a regency
    assert "Diterbitkan oleh" in item and ">berlaku<" in item and "30 Juni 2030" in item


def test_product_page_links_to_its_proof_page(client):
    village = make_certified_village()
    product, _papers = food(village)
    page = client.get(f"/produk/{product.slug}")
    assert page.status_code == 200
    assert f'href="/verifikasi/{product.verification_code}"' in page.get_data(as_text=True)
    proof = client.get(f"/verifikasi/{product.verification_code}").get_data(as_text=True)
    assert f'href="/produk/{product.slug}"' in proof


def test_code_lookup_ignores_case(client):
    village = make_certified_village()
    product, _papers = food(village)
    code = product.verification_code
    assert code == code.upper() and code != code.lower()
    for variant in (code.lower(), code.capitalize(), f"  {code.lower()}"):
        response = client.get(f"/verifikasi/{variant}")
        assert response.status_code == 200, variant
        assert product.name in response.get_data(as_text=True)
        assert client.get(f"/verifikasi/{variant}/label.svg").status_code == 200
    assert client.get(f"/verifikasi/{code[:-1]}").status_code == 404
    assert client.get("/verifikasi/ZZZZ0000").status_code == 404
    assert client.get("/verifikasi/ZZZZ0000/label.svg").status_code == 404


# --- hidden products -------------------------------------------------------------------------------

def _pending_halal(village):
    product, papers = food(village, halal={"status": "pending"})
    return product, papers["halal"], "pending"


def _expired_pirt(village):
    product, papers = food(village, pirt={"expires_on": today_wita() - timedelta(days=1)})
    return product, papers["pirt"], "expired"


def _suspended_village(village):
    product, papers = food(village)
    db.session.get(Village, village.id).active = False
    db.session.commit()
    return product, None, None


@pytest.mark.parametrize("hide", [_pending_halal, _expired_pirt, _suspended_village],
                         ids=["pending-halal", "expired-pirt", "suspended-village"])
def test_proof_of_a_hidden_product_says_not_verified_and_sells_nothing(client, hide):
    village = make_certified_village()
    product, weak_paper, state = hide(village)
    assert client.get(f"/produk/{product.slug}").status_code == 404  # hidden from the shop
    indonesian = client.get(f"/verifikasi/{product.verification_code}").get_data(as_text=True)
    assert "Saat ini tidak terverifikasi" in indonesian and "Dapat dijual" not in indonesian
    assert_not_for_sale(indonesian, product)
    if weak_paper is not None:
        badge = {"pending": ">menunggu<", "expired": ">kedaluwarsa<"}[state]
        assert badge in item_for(indonesian, weak_paper.number)

    response = english(client).get(f"/verifikasi/{product.verification_code}")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert "Not currently verified" in html and "Sellable" not in html
    assert product.name in html
    assert_not_for_sale(html, product)
    if weak_paper is not None:
        item = item_for(html, weak_paper.number)
        assert f">{state}<" in item and ">valid<" not in item
    assert ">valid<" in item_for(html, _nib(village).number)


def test_proof_lists_only_this_products_papers_of_its_own_village(client):
    village = make_certified_village()
    product, papers = food(village)
    rejected = make_certificate(village, "bpom_md", [product], status="rejected")
    revoked = make_certificate(village, "halal", [product], status="revoked")
    sibling, sibling_papers = food(village)  # same village, another product
    other = make_certified_village()
    foreign_pirt = make_certificate(other, "pirt", [product], expires_on=date(2031, 1, 1))
    foreign_halal = make_certificate(other, "halal", [product])

    html = english(client).get(f"/verifikasi/{product.verification_code}").get_data(as_text=True)
    for shown in (_nib(village), papers["pirt"], papers["halal"]):
        item_for(html, shown.number)
    for absent in (rejected, foreign_pirt, foreign_halal, _nib(other),
                   sibling_papers["pirt"], sibling_papers["halal"]):
        assert absent.number not in html, absent
    if revoked.number in html:
        assert ">valid<" not in item_for(html, revoked.number)


def test_proof_lists_every_paper_the_product_page_shows(client):
    village = make_certified_village()
    product, papers = food(village)
    group_gi = make_certificate(village, "geographical_indication")  # for the whole group
    group_mark = make_certificate(village, "trademark")
    shop = client.get(f"/produk/{product.slug}").get_data(as_text=True)
    proof = client.get(f"/verifikasi/{product.verification_code}").get_data(as_text=True)
    for paper in (_nib(village), papers["pirt"], papers["halal"], group_mark, group_gi):
        assert paper.number in shop, paper
        assert paper.number in proof, paper


def test_papers_of_another_village_never_make_a_product_look_verified(client):
    village = make_certified_village()
    product = make_product(village, "kopi")
    other = make_certified_village()
    make_certificate(other, "pirt", [product], expires_on=date(2031, 1, 1))
    make_certificate(other, "halal", [product])
    html = english(client).get(f"/verifikasi/{product.verification_code}").get_data(as_text=True)
    assert "Not currently verified" in html and "Sellable" not in html
    assert_not_for_sale(html, product)


# --- QR labels ------------------------------------------------------------------------------------

_PATH = re.compile(r'<path[^>]*\sd="([^"]+)"')
_COMMAND = re.compile(r"([MmhHvV])\s*(-?\d+(?:\.\d+)?)(?:[ ,](-?\d+(?:\.\d+)?))?")


def svg_modules(svg):
    """The dark modules of a segno-style SVG (one path of horizontal runs), from (0, 0)."""
    match = _PATH.search(svg)
    assert match, "no path in the SVG"
    x = y = 0.0
    dark = set()
    for command, a, b in _COMMAND.findall(match.group(1)):
        a = float(a)
        if command == "M":
            x, y = a, float(b)
        elif command == "m":
            x, y = x + a, y + float(b)
        elif command == "h":
            for column in range(int(round(x)), int(round(x + a))):
                dark.add((column, int(y)))
            x += a
        else:
            raise AssertionError(f"unexpected path command {command}")
    left, top = min(c for c, _r in dark), min(r for _c, r in dark)
    return {(c - left, r - top) for c, r in dark}


def qr_modules(url):
    qr = segno.make(url, error="m")
    return {(c, r) for r, row in enumerate(qr.matrix) for c, value in enumerate(row) if value}


def test_qr_modules_decoder_tells_codes_apart():
    assert svg_modules(segno.make("http://shop.test/verifikasi/AAAA1111", error="m").svg_inline()) \
        == qr_modules("http://shop.test/verifikasi/AAAA1111")
    assert qr_modules("http://shop.test/verifikasi/AAAA1111") != qr_modules("http://shop.test/verifikasi/AAAA1112")


def test_label_svg_encodes_the_proof_url(client):
    village = make_certified_village()
    product, _papers = food(village)
    response = client.get(f"/verifikasi/{product.verification_code.lower()}/label.svg")
    assert response.status_code == 200
    assert response.mimetype == "image/svg+xml"
    body = response.get_data(as_text=True)
    assert body.lstrip().startswith(("<?xml", "<svg")) and "<svg" in body
    expected_url = f"http://shop.test/verifikasi/{product.verification_code}"
    assert svg_modules(body) == qr_modules(expected_url)


def _sheet_products(html):
    return html.count("<svg"), {frozenset(svg_modules(s)) for s in re.findall(r"<svg.*?</svg>", html, re.S)}


def test_label_sheet_lists_every_product_of_the_village_and_nothing_else(app):
    village = make_certified_village()
    sellable, _papers = food(village, name="Kopi Bajawa Siap Jual")
    unpublished = make_product(village, "tenun", name="Tenun Belum Tayang", published=False)
    unverified = make_product(village, "kopi", name="Kopi Belum Berizin")
    other = make_certified_village()
    foreign, _ = food(other, name="Kopi Desa Tetangga")
    mine = (sellable, unpublished, unverified)

    member = app.test_client()
    sign_in(member, make_user("village_member", village))
    office = app.test_client()
    sign_in(office, make_user("verifier"))
    sheets = {
        "portal": member.get("/portal/label"),
        "office": office.get(f"/kantor/desa/{village.id}/label"),
    }
    expected = {frozenset(qr_modules(f"http://shop.test/verifikasi/{p.verification_code}")) for p in mine}
    for where, response in sheets.items():
        assert response.status_code == 200, where
        html = response.get_data(as_text=True)
        for product in mine:
            assert product.name in html, (where, product.name)
            assert f"/verifikasi/{product.verification_code}" in html, (where, product.name)
        assert foreign.name not in html and foreign.verification_code not in html, where
        assert other.name not in html, where
        count, matrices = _sheet_products(html)
        assert count == len(mine), where
        assert matrices == expected, where

    foreign_sheet = office.get(f"/kantor/desa/{other.id}/label").get_data(as_text=True)
    assert foreign.name in foreign_sheet and sellable.name not in foreign_sheet
