"""The provincial office (``/kantor``): one blueprint, a module of pages per subject."""
from . import listings, orders, papers, users, villages  # noqa: F401  (each adds its pages to bp)
from .blueprint import bp  # noqa: F401
