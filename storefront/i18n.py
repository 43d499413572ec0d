"""Bahasa Indonesia first, English by choice (remembered in a cookie)."""
from flask import Blueprint, current_app, has_request_context, redirect, request
from flask_babel import get_locale

from .extensions import babel
from .urls import safe_next

LANG_COOKIE = "lang"
bp = Blueprint("i18n", __name__)


def locale_for(chosen, config):
    """The language a ``lang`` cookie value asks for, else Indonesian: the shop's default."""
    return chosen if chosen in config["LANGUAGES"] else config["BABEL_DEFAULT_LOCALE"]


def select_locale():
    """The chosen language, else Indonesian (CLI commands and background work too)."""
    chosen = request.cookies.get(LANG_COOKIE) if has_request_context() else None
    return locale_for(chosen, current_app.config)


@bp.get("/bahasa/<code>")
def switch(code):
    """Remember the language for a year and go back where the buyer was."""
    response = redirect(safe_next(request.args.get("next")), code=303)
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
