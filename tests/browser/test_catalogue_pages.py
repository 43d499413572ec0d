"""The catalogue on a phone (360 × 780), in real Chromium: products within the first screen of
the home page, the price range and "clear filters", a search with a typo."""
import re

PHONE = {"width": 360, "height": 780}


def _rupiah(text):
    return int(text.replace("Rp", "").replace(".", "").strip())


def test_home_shows_products_within_a_phones_first_screen(journey):
    j = journey("catalogue-360px", **PHONE)
    page = j.goto("/")
    card = page.locator("ul.grid li.card").first
    photo = card.locator("img, .nophoto").first.bounding_box()
    name = card.locator(".card-name").bounding_box()
    assert photo["y"] >= 0 and name["y"] + name["height"] <= PHONE["height"], (photo, name)
    # The programme's story is still there, after the products.
    assert page.locator("#programme").bounding_box()["y"] > photo["y"]


def test_price_range_clear_filters_and_a_search_with_a_typo_on_a_phone(journey):
    j = journey("catalogue-filters-360px", **PHONE)
    # Not "/produk" itself first: headless Chromium then ignores the form on that page once it
    # is revalidated (304) after "clear filters" (the same at commit f5d965d, before this work).
    page = j.goto("/produk?urut=newest")
    page.fill("#f-min", "50rb")
    page.fill("#f-max", "Rp 150.000")
    j.click("form.filters button[type=submit]", "price range")
    prices = [_rupiah(t) for t in page.locator("ul.grid li.card .price").all_inner_texts()]
    assert prices and all(50000 <= p <= 150000 for p in prices), prices
    assert page.input_value("#f-min") == "50000"
    j.click("text=Hapus filter", "filters cleared")
    assert page.url.endswith("/produk") and page.input_value("#f-min") == ""
    page.fill("#f-min", "murah")
    j.click("form.filters button[type=submit]", "price not understood")
    assert "bukan jumlah rupiah" in j.text() and page.locator("ul.grid li.card").count() > 0

    page.fill("#site-q", "kopii")
    j.press("Enter", "search with a typo")
    assert "jadi ini hasil untuk “kopi”" in j.text()
    names = page.locator("ul.grid li.card .card-name").all_inner_texts()
    assert names and all(re.search(r"\bKopi\b", n) for n in names[:3]), names
