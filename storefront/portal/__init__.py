"""The village portal (``/portal``): one blueprint, a module of pages per subject."""
from . import feeds, finance, listings, orders, papers, sales, webhooks  # noqa: F401  (each adds pages to bp)
from .blueprint import bp  # noqa: F401
