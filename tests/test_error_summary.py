"""A refused form comes back with its problems listed at the top of the page, focused, each linked
to its field, and with what the person typed still in the fields (issue 17: on a phone, a message
1,200 px below the top looks as if nothing happened)."""
import re

from . import test_portal_orders
from .conftest import csrf_token
from .test_portal_orders import member_client, move, office_marks_paid, parcel_of, text

two_village_order = test_portal_orders.two_village_order  # the fixture: two villages, one paid order


def summary_of(page):
    """The error summary's links as (anchor, text), or None when the page has no summary."""
    found = re.search(r'<div class="error-summary".*?</div>', page, re.S)
    if found is None:
        return None
    links = re.findall(r'<a href="#([^"]+)">(.*?)</a>', found.group(0), re.S)
    return found.group(0), [(anchor, " ".join(label.split())) for anchor, label in links]


def assert_summary_first(page):
    """The summary is the first thing in <main>, focused on load, and says it in the title."""
    main = page.index('<main id="main"')
    assert page.index('class="error-summary"') - main < 200
    assert re.search(r'<div class="error-summary"[^>]*\bautofocus\b', page)
    assert re.search(r"<title>Periksa formulir: ", page)


def test_a_refused_shipment_lists_the_missing_courier_at_the_top_and_keeps_the_number(app, two_village_order):
    ngada, _ = two_village_order["villages"]
    order = two_village_order["order"]
    office_marks_paid(app, order)
    member = member_client(app, ngada)
    parcel = parcel_of(order, ngada)
    move(member, parcel.id, "accepted")
    move(member, parcel.id, "packed")

    answer = move(member, parcel.id, "shipped", courier="", tracking_number="JNE0123456789")

    page = text(answer)
    assert answer.status_code == 422 and parcel_of(order, ngada).status == "packed"
    assert_summary_first(page)
    _, links = summary_of(page)
    assert links == [("courier", "Kurir: Pilih kurir, atau pilih bahwa desa Anda mengantar sendiri paketnya.")]
    assert 'id="courier"' in page and 'aria-invalid="true"' in page
    assert re.search(r'name="tracking_number"[^>]*value="JNE0123456789"', page)


def test_a_decline_without_a_reason_opens_the_reason_with_the_problem_linked(app, two_village_order):
    ngada, _ = two_village_order["villages"]
    order = two_village_order["order"]
    office_marks_paid(app, order)
    member = member_client(app, ngada)
    parcel = parcel_of(order, ngada)

    page = text(move(member, parcel.id, "declined", reason="  "))

    assert_summary_first(page)
    _, links = summary_of(page)
    assert [anchor for anchor, _label in links] == ["reason"]
    assert links[0][1].endswith("Tuliskan alasannya, agar pembeli dan kantor tahu.")
    assert re.search(r"<details open>\s*<summary>Tolak pesanan ini", page)  # the field is not folded away


def test_every_problem_of_a_form_is_listed_once_and_every_link_reaches_its_field(client):
    page = text(client.get("/daftar"))
    assert summary_of(page) is None and "<title>Periksa" not in page

    answer = client.post("/daftar", data={"csrf_token": csrf_token(page), "name": "", "email": "bukan-surel",
                                          "password": "pendek", "confirm": "lain"})

    page = text(answer)
    assert answer.status_code in (200, 422)
    assert_summary_first(page)
    block, links = summary_of(page)
    anchors = [anchor for anchor, _label in links]
    assert "name" in anchors and "email" in anchors and "password" in anchors
    for anchor in anchors:
        assert f'id="{anchor}"' in page, anchor
    assert re.search(r'name="email"[^>]*value="bukan-surel"', page)  # typed values kept
    assert len(re.findall(r"<li>", block)) == len(links)  # no problem without its link

