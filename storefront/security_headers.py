"""Security headers on every response (OWASP ASVS V14.4).

Pages get a Content-Security-Policy with no 'unsafe-inline' and no script at all: the shop
uses no JavaScript, every style lives in ``static/shop.css`` or ``static/labels.css``, and
templates carry no ``style=""`` attribute, ``<style>``/``<script>`` block or ``on*=`` handler
(``tests/test_security_headers.py`` checks). The one ``<script>`` a page may hold is a
``type="application/ld+json"`` data block (schema.org data for search engines,
``storefront/seo/structured.py``): browsers never run a data block, so ``script-src 'none'``
neither blocks it nor needs to allow it. Everything that is not HTML (JSON, CSV, feeds,
SVG, photos) gets a policy that allows nothing, so a file opened on its own cannot run code.
A view that sets a policy of its own (the private scans) keeps it.
"""

from flask import request

#: The policy of every HTML page. "Place order" by card ends in a redirect to Stripe Checkout or
#: to Midtrans' Snap page (production and sandbox), and browsers hold a form's redirects to
#: form-action too: those pages are allowed there.
PAGE_POLICY = "; ".join((
    "default-src 'self'",
    "img-src 'self' data:",
    "style-src 'self'",
    "script-src 'none'",
    "object-src 'none'",
    "base-uri 'self'",
    "form-action 'self' https://checkout.stripe.com https://app.midtrans.com https://app.sandbox.midtrans.com",
    "frame-ancestors 'none'",
))

#: The policy of everything else: nothing may load, run or frame it.
FILE_POLICY = "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"

#: Two years, subdomains too: sent only in production, where the shop is served over HTTPS.
HSTS = "max-age=63072000; includeSubDomains"


#: View arguments and query parameters that are secrets (reset and invitation links, feed
#: addresses, a guest's private order link): their pages are sent to no one as a referrer.
SECRET_VIEW_ARGS = ("token",)
SECRET_QUERY_ARGS = ("kunci",)


def carries_secret(request):
    """Whether the URL of ``request`` holds a secret."""
    view_args = request.view_args or {}
    return any(name in view_args for name in SECRET_VIEW_ARGS) or any(
        name in request.args for name in SECRET_QUERY_ARGS)


def keep_private(response, request):
    """Pages are stored by no browser or proxy unless their view said they may be
    (``catalog/caching.py`` marks the public catalogue pages): an order, an address, a parcel,
    a webhook secret, a reset link must not stay on a shared phone or in a proxy. A page whose URL
    holds a secret is not sent on as a referrer either."""
    if carries_secret(request):
        response.headers["Referrer-Policy"] = "no-referrer"
        if "Cache-Control" not in response.headers or response.mimetype == "text/html":
            response.headers["Cache-Control"] = "no-store"
    elif response.mimetype == "text/html" and "Cache-Control" not in response.headers:
        response.headers["Cache-Control"] = "no-store"
    return response


def add_security_headers(response):
    """Set the headers a view has not set itself."""
    headers = response.headers
    policy = PAGE_POLICY if response.mimetype == "text/html" else FILE_POLICY
    headers.setdefault("Content-Security-Policy", policy)
    headers.setdefault("X-Content-Type-Options", "nosniff")
    headers.setdefault("Referrer-Policy", "strict-origin-when-cross-origin")
    headers.setdefault("X-Frame-Options", "DENY")  # frame-ancestors for browsers without CSP 2
    headers.setdefault("Cross-Origin-Opener-Policy", "same-origin")
    return response


def init_app(app):
    """Register the headers; HSTS only when the app runs as production."""
    production = app.config.get("STOREFRONT_ENV") == "production"

    @app.after_request
    def security_headers(response):
        keep_private(response, request)
        add_security_headers(response)
        if production:
            response.headers.setdefault("Strict-Transport-Security", HSTS)
        return response
