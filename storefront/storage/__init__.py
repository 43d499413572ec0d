"""Where the shop keeps its files: product and village photos (``media``, shown to everyone) and
the scans of legality papers and transfer receipts (``scans``, private: served only after the
app's access checks). The database holds keys, never a path on a server's disk.

Two backends behind one interface (``base.Storage``): a folder on this machine
(``STORAGE=local``, the default: ``MEDIA_ROOT`` and ``SCAN_ROOT``) and an S3-compatible object
store (``STORAGE=s3``: Amazon S3, MinIO, Wasabi...), which every web server of a shop with more
than one shares. Nothing is public in the bucket: the app serves both areas itself.
"""
from flask import current_app

from .base import FileMissing, StorageError, StoredFile
from .local import LocalStorage
from .s3 import S3Storage, s3_settings

__all__ = ["FileMissing", "StorageError", "StoredFile", "media_store", "scan_store", "store", "AREAS"]

AREAS = ("media", "scans")
_ROOT_SETTING = {"media": "MEDIA_ROOT", "scans": "SCAN_ROOT"}


def store(area, app=None):
    """The storage of ``area`` ("media" or "scans") under the app's current settings."""
    app = app or current_app
    backend = app.config.get("STORAGE", "local")
    if backend == "s3":
        settings = s3_settings(app.config, area)
    else:
        settings = ("local", app.config[_ROOT_SETTING[area]])
    # Settings are read on every call (tests change them after the app is made); the store
    # itself (an S3 client and its connections) is made once per settings.
    cache = app.extensions.setdefault("storage", {})
    found = cache.get((area, settings))
    if found is None:
        found = S3Storage(*settings[1:]) if backend == "s3" else LocalStorage(settings[1])
        cache[(area, settings)] = found
    return found


def media_store(app=None):
    return store("media", app)


def scan_store(app=None):
    return store("scans", app)

