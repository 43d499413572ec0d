"""The files half of a backup: every file of the media and scan stores, copied through the
storage interface (``media_store()``, ``scan_store()``), so a folder and a bucket are alike.

One file is in memory at a time (photos and scans are at most 20 MB each).
"""
import hashlib
import io
import mimetypes

from ..storage import FileMissing, StorageError, media_store, scan_store
from . import BackupError
from .manifest import Entry, check_file

STORES = {"media": media_store, "scans": scan_store}


def copy_out(app, place):
    """Copy every stored file into ``place`` (as "media/<key>", "scans/<key>"); their entries.

    A file deleted between the listing and its copy is skipped: the rows naming it were deleted
    before it (or were never committed), after the database was dumped."""
    entries = []
    for area, store_of in STORES.items():
        store = store_of(app)
        try:
            for item in store.list():
                try:
                    data = store.get(item.key)
                except FileMissing:
                    continue
                name = f"{area}/{item.key}"
                place.write_bytes(name, data)
                entries.append(Entry(name, len(data), hashlib.sha256(data).hexdigest()))
        except StorageError as error:
            raise BackupError(f"the {area} store cannot be read: {error}") from None
    return entries


def copy_in(app, place, entries):
    """Put every file of ``entries`` from ``place`` back into the app's storage, each checked
    against its checksum first; how many files went into each area."""
    done = {area: 0 for area in STORES}
    stores = {area: store_of(app) for area, store_of in STORES.items()}
    for entry in entries:
        with place.open(entry.name) as stream:
            data = stream.read()
        check_file(place, entry, io.BytesIO(data))
        content_type = mimetypes.guess_type(entry.key)[0] or "application/octet-stream"
        try:
            stores[entry.area].put(entry.key, data, content_type)
        except StorageError as error:
            raise BackupError(f"{entry.name} could not be put back into the {entry.area} store: "
                              f"{error}") from None
        done[entry.area] += 1
    return done


def missing_from_storage(app, names):
    """Which of the set ``names`` ("media/<key>", ...) the app's storage does not hold."""
    held = set()
    for area, store_of in STORES.items():
        held |= {f"{area}/{item.key}" for item in store_of(app).list()}
    return sorted(names - held)



def storage_summary(app):
    """Where each area is kept, for the operator."""
    return ", ".join(f"{area} in {store_of(app).describe()}" for area, store_of in STORES.items())
