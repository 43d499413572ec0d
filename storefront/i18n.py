"""Bahasa Indonesia first, English by choice (remembered in a cookie).

A page's address may also name its language, ``?lang=en`` or ``?lang=id``: that choice is the
request's own and wins over the cookie. It gives each language of a public page an address of
its own, which search engines need (``hreflang`` links, ``storefront/seo/links.py``): a
crawler sends no cookie.
"""
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from flask import Blueprint, current_app, has_request_context, redirect, request
from flask_babel import get_locale

from .extensions import babel
from .urls import safe_next

LANG_COOKIE = "lang"
#: The query parameter that names a page's language for this request alone.
LANG_PARAM = "lang"
bp = Blueprint("i18n", __name__)


def locale_for(chosen, config):
    """The language a ``lang`` cookie value asks for, else Indonesian: the shop's default."""
    return chosen if chosen in config["LANGUAGES"] else config["BABEL_DEFAULT_LOCALE"]


def explicit_language(args, config):
    """The language ``?lang=`` names (one of ``LANGUAGES``), else None."""
    chosen = args.get(LANG_PARAM)
    return chosen if chosen in config["LANGUAGES"] else None


def request_language(config):
    """The language of the current request: its ``?lang=``, else its cookie, else Indonesian."""
    return explicit_language(request.args, config) or locale_for(request.cookies.get(LANG_COOKIE), config)


def select_locale():
    """The chosen language, else Indonesian (CLI commands and background work too)."""
    if not has_request_context():
        return locale_for(None, current_app.config)
    return request_language(current_app.config)


def without_language(target):
    """``target`` without its ``?lang=``: after a switch the cookie's choice must show."""
    parts = urlsplit(target)
    query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if k != LANG_PARAM]
    return urlunsplit(parts._replace(query=urlencode(query)))


@bp.get("/bahasa/<code>")
def switch(code):
    """Remember the language for a year and go back where the buyer was."""
    response = redirect(without_language(safe_next(request.args.get("next"))), code=303)
    if code in current_app.config["LANGUAGES"]:
        response.set_cookie(LANG_COOKIE, code, max_age=365 * 24 * 3600, samesite="Lax",
                            httponly=True, secure=current_app.config.get("SESSION_COOKIE_SECURE", False))
    return response


def current_language():
    return str(get_locale() or "id")


def init_app(app):
    babel.init_app(app, locale_selector=select_locale,
                   default_translation_directories=str(app.root_path + "/translations"))
    app.register_blueprint(bp)
    app.jinja_env.globals["current_language"] = current_language
