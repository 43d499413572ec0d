"""Browser journeys: Debian's Chromium driven by Playwright, against the app served by gunicorn
on loopback with a fresh database holding the demo catalogue.

Skipped, with the reason, where Chromium or Playwright is missing (`.ci/run` installs both).
Every page a journey visits is checked with axe-core and photographed under tests/screenshots/.
"""
import os
import re
import secrets
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from ..gunicorn_server import ROOT, gunicorn
from ..mail_server import free_port
from .language import assert_speaks

CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
SHOTS = ROOT / "tests" / "screenshots"
DEMO_PASSWORD = "desa-demo-ntt"
#: The shapes of the pages axe-core found no serious problem on (``Journey.check``).
_AXE_CHECKED = set()
#: A page's shape: every element with the attributes that axe's rules read, without its text.
_SHAPE = """() => Array.from(document.querySelectorAll('*'), e => [e.tagName, e.id, e.className,
    ...Array.from(e.attributes, a => a.name.startsWith('aria-') || ['role', 'type', 'alt', 'for', 'lang',
    'tabindex', 'href'].includes(a.name) ? a.name + '=' + (a.name === 'href' ? '' : a.value) : '')].join(' ')).join('|')"""
#: Demo accounts (storefront/onboarding/demo): the office's admin and verifier, and two village members.
ADMIN, VERIFIER = "admin@demo.produkdesa-ntt.example", "verifikator@demo.produkdesa-ntt.example"
RATOGESA, WATUBLAPI = "ratogesa@demo.produkdesa-ntt.example", "watublapi@demo.produkdesa-ntt.example"


def _missing():
    if not Path(CHROMIUM).exists():
        return f"Chromium is not installed at {CHROMIUM} (apt-get install chromium; .ci/run does it)"
    try:
        import axe_playwright_python  # noqa: F401
        import playwright  # noqa: F401
    except ImportError as exc:
        return f"{exc.name} is not installed (pip install -r requirements-dev.txt)"
    return None


def pytest_collection_modifyitems(config, items):
    reason = _missing()
    for item in items:
        if "tests/browser/" in str(item.path).replace(os.sep, "/"):
            item.add_marker(pytest.mark.browser)
            if reason:
                item.add_marker(pytest.mark.skip(reason=reason))


@pytest.fixture(scope="session")
def shop(tmp_path_factory):
    """The shop under gunicorn on a free port, on a fresh SQLite database with the demo catalogue."""
    home = tmp_path_factory.mktemp("shop")
    port = free_port()
    env = dict(DATABASE_URL=f"sqlite:///{home / 'shop.db'}", MEDIA_ROOT=str(home / "media"),
               SCAN_ROOT=str(home / "scans"), SECRET_KEY=secrets.token_hex(32), FLASK_APP="wsgi:app",
               STOREFRONT_ENV="development", WEB_CONCURRENCY="2", GUNICORN_THREADS="4",
               PUBLIC_URL=f"http://127.0.0.1:{port}")
    flask = [sys.executable, "-m", "flask"]
    for command in (["db", "upgrade"], ["catalog", "demo"]):
        subprocess.run(flask + command, cwd=ROOT, env=dict(os.environ, **env), check=True, capture_output=True)
    with gunicorn(env, port, home / "gunicorn.log", tries=100) as server:
        yield server.url
    assert "Traceback" not in (home / "gunicorn.log").read_text(), "the server logged an error"


@pytest.fixture(scope="session")
def chromium():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=[
            "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
            "--disable-background-networking", "--disable-component-update", "--disable-sync"])
        yield browser
        browser.close()


@pytest.fixture(scope="session", autouse=True)
def _fresh_screenshots():
    shutil.rmtree(SHOTS, ignore_errors=True)


class Journey:
    """A person in one browser context: every page they reach is checked by axe-core and
    photographed, so a journey proves the pages are usable, not only that they answer."""

    def __init__(self, browser, base, name, width=1024, height=800):
        self.context = browser.new_context(viewport={"width": width, "height": height},
                                           locale="id-ID", base_url=base)
        self.context.set_default_timeout(10_000)
        self.page = self.context.new_page()
        self.base, self.name, self.steps = base, name, 0
        self.errors = []
        self.page.on("pageerror", lambda error: self.errors.append(str(error)))

    def goto(self, path):
        response = self.page.goto(path)
        assert response.status < 400, (path, response.status)
        return self.check(path)

    def click(self, target, label):
        """Click what leads to another page (a locator or a selector), then check that page."""
        locator = self.page.locator(target) if isinstance(target, str) else target
        with self.page.expect_navigation():
            locator.click()
        return self.check(label)

    def press(self, key, label):
        """A key that submits or follows a link (Enter), then check the next page."""
        with self.page.expect_navigation():
            self.page.keyboard.press(key)
        return self.check(label)

    def check(self, label):
        """axe-core on the page as it is now, then a screenshot."""
        from axe_playwright_python.sync_playwright import Axe

        self.page.wait_for_load_state("load")
        # axe-core takes a third of a journey's time; a page of the same shape (the same elements,
        # classes and attributes at the same width: the same template in the same state) was
        # checked already, so it is checked once per test session.
        shape = (self.page.viewport_size["width"], self.page.evaluate(_SHAPE))
        if shape not in _AXE_CHECKED:
            results = Axe().run(self.page)
            bad = [f"{v['id']} ({v['impact']}): {v['help']} — {[n['target'] for n in v['nodes']][:3]}"
                   for v in results.response["violations"] if v["impact"] in ("serious", "critical")]
            assert not bad, f"{self.page.url}: " + "; ".join(bad)
            _AXE_CHECKED.add(shape)
        assert_speaks(self.page, self.page.get_attribute("html", "lang"))
        self.steps += 1
        folder = SHOTS / self.name
        folder.mkdir(parents=True, exist_ok=True)
        slug = re.sub(r"[^a-z0-9]+", "-", label.lower()).strip("-")[:50] or "page"
        self.page.screenshot(path=str(folder / f"{self.steps:02d}-{slug}.png"), full_page=True)
        return self.page

    def text(self):
        return self.page.inner_text("main")

    def close(self):
        assert not self.errors, self.errors
        self.context.close()


@pytest.fixture
def journey(chromium, shop, request):
    opened = []

    def open_journey(name=None, **viewport):
        j = Journey(chromium, shop, name or request.node.name, **viewport)
        opened.append(j)
        return j

    yield open_journey
    for j in opened:
        j.close()


def sign_in(j, email, password=DEMO_PASSWORD):
    j.goto("/masuk")
    j.page.fill("input[name=email]", email)
    j.page.fill("input[name=password]", password)
    j.click("main form button[type=submit]", "signed in")
    assert "/masuk" not in j.page.url, j.text()[:300]
