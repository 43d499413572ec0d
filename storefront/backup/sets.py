"""Taking, checking, restoring and pruning backup sets; ``cli.py`` is a thin layer over these.

The database is dumped FIRST, then the files are copied. The shop writes a file before the row
naming it commits and deletes a file only after the row naming it is gone, so every file a
dumped row names is still in storage when the copy reaches it, except one deleted while the
backup ran (its row was deleted after the dump): the manifest lists those as missing. A file
uploaded after the dump is copied without a row naming it, which is harmless.
"""
import re
import tempfile
from contextlib import contextmanager
from dataclasses import dataclass, field

from ..clock import now_utc
from ..release import release_id
from . import BackupError
from .database import FILES, Snapshot, describe, dump, kind_of, restore, snapshot_now, why_not_empty
from .files import copy_in, copy_out, missing_from_storage
from .manifest import NAME, Entry, Manifest, check_file, read, write
from .places import sha256_of

#: A set's name: its UTC time, then -2, -3 ... if two backups start in the same second.
SET_NAME = re.compile(r"^\d{8}T\d{6}Z(-\d+)?$")


def _new_set(place, now):
    stem = now.strftime("%Y%m%dT%H%M%SZ")
    name, n = stem, 1
    while not place.child(name).is_empty():
        n += 1
        name = f"{stem}-{n}"
    return name


def take_backup(app, engine, place):
    """Write a new set into ``place``: the database, then the files, then the manifest.
    Returns ``(name, set place, manifest)``; a set that fails half-way is removed."""
    now = now_utc()
    name = _new_set(place, now)
    target = place.child(name)
    database_file = FILES[kind_of(engine.url)]
    try:
        with target.writing(database_file) as path:
            snapshot = dump(engine, path)
            with path.open("rb") as stream:
                digest, size = sha256_of(stream)
        entries = [Entry(database_file, size, digest)] + copy_out(app, target)
        missing = sorted(snapshot.named - {entry.name for entry in entries})
        manifest = Manifest(now.strftime("%Y-%m-%dT%H:%M:%SZ"), release_id(app.config), snapshot, entries,
                            missing)
        write(target, manifest)
    except BaseException:
        try:
            target.remove()
        except BackupError:
            pass  # the error that stopped the backup is the one to tell
        raise
    return name, target, manifest


def prune(place, keep):
    """Delete the sets older than the newest ``keep`` finished ones; their names. Only folders
    named like a set are touched, so nothing else kept in ``place`` is deleted."""
    names = sorted(name for name in place.sets() if SET_NAME.match(name))
    finished = [name for name in names if place.child(name).exists(NAME)]
    if len(finished) <= keep:
        return []
    oldest_kept = finished[-keep]
    doomed = [name for name in names if name < oldest_kept]
    for name in doomed:
        place.child(name).remove()
    return doomed


@contextmanager
def _checked(place, manifest):
    """Check every file of the set (size and SHA-256); yields a local path of its database file
    (downloaded into a temporary folder when the set is in a bucket)."""
    with tempfile.TemporaryDirectory(prefix="storefront-restore-") as folder, \
            place.local_copy(manifest.database.name, folder) as path:
        with path.open("rb") as stream:
            check_file(place, manifest.database, stream)
        for entry in manifest.stored():
            check_file(place, entry)
        yield path


def check_set(place):
    """Read the manifest and check every file of the set without restoring; the manifest."""
    manifest = read(place)
    with _checked(place, manifest):
        pass
    return manifest


@dataclass
class Restored:
    manifest: Manifest
    #: The restored database as it is now.
    database: Snapshot
    #: How many files went back into each storage area.
    files: dict
    #: Files the restored rows name that storage does not hold.
    missing: list = field(default_factory=list)


def restore_set(app, engine, place):
    """Restore the set in ``place`` into the empty database of ``engine`` and the app's storage.

    Refuses, before changing anything, when the database is not empty, is of another kind, or the
    set is incomplete or damaged; afterwards checks every table's row count against the manifest."""
    manifest = read(place)
    kind = kind_of(engine.url)
    if manifest.snapshot.kind != kind:
        raise BackupError(f"the set in {place.describe()} is a {manifest.snapshot.kind} backup and cannot go "
                          f"into a {kind} database: restoring across kinds of database is not supported")
    problem = why_not_empty(engine)
    if problem:
        raise BackupError(f"refusing to restore: {problem}; restore only into a new, empty database")
    with _checked(place, manifest) as path:
        restore(engine, path, kind)
    files = copy_in(app, place, manifest.stored())
    after = snapshot_now(engine)
    wrong = [f"{table} {after.counts.get(table)} (expected {n})"
             for table, n in sorted(manifest.snapshot.counts.items()) if after.counts.get(table) != n]
    if wrong:
        raise BackupError(f"the restored {describe(engine.url)} does not hold what the manifest counts: "
                          + ", ".join(wrong))
    return Restored(manifest, after, files, missing_from_storage(app, after.named))
