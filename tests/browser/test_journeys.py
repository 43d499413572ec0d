"""The shop used as people use it: buyers, a village member, the office, in real Chromium."""
import re

import pytest

from .conftest import ADMIN, RATOGESA, VERIFIER, serious_problems, sign_in
from .language import assert_speaks

BUYER = {"name": "Yohana Bria", "email": "yohana@contoh.id", "phone": "0812 3456 7890",
         "province": "Bali", "regency": "Kota Denpasar", "district": "Denpasar Barat",
         "village_ward": "Dauh Puri", "postal_code": "80113", "street": "Jl. Gajah Mada 1"}
PRICE = re.compile(r"Rp \d{1,3}(\.\d{3})+")


def add_from_village(j, slug):
    """Open the village's page and put its first product in stock into the cart; its name."""
    j.goto(f"/desa/{slug}")
    for href in j.page.locator("ul.grid li.card a").evaluate_all("links => links.map(a => a.getAttribute('href'))"):
        j.goto(href)
        if j.page.locator("form.buy").count():
            name = j.page.inner_text("h1")
            j.click("form.buy button[type=submit]", f"added {name}")
            assert "/keranjang" in j.page.url
            return name
    raise AssertionError(f"nothing in stock at {slug}")


def check_out(j, method="bank_transfer"):
    j.goto("/keranjang")
    j.click('main a[href="/checkout"]', "checkout")
    for field, value in BUYER.items():
        box = j.page.locator(f"[name={field}]")
        if box.evaluate("e => e.tagName") == "SELECT":
            box.select_option(label=value)
            if field != "village_ward":  # "Choose" has the server narrow the next list (no JavaScript)
                j.click(f"button[name=pick][value={field}]", f"chose {field}")
        else:
            box.fill(value)
    j.page.locator(f"input[name=payment_method][value={method}]").check()
    j.click("button[value=quote]", "shipping quoted")
    j.click("button[value=place]", "order placed")
    assert re.search(r"/pesanan/NTT-\d{6}-[A-Z0-9]{6}\?kunci=", j.page.url), j.page.url
    return j.page.url.split("/pesanan/")[1].split("?")[0]


@pytest.mark.parametrize("width", [1024, 360], ids=["desktop", "phone-360px"])
def test_a_buyer_browses_filters_searches_and_buys_from_two_villages(journey, width):
    villages = {1024: ("oelua-rote-barat-laut", "alor-kecil-alor-barat-laut"),
                360: ("lambanapu-kambera", "lewokluok-demon-pagong")}[width]
    j = journey(f"buyer-{width}px", width=width, height=780 if width == 360 else 800)
    j.goto("/")
    j.goto("/produk")
    j.page.select_option("#f-category", "kopi")
    j.click("form.filters button[type=submit]", "filtered by category")
    assert "kategori=kopi" in j.page.url and j.page.locator("ul.grid li.card").count() > 0
    j.page.fill("#site-q", "kopi")
    j.press("Enter", "search kopi")
    assert "Kopi" in j.text()
    names = [add_from_village(j, slug) for slug in villages]
    cart = j.goto("/keranjang")
    for name in names:
        assert name in j.text()
    if width == 360:  # nothing may stick out sideways on a small phone
        assert cart.evaluate("document.documentElement.scrollWidth") <= 360

    number = check_out(j)

    page = j.text()
    assert number in page and "Bank NTT" in page and page.count("Paket dari") == 2
    for name in names:
        assert name in page
    assert PRICE.search(page)


def _rupiah(text):
    return int(text.replace("Rp", "").replace(".", "").strip())


def _paid_to_villages(j):
    j.goto("/dampak")
    return _rupiah(j.page.locator("dl.facts dd").first.inner_text())


def test_money_goes_from_a_buyer_through_the_village_back_to_the_village(journey):
    """A buyer pays by transfer, the office records it, the village ships, the buyer confirms
    receipt, the office pays the village; its statement and the public report show it."""
    buyer = journey("order-to-ratogesa")
    bought = [add_from_village(buyer, "ratogesa-golewa"), add_from_village(buyer, "watublapi-hewokloang")]
    number = check_out(buyer)
    order_page = buyer.page.url
    total = _rupiah(buyer.page.locator("dt", has_text="Total").locator("xpath=following-sibling::dd[1]")
                    .first.inner_text())

    office = journey("office-records-the-transfer")
    sign_in(office, ADMIN)
    office.goto("/kantor/pesanan")
    waiting = office.page.locator("li", has_text=number).filter(has=office.page.locator("input[name=amount]"))
    waiting.locator("input[name=amount]").fill(str(total))
    waiting.locator("input[name=received_on]").fill(buyer.page.evaluate("new Date().toISOString().slice(0, 10)"))
    waiting.locator("input[name=reference]").fill("BNTT20261203001")
    office.click(waiting.get_by_role("button", name="Catat transfer"), "transfer recorded")

    member = journey("ratogesa-ships")
    sign_in(member, RATOGESA)
    member.goto("/portal/pesanan")
    member.click(member.page.locator("a", has_text=number), "parcel")
    assert bought[0] in member.text() and bought[1] not in member.text()  # only its own line
    for button in ("Terima pesanan", "Tandai sudah dikemas"):
        member.click(member.page.get_by_role("button", name=button), button)
    # Shipped without choosing the courier: the page comes back with the problem at the top,
    # focused and in sight, linked to the field, and the typed number still there.
    member.page.fill("input[name=tracking_number]", "JNE0123456789")
    member.click(member.page.get_by_role("button", name="Tandai sudah dikirim"), "ship refused: no courier")
    summary = member.page.locator("#error-summary")
    assert "Pilih kurir" in summary.inner_text()
    assert member.page.evaluate("document.activeElement.id") == "error-summary"
    assert summary.bounding_box()["y"] < 800  # visible without scrolling
    assert member.page.input_value("input[name=tracking_number]") == "JNE0123456789"
    summary.get_by_role("link").first.click()
    assert member.page.evaluate("document.activeElement.name") == "courier"
    member.page.select_option("select[name=courier]", "JNE")
    member.click(member.page.get_by_role("button", name="Tandai sudah dikirim"), "shipped")
    assert "JNE0123456789" in member.text()
    member.goto("/portal/keuangan")
    assert number in member.text()  # pending: paid by the buyer, not delivered yet

    buyer.goto(order_page)
    assert "JNE0123456789" in buyer.text() and "dikirim" in buyer.text()
    buyer.click(buyer.page.get_by_role("button", name="Pesanan diterima"), "parcel received")
    assert "sampai di pembeli" in buyer.text()
    assert buyer.page.get_by_role("button", name="Pesanan diterima").count() == 0
    member.goto("/portal/pesanan")
    member.click(member.page.locator("a", has_text=number), "parcel after the buyer confirmed")
    assert "pembeli mengonfirmasi paket sudah sampai" in member.text()

    before = _paid_to_villages(office)
    office.goto("/kantor/keuangan")
    office.click(office.page.get_by_role("button", name="Buat kelompok pembayaran"), "payout batch built")
    payout = office.page.locator("ul.rows > li", has_text="Ratogesa")
    amount = _rupiah(PRICE.search(payout.inner_text()).group(0))
    payout.locator("input[name=bank_reference]").fill("FT26120300042")
    office.click(payout.get_by_role("button", name="Tandai sudah dibayar"), "payout marked paid")
    assert "FT26120300042" in office.text()

    member.goto("/portal/keuangan")
    statement = member.text()
    assert "FT26120300042" in statement and number in statement
    assert _paid_to_villages(buyer) == before + amount


def test_a_verified_paper_shows_the_product_and_revoking_it_hides_it(journey):
    # In the demo catalogue this tea of Ratogesa waits for its P-IRT (pending).
    tea, tea_path = "Teh Kulit Kopi (Cascara) Bajawa 100 g", "/produk/teh-cascara-bajawa-100g"
    shopper = journey("shopper-looks-for-tea")
    shopper.goto("/cari?q=cascara")
    assert tea not in shopper.text()
    assert shopper.page.goto(tea_path).status == 404

    verifier = journey("verifier")
    sign_in(verifier, VERIFIER)
    verifier.goto("/kantor/antrean")
    verifier.click(verifier.page.locator("a", has_text="3105309050258"), "paper under review")
    verifier.click(verifier.page.get_by_role("button", name="Verifikasi"), "verified")

    shopper.goto("/cari?q=cascara")
    shopper.click(shopper.page.locator("ul.grid li.card a", has_text=tea), "tea on sale")
    assert shopper.page.url.endswith(tea_path) and shopper.page.locator("form.buy").count() == 1

    verifier.page.locator("form[action$='/cabut'] textarea").fill("Izin dicabut oleh dinas kabupaten.")
    verifier.click(verifier.page.locator("form[action$='/cabut'] button[type=submit]"), "revoked")

    assert shopper.page.goto(tea_path).status == 404
    shopper.goto("/cari?q=cascara")
    assert tea not in shopper.text()


def test_a_buyer_switches_to_english_and_back(journey):
    j = journey("languages")
    j.goto("/produk")
    assert_speaks(j.page, "id")
    first_price = PRICE.search(j.text()).group(0)
    j.click(j.page.get_by_role("link", name="English"), "english catalogue")
    assert_speaks(j.page, "en")
    assert first_price in j.text()  # "Rp 85.000" in both languages
    j.goto("/keranjang")  # remembered on the next page
    assert_speaks(j.page, "en")
    j.click(j.page.get_by_role("link", name="Bahasa Indonesia"), "back to indonesian")
    assert_speaks(j.page, "id")
    j.goto("/desa")
    assert_speaks(j.page, "id")


def tab_to(page, selector, limit=120):
    """Press Tab until the focused element matches ``selector``, as a keyboard user would."""
    for _ in range(limit):
        page.keyboard.press("Tab")
        if page.evaluate("s => document.activeElement && document.activeElement.matches(s)", selector):
            return
    raise AssertionError(f"{selector} cannot be reached with the Tab key")


def test_a_buyer_checks_out_with_the_keyboard_alone(journey):
    j = journey("keyboard-only")
    j.goto("/")
    page = j.page
    tab_to(page, "#site-q")
    page.keyboard.type("madu")
    j.press("Enter", "search madu")
    tab_to(page, "ul.grid li.card a")
    j.press("Enter", "product")
    tab_to(page, "form.buy button")
    j.press("Enter", "added")
    tab_to(page, 'main a[href="/checkout"]')
    j.press("Enter", "checkout")
    for field, value in BUYER.items():
        tab_to(page, f"[name={field}]")
        page.keyboard.type(value)  # a focused select picks the option typed
        if field in ("province", "regency", "district"):  # then "Choose" narrows the next list
            tab_to(page, f"button[name=pick][value={field}]")
            j.press("Enter", f"chose {field}")
    tab_to(page, "input[name=payment_method]")
    page.keyboard.press("Space")
    tab_to(page, "button[value=quote]")
    j.press("Enter", "quoted")
    tab_to(page, "button[value=place]")
    j.press("Enter", "placed")
    assert "/pesanan/NTT-" in page.url and "Bank NTT" in j.text()


def test_the_checks_catch_what_they_are_for(journey):
    """axe-core, as the journeys run it, and the language check do fail on a bad page (else the
    journeys prove nothing)."""
    from .language import untranslated

    j = journey("checks")
    j.page.set_content('<html lang="id"><body><main><img src="x.png"><button></button>'
                       '<p>Tambahkan ke keranjang. Add to cart</p></main></body></html>')
    impacts = {v["id"]: v["impact"] for v in serious_problems(j.page)}
    assert impacts.get("image-alt") == "critical" and impacts.get("button-name") == "critical"
    assert "Add to cart" in untranslated(j.page.inner_text("body"), "id")
    assert untranslated("Tambah ke keranjang", "id") == []
