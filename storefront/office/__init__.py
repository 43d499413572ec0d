"""The provincial office (``/kantor``): one blueprint, a module of pages per subject."""
from . import (finance, impact, listings, orders, pages, papers, partners, users,  # noqa: F401  (add pages)
               villages)
from .blueprint import bp  # noqa: F401
