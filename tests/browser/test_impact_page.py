"""The impact page in a real browser: its charts load under the shop's strict policy for pages
and draw with their own style (each chart file's policy allows exactly its one ``<style>``),
at phone width too; the page passes axe-core and speaks Indonesian."""
import pytest

BRAND = "rgb(122, 46, 29)"  # --brand in static/shop.css, the colour of the bars


@pytest.mark.parametrize("width", [1024, 320])
def test_the_impact_charts_draw_under_the_shops_policy(journey, width):
    j = journey(width=width, height=800)
    refused = []
    j.page.on("console", lambda message: refused.append(message.text)
              if "Content Security Policy" in message.text else None)
    page = j.goto("/dampak")
    assert "Dibayarkan ke desa" in j.text()
    images = page.eval_on_selector_all("main img", "els => els.map(e => [e.complete, e.naturalWidth, e.src])")
    assert len(images) == 2 and all(done and natural > 0 for done, natural, _src in images), images
    assert page.evaluate("document.documentElement.scrollWidth") <= width  # nothing sideways on a phone
    for _done, _natural, src in images:
        page.goto(src)
        bars = page.eval_on_selector_all("rect.rect", "els => els.map(e => getComputedStyle(e).fill)")
        assert bars and set(bars) == {BRAND}, bars  # unstyled, they would be black
    assert not refused, refused
