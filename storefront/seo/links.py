"""Canonical addresses and language alternates (``hreflang``) of the public pages.

A public page has one address per language: Indonesian, the shop's first language, at the plain
address (``/produk/kopi-bajawa``), English with ``?lang=en`` (``storefront/i18n.py``). A page
names its own language's address as canonical, lists both as alternates, and the Indonesian one
as ``x-default``. Other query parameters are dropped from these links, except the few that make
another page (a category of the catalogue, a page number); sort orders, price ranges and
cursors do not.
"""
from typing import NamedTuple

from flask import current_app, has_request_context, request

from ..i18n import LANG_PARAM, explicit_language
from ..numbers import whole_number
from ..urls import external_url

#: The public pages (endpoint) that carry canonical and ``hreflang`` links, and the query
#: parameters that make another page of them (kept in those links; every other one is dropped).
CANONICAL_PARAMS = {
    "catalog.home": (),
    "catalog.product_list": ("kategori", "kabupaten", "desa", "halal", "page"),
    "catalog.product_detail": (),
    "villages.village_list": ("kabupaten", "page"),
    "villages.village_detail": ("page",),
    "pages.show": (),
    "impact.public": (),
}


class PageLinks(NamedTuple):
    #: This page's own address in its language.
    canonical: str
    #: (hreflang, address): each language, then ``x-default``.
    alternates: list


def _kept(endpoint, args):
    kept = {}
    for name in CANONICAL_PARAMS[endpoint]:
        value = (args.get(name) or "").strip()
        if name == "page" and whole_number(value, minimum=2) is None:
            continue  # page 1 is the plain address; anything else is no page at all
        if value:
            kept[name] = value
    return kept


def with_language(url, language):
    """``url`` (the page in the shop's first language) as the page in ``language``."""
    if language == current_app.config["BABEL_DEFAULT_LOCALE"]:
        return url
    return f"{url}{'&' if '?' in url else '?'}{LANG_PARAM}={language}"


def language_url(endpoint, values, language):
    """The absolute address of the page in ``language`` (on ``PUBLIC_URL``)."""
    # None, not absent: keep_language below must not add this request's ``?lang=``.
    return with_language(external_url(endpoint, **values, **{LANG_PARAM: None}), language)


def page_links(endpoint, view_args, args, language):
    """``PageLinks`` of the page ``endpoint`` shows for ``view_args`` and query ``args``."""
    config = current_app.config
    values = {**(view_args or {}), **_kept(endpoint, args)}
    alternates = [(lang, language_url(endpoint, values, lang)) for lang in config["LANGUAGES"]]
    alternates.append(("x-default", language_url(endpoint, values, config["BABEL_DEFAULT_LOCALE"])))
    return PageLinks(language_url(endpoint, values, language), alternates)


def current_page_links(language):
    """The ``PageLinks`` of the page being rendered, or None for a page that has none (not public,
    not a GET)."""
    if not has_request_context() or request.method != "GET" or request.endpoint not in CANONICAL_PARAMS:
        return None
    return page_links(request.endpoint, request.view_args, request.args, language)


def keep_language(endpoint, values):
    """On a page whose address names its language (``?lang=en``), links to the other public
    pages name it too, so a visitor (or a crawler) who came by that address stays in it."""
    if endpoint in CANONICAL_PARAMS and LANG_PARAM not in values and has_request_context():
        chosen = explicit_language(request.args, current_app.config)
        if chosen:
            values[LANG_PARAM] = chosen
