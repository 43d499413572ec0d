"""Browser journeys: Debian's Chromium driven by Playwright, against the app served by gunicorn
on loopback with a fresh database holding the demo catalogue.

Skipped, with the reason, where Chromium or Playwright is missing (`.ci/run` installs both).
Every page a journey visits is checked with axe-core and photographed under tests/screenshots/.
"""
import fcntl
import os
import re
import secrets
import shutil
from pathlib import Path

import pytest

from storefront import create_app
from storefront.extensions import db

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
#: axe-core's rules that can find a serious or critical problem, the only kind a journey fails on:
#: by axe's own metadata, the rule's impact or one of its checks' is serious or critical, or not
#: known (then the rule runs). The others (regions, landmarks, heading order: moderate at most)
#: took a third of every run, for nothing.
_SERIOUS_RULES = """() => {
    const audit = axe._audit, weak = ['minor', 'moderate'];
    const checks = rule => [...rule.any, ...rule.all, ...rule.none]
        .map(check => audit.data.checks[check.id || check] || {});
    return audit.rules.filter(rule => rule.enabled && !(weak.includes(rule.impact)
        && checks(rule).every(check => weak.includes(check.impact)))).map(rule => rule.id);
}"""
_AXE_RULES = []  # those rules, read from the first page checked
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


def _demo_shop_files(tmp_path_factory):
    """A migrated SQLite database holding the demo catalogue, and its photos: a folder to copy.

    Loading the demo draws its photos and tells months of history (five seconds and more), so it
    is done once per test run, in this process, through the app's own CLI (``flask db upgrade``,
    ``flask catalog demo``; starting ``flask`` twice cost four seconds more): the first xdist
    worker to ask builds it under a lock in the folder the workers of this run share, the others
    wait for it and copy it.
    """
    base = tmp_path_factory.getbasetemp()
    shared = base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base
    folder = shared / "demo-shop"
    with open(shared / "demo-shop.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # released when the file closes
        if not (folder / "ready").exists():
            shutil.rmtree(folder, ignore_errors=True)
            folder.mkdir()
            app = create_app({"STOREFRONT_ENV": "development", "SECRET_KEY": secrets.token_hex(32),
                              "SQLALCHEMY_DATABASE_URI": f"sqlite:///{folder / 'shop.db'}",
                              "MEDIA_ROOT": str(folder / "media"), "SCAN_ROOT": str(folder / "scans")})
            runner = app.test_cli_runner()
            for command in (["db", "upgrade"], ["catalog", "demo"]):
                result = runner.invoke(args=command)
                assert result.exit_code == 0, f"flask {' '.join(command)}: {result.output}{result.exception}"
            with app.app_context():
                db.engine.dispose()
            (folder / "ready").touch()
    return folder


@pytest.fixture(scope="session")
def shop(tmp_path_factory):
    """The shop under gunicorn on a free port, on a fresh SQLite database with the demo catalogue."""
    home = tmp_path_factory.mktemp("shop")
    shutil.copytree(_demo_shop_files(tmp_path_factory), home, dirs_exist_ok=True,
                    ignore=shutil.ignore_patterns("ready"))
    port = free_port()
    env = dict(DATABASE_URL=f"sqlite:///{home / 'shop.db'}", MEDIA_ROOT=str(home / "media"),
               SCAN_ROOT=str(home / "scans"), SECRET_KEY=secrets.token_hex(32), FLASK_APP="wsgi:app",
               STOREFRONT_ENV="development", WEB_CONCURRENCY="2", GUNICORN_THREADS="4",
               PUBLIC_URL=f"http://127.0.0.1:{port}")
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


def serious_problems(page):
    """axe-core's serious and critical findings (violations) on the page as it is now."""
    from axe_playwright_python.base import AXE_SCRIPT

    page.evaluate(AXE_SCRIPT)
    if not _AXE_RULES:
        _AXE_RULES.extend(page.evaluate(_SERIOUS_RULES))
        assert {"color-contrast", "image-alt", "button-name"} <= set(_AXE_RULES), _AXE_RULES
    results = page.evaluate("options => axe.run(options)", {"runOnly": {"type": "rule", "values": _AXE_RULES},
                                                            "resultTypes": ["violations"]})
    return [v for v in results["violations"] if v["impact"] in ("serious", "critical")]


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
        self.page.wait_for_load_state("load")
        # axe-core takes a third of a journey's time; a page of the same shape (the same elements,
        # classes and attributes at the same width: the same template in the same state) was
        # checked already, so it is checked once per test session.
        shape = (self.page.viewport_size["width"], self.page.evaluate(_SHAPE))
        if shape not in _AXE_CHECKED:
            bad = [f"{v['id']} ({v['impact']}): {v['help']} — {[n['target'] for n in v['nodes']][:3]}"
                   for v in serious_problems(self.page)]
            assert not bad, f"{self.page.url}: " + "; ".join(bad)
            _AXE_CHECKED.add(shape)
        assert_speaks(self.page, self.page.get_attribute("html", "lang"))
        self.steps += 1
        folder = SHOTS / self.name
        folder.mkdir(parents=True, exist_ok=True)
        slug = re.sub(r"[^a-z0-9]+", "-", label.lower()).strip("-")[:50] or "page"
        # JPEG: written in half of PNG's time (a third on long pages); the pictures are for people to see.
        self.page.screenshot(path=str(folder / f"{self.steps:02d}-{slug}.jpg"), full_page=True, type="jpeg",
                             quality=85)
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
