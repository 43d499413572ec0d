"""Which release of the shop is running: part of every ETag and of every key in the shared cache.

A deploy must not keep browsers, proxies or the shared cache on pages the old code rendered, and
all workers of one deploy (and every server of it) must agree, or each would answer with ETags
and keys of its own. ``RELEASE`` (the setting) names it when the deploy script sets it, e.g. to
the git commit; without it the release is a digest of the files that make the pages: the code,
the templates, the compiled translations and the static files. Same files, same release, on
every worker and server; any change to them, a new one.
"""
import hashlib
from functools import lru_cache
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
#: What a page is made of (relative to the checkout).
SOURCES = ("storefront", "templates", "static")
#: Not part of a release: bytecode caches.
SKIPPED = ("__pycache__",)


@lru_cache(maxsize=1)
def source_digest(root=ROOT):
    """A short digest of every file under ``SOURCES``: paths and contents, in path order.
    About 1.5 MB is read once per process (a few milliseconds)."""
    digest = hashlib.sha256()
    for top in SOURCES:
        for path in sorted((root / top).rglob("*")):
            if not path.is_file() or any(part in SKIPPED for part in path.parts):
                continue
            digest.update(str(path.relative_to(root)).encode() + b"\0")
            digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


def release_id(config):
    """The ``RELEASE`` setting, else ``source_digest()``."""
    return str(config.get("RELEASE") or source_digest())
