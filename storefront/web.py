"""What every page shares: template helpers, error pages, the signed-in user."""
from flask import Response, abort, current_app, render_template, request
from flask_babel import format_date, format_datetime, gettext as _
from flask_wtf.csrf import CSRFError
from sqlalchemy.exc import OperationalError
from werkzeug.exceptions import SecurityError

from .accounts.sessions import load_user as load_session_user
from .clock import to_wita
from .contact import display_phone, whatsapp_number
from .extensions import db, login_manager
from .legality.papers import check_url, kind_label
from .legality.services import status_label
from .media import media_url
from .money import format_idr
from .products.review import review_label
from .release import release_id
from .storage import StorageError
from .upload_forms import too_large_form_page
from .urls import external_url


@login_manager.user_loader
def load_user(user_id):
    """``id:session_token``; a revoked or old-style id is anonymous (accounts/sessions.py)."""
    return load_session_user(user_id)


def _format_wita(moment, fmt="d MMM yyyy HH:mm"):
    """A stored UTC time as NTT reads it: ``29 Nov 2026 12:40 WITA``."""
    return format_datetime(to_wita(moment), fmt) + " WITA" if moment else ""


def _error_page(status, title, message, template="errors/error.html", **context):
    if request.path.startswith("/api/"):
        return {"error": title, "message": message}, status
    return render_template(template, status=status, title=title, message=message, **context), status


#: How long a browser or proxy may keep a static file whose URL names the release.
STATIC_YEAR = "public, max-age=31536000, immutable"


def _too_large_message():
    """What to tell someone whose request Flask refused as too large (413) when no form page of
    its own can say it (upload_forms.py): nothing of it was read or saved."""
    limit = current_app.config["MAX_CONTENT_LENGTH"] or 0
    return _("What you sent is more than the shop can take at once (%(total)s MB), so nothing was saved. "
             "Go back and send less at a time.", total=limit // (1024 * 1024))


def init_app(app):
    login_manager.login_view = "accounts.sign_in"
    login_manager.login_message = None

    app.jinja_env.filters.update(
        idr=format_idr, wita=_format_wita, phone=display_phone, wa=whatsapp_number,
        date=lambda d: format_date(d, "d MMMM yyyy") if d else "",
    )
    app.jinja_env.globals.update(media_url=media_url, kind_label=kind_label, check_url=check_url,
                                 status_label=status_label, public_url=external_url,
                                 review_label=review_label)
    app.jinja_env.trim_blocks = True
    app.jinja_env.lstrip_blocks = True

    @app.url_defaults
    def versioned_static_urls(endpoint, values):
        """Every static URL names the release (``/static/shop.css?v=<release>``): browsers and
        proxies may keep it for a year, since the next release changes every name (nginx serves
        them so, deploy/nginx/storefront.conf; the static route below too)."""
        if endpoint == "static" and "v" not in values:
            values["v"] = release_id(current_app.config)

    @app.after_request
    def cache_versioned_static(response):
        if (request.endpoint == "static" and response.status_code in (200, 304)
                and request.args.get("v") == release_id(current_app.config)):
            response.headers["Cache-Control"] = STATIC_YEAR
        return response

    @app.before_request
    def refuse_nul_bytes():
        """No text we store or search may hold NUL: PostgreSQL refuses it mid-query."""
        values = list(request.args.values()) + list(request.view_args.values() if request.view_args else [])
        if request.method == "POST" and request.mimetype in ("application/x-www-form-urlencoded", "multipart/form-data"):
            values += list(request.form.values())
        if any("\x00" in str(value) for value in values):
            abort(400)

    @app.after_request
    def vary_on_cookie(response):
        # The security headers are set in security_headers.py.
        if response.mimetype == "text/html":
            response.vary.add("Cookie")
        return response

    @app.errorhandler(SecurityError)
    def unknown_host(error):
        # A Host that is not the shop's (TRUSTED_HOSTS): no page is built for it, since a page
        # would link to that host. Plain text, nothing else.
        return Response("400 Bad Request: unknown host\n", status=400, mimetype="text/plain")

    @app.errorhandler(400)
    def bad_request(error):
        return _error_page(400, _("Bad request"), _("The request could not be understood. Please go back and try again."))

    @app.errorhandler(CSRFError)
    def csrf_failed(error):
        return _error_page(400, _("The form has expired"), _("For your security the form could not be sent. Please go back, reload the page and try again."))

    @app.errorhandler(403)
    def forbidden(error):
        return _error_page(403, _("Not allowed"), _("Your account cannot open this page."))

    @app.errorhandler(413)
    def too_large(error):
        # A page whose form sends files shows that form again, the message at its file field.
        if not request.path.startswith("/api/"):
            page = too_large_form_page()
            if page is not None:
                return page
        # Else back to the form it came from (a fresh one: what was typed could not be read).
        rule = request.url_rule
        back = request.path if rule is not None and "GET" in (rule.methods or ()) else None
        return _error_page(413, _("Too large to send"), _too_large_message(), template="errors/too_large.html",
                           back=back)

    @app.errorhandler(404)
    def not_found(error):
        return _error_page(404, _("Page not found"), _("This page does not exist, or the product is not currently for sale."))

    @app.errorhandler(405)
    def method_not_allowed(error):
        return _error_page(405, _("Not allowed"), _("This address does not accept that kind of request."))

    @app.errorhandler(OperationalError)
    def database_down(error):
        db.session.rollback()
        app.logger.error("database unavailable: %s", error)
        return _error_page(503, _("Temporarily unavailable"), _("The shop cannot reach its database right now. Please try again in a minute."),
                           template="errors/unavailable.html")

    @app.errorhandler(StorageError)
    def file_store_down(error):
        db.session.rollback()
        app.logger.error("file store unavailable: %s", error)
        return _error_page(503, _("Temporarily unavailable"),
                           _("The shop cannot reach its store of photos and documents right now. "
                             "Nothing was saved; please try again in a minute."),
                           template="errors/unavailable.html")

    @app.errorhandler(500)
    def server_error(error):
        db.session.rollback()
        return _error_page(500, _("Something went wrong"), _("We could not finish this request. Please try again; if it keeps happening, contact us."))
