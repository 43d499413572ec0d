"""Security headers on every response, and pages that keep working under the strict CSP.

The policy has no 'unsafe-inline', so a ``style=""`` attribute, a ``<style>`` or ``<script>``
block or an ``onclick=`` handler would be silently ignored by the browser: the templates and
every page the access tables reach are checked for them.
"""
import re
from pathlib import Path

import pytest

from storefront import create_app
from storefront.security_headers import FILE_POLICY, HSTS, PAGE_POLICY

from .conftest import PRODUCTION_SETTINGS
from .test_access_matrix import ANON, GET_RULES as PORTAL_GET_RULES, ROLES
from .test_access_public import GET_RULES as PUBLIC_GET_RULES, PublicWorld

ROOT = Path(__file__).resolve().parent.parent
#: A ``<script type="application/ld+json">`` (storefront/seo/structured.py) is a data block that
#: browsers never run, so the CSP neither blocks nor concerns it; any other script is flagged.
INLINE = re.compile(r"""\sstyle\s*=|<style[\s>]|<script(?! type="application/ld\+json">)[\s>]"""
                    r"""|\son[a-z]+\s*=\s*["']|javascript:""", re.I)


def _directives(policy):
    return {part.split()[0]: part.split()[1:] for part in policy.split(";") if part.strip()}


def test_the_page_policy_allows_nothing_inline():
    directives = _directives(PAGE_POLICY)
    assert "'unsafe-inline'" not in PAGE_POLICY and "'unsafe-eval'" not in PAGE_POLICY
    assert directives["default-src"] == ["'self'"]
    assert directives["style-src"] == ["'self'"]
    assert directives["script-src"] == ["'none'"]  # the shop has no JavaScript
    assert directives["img-src"] == ["'self'", "data:"]
    assert directives["frame-ancestors"] == ["'none'"]
    assert directives["object-src"] == ["'none'"]
    assert directives["base-uri"] == ["'self'"]
    # "Place order" by card redirects to Stripe Checkout; browsers check a form's redirects too.
    assert directives["form-action"] == ["'self'", "https://checkout.stripe.com", "https://app.midtrans.com",
                                         "https://app.sandbox.midtrans.com"]


@pytest.mark.parametrize("folder", ["templates", "static"])
def test_no_template_or_static_file_has_inline_style_script_or_handlers(folder):
    offenders = []
    for path in sorted((ROOT / folder).rglob("*")):
        # Mail is never served by the shop (its CSP does not apply), and mail programs want
        # their styles inline: templates/email is not a page.
        if "email" in path.relative_to(ROOT).parts:
            continue
        if path.is_file() and path.suffix in (".html", ".css", ".svg", ".js", ".txt"):
            for number, line in enumerate(path.read_text(errors="replace").splitlines(), 1):
                if INLINE.search(line):
                    offenders.append(f"{path.relative_to(ROOT)}:{number}: {line.strip()[:120]}")
    assert not list((ROOT / "static").rglob("*.js")), "the CSP says script-src 'none'"
    assert not offenders, "inline styles/scripts are blocked by the CSP; use static/shop.css:\n" + "\n".join(offenders)


@pytest.fixture
def failing_app(fresh_app):
    """The test app with one route that fails, answered as a real server would (no propagation)."""
    def boom():
        raise RuntimeError("boom")

    fresh_app.add_url_rule("/_boom", "boom", boom)
    fresh_app.config["PROPAGATE_EXCEPTIONS"] = False
    return fresh_app


def test_every_kind_of_response_carries_the_headers(failing_app):
    client = failing_app.test_client()
    responses = {
        "html": client.get("/"),
        "json": client.get("/api/v1/products"),
        "csv": client.get("/api/v1/products.csv"),
        "404 page": client.get("/produk/tidak-ada"),
        "404 api": client.get("/api/v1/tidak-ada"),
        "405": client.post("/produk"),
        "500": client.get("/_boom"),
        "static": client.get("/static/shop.css"),
        "health": client.get("/healthz"),
        "redirect": client.get("/akun"),
    }
    for response in responses.values():
        response.get_data()  # a streamed body (CSV) must be read while its context is alive
    assert responses["500"].status_code == 500 and responses["404 page"].status_code == 404
    for what, response in responses.items():
        headers = response.headers
        expected = PAGE_POLICY if response.mimetype == "text/html" else FILE_POLICY
        assert headers.get("Content-Security-Policy") == expected, what
        assert headers.get("X-Content-Type-Options") == "nosniff", what
        assert headers.get("Referrer-Policy") == "strict-origin-when-cross-origin", what
        assert headers.get("X-Frame-Options") == "DENY", what
        assert "Strict-Transport-Security" not in headers, f"{what}: HSTS outside production"
    for what in ("html", "404 page", "500"):
        assert responses[what].mimetype == "text/html", what
        assert not INLINE.search(responses[what].get_data(as_text=True)), what


def test_hsts_only_in_production(database_url, tmp_path):
    production = create_app({"TESTING": True, **PRODUCTION_SETTINGS,
                             "SQLALCHEMY_DATABASE_URI": database_url, "MEDIA_ROOT": str(tmp_path)})
    client = production.test_client()
    for path in ("/healthz", "/static/shop.css", "/tidak-ada"):
        assert client.get(path, base_url="https://shop.test").headers.get("Strict-Transport-Security") == HSTS, path


def test_a_view_that_sets_its_own_stricter_policy_keeps_it(fresh_app):
    app = fresh_app

    def scan_like():
        return "x", 200, {"Content-Security-Policy": "default-src 'none'", "X-Frame-Options": "SAMEORIGIN"}

    app.add_url_rule("/_own_policy", "own_policy", scan_like)
    response = app.test_client().get("/_own_policy")
    assert response.headers["Content-Security-Policy"] == "default-src 'none'"
    assert response.headers["X-Frame-Options"] == "SAMEORIGIN"


@pytest.fixture
def world(app, client):
    return PublicWorld(app)


def test_the_private_scan_keeps_its_own_policy(world):
    from .test_access_matrix import MEMBER_A

    response = world.client(MEMBER_A).get(f"/dokumen/scan/{world.scan_a}")
    assert response.status_code == 200
    assert response.headers["Content-Security-Policy"].startswith("default-src 'none'")
    assert response.headers["X-Frame-Options"] == "SAMEORIGIN"


@pytest.mark.parametrize("role", ROLES)
def test_every_page_is_csp_clean_for_every_role(world, role):
    """Every page the two access tables reach, as each role: the CSP header is there and the HTML
    holds nothing the CSP would block (inline style, script, handler, ``javascript:`` URL)."""
    client = world.client(role)
    seen, wrong = 0, []
    for (endpoint, _method), probes in {**PORTAL_GET_RULES, **PUBLIC_GET_RULES}.items():
        for what, values, _expected in probes:
            url = world.url(endpoint, **values(world))
            response = client.get(url)
            body = response.get_data().decode("utf-8", "replace")
            if "Content-Security-Policy" not in response.headers:
                wrong.append(f"{url}: no CSP")
            if response.mimetype == "text/html":
                seen += 1
                match = INLINE.search(body)
                if match:
                    wrong.append(f"{url} ({what}): {match.group(0)!r}")
    assert seen >= (20 if role == ANON else 30)
    assert not wrong, "\n".join(wrong)
