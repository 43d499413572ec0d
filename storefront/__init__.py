"""The NTT village-products storefront."""
from pathlib import Path

from flask import Flask
from werkzeug.middleware.proxy_fix import ProxyFix

ROOT = Path(__file__).resolve().parent.parent


def create_app(config=None):
    """Build the app. ``config`` overrides settings from the environment (tests)."""
    app = Flask(
        __name__,
        instance_path=str(ROOT / "instance"),
        template_folder=str(ROOT / "templates"),
        static_folder=str(ROOT / "static"),
    )
    from .config import load_config

    load_config(app, config)
    from . import observability

    observability.init_app(app)  # request ids, logs, /metrics (docs/observability.md)
    if app.config["STOREFRONT_ENV"] == "production":
        from .startup_checks import check_production

        check_production(app)  # what the settings point at: translations, storage, Redis

    from . import numbers

    numbers.init_app(app)  # the <id:...> converter, before any blueprint's rules are added

    from .extensions import csrf, db, login_manager, migrate

    db.init_app(app)
    migrate.init_app(app, db, directory=str(ROOT / "migrations"), render_as_batch=True,
                     compare_type=True)
    csrf.init_app(app)
    login_manager.init_app(app)

    from . import access_log, forms, i18n, security_headers, web
    from .cart import models as _cart_models  # noqa: F401  (tables known to migrations)
    from .checkout import models as _checkout_models  # noqa: F401
    from .listing import models as _listing_models  # noqa: F401
    from .orders import models as _order_models  # noqa: F401
    from .outbox import models as _outbox_models  # noqa: F401
    from .payments import models as _payment_models  # noqa: F401
    from .settlement import models as _settlement_models  # noqa: F401

    access_log.init_app(app)
    i18n.init_app(app)
    web.init_app(app)
    forms.init_app(app)  # the error summary of refused forms
    security_headers.init_app(app)

    from . import ratelimit
    from .accounts import sessions as account_sessions

    ratelimit.init_app(app)  # Flask-Limiter; Redis when REDIS_URL is set
    account_sessions.init_app(app)  # idle and absolute session timeouts

    from . import health, media, office, portal
    from .accounts import routes as accounts
    from .api import routes as api
    from .cart import routes as cart
    from .catalog import routes as catalog
    from .checkout import routes as checkout
    from .feeds import routes as feeds
    from .impact import routes as impact
    from .legality import routes as legality
    from .pages import routes as pages
    from .payments import routes as payments
    from .seo import routes as seo
    from .villages import routes as villages

    for blueprint in (health.bp, media.bp, catalog.bp, villages.bp, api.bp, accounts.bp, legality.bp,
                      portal.bp, office.bp, cart.bp, checkout.bp, payments.bp, feeds.bp, impact.bp, pages.bp,
                      seo.bp):
        app.register_blueprint(blueprint)
    csrf.exempt(api.bp)
    csrf.exempt(payments.bp)  # Stripe signs its requests; there is no browser session to forge

    from . import cli, jobs
    from .catalog import caching

    app.extensions["housekeeping_jobs"] = jobs.HOUSEKEEPING

    cli.init_app(app)
    caching.init_app(app)  # page bodies and counts shared by the workers (Redis) or per process
    hops = app.config["TRUSTED_PROXY_HOPS"]
    if hops:
        # Outermost: the client's address and scheme as the trusted proxies saw them. With no
        # hops configured, X-Forwarded-* headers are ignored (a client could write any).
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops, x_host=0, x_port=0, x_prefix=0)
    return app
