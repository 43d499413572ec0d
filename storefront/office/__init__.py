"""The provincial office (``/kantor``): one blueprint, a module of pages per subject."""
from . import finance, impact, listings, orders, pages, papers, users, villages  # noqa: F401  (add pages)
from .blueprint import bp  # noqa: F401
