"""``manifest.json``: what a set holds, written last, read first.

It names every file of the set with its size and SHA-256, and tells when the set was made (UTC),
by which release of the shop, at which Alembic revision, from which kind of database, and how
many rows each table had. It never holds a secret: no database URL, password, key or bucket
credential is written into it.
"""
import json
import re
from dataclasses import asdict, dataclass

from . import BackupError
from .database import FILES, Snapshot
from .places import MissingInSet, sha256_of

NAME = "manifest.json"
FORMAT = 1
#: The names a set may hold: its database file, and files of the two storage areas. Checked
#: before a name is opened, so a tampered manifest cannot reach outside the set.
_NAME = re.compile(r"^(database\.(dump|sqlite3)|(media|scans)/[A-Za-z0-9_-][A-Za-z0-9._-]*"
                   r"(/[A-Za-z0-9_-][A-Za-z0-9._-]*)*)$")
_SHA256 = re.compile(r"^[0-9a-f]{64}$")


@dataclass(frozen=True)
class Entry:
    """One file of a set: its name in the set, size in bytes and SHA-256 (hex)."""

    name: str
    size: int
    sha256: str

    @property
    def area(self):
        """"media" or "scans" for a stored file; None for the database."""
        area, slash, _key = self.name.partition("/")
        return area if slash else None

    @property
    def key(self):
        return self.name.partition("/")[2]


@dataclass
class Manifest:
    created_at: str
    release: str
    snapshot: Snapshot
    files: list
    #: Files the database named that were gone from storage while the backup ran.
    missing: list

    @property
    def database(self):
        return next(entry for entry in self.files if entry.area is None)

    def stored(self, area=None):
        return [entry for entry in self.files if entry.area is not None and area in (None, entry.area)]

    def to_json(self):
        document = {
            "format": FORMAT,
            "created_at": self.created_at,
            "release": self.release,
            "alembic_revision": self.snapshot.revision,
            "database": {"kind": self.snapshot.kind, "file": FILES[self.snapshot.kind],
                         "version": self.snapshot.version},
            "counts": self.snapshot.counts,
            "storage": {area: {"files": len(self.stored(area)),
                               "bytes": sum(entry.size for entry in self.stored(area))}
                        for area in ("media", "scans")},
            "missing_files": self.missing,
            "files": [asdict(entry) for entry in self.files],
        }
        return json.dumps(document, indent=1, sort_keys=False).encode() + b"\n"


def write(place, manifest):
    place.write_last(NAME, manifest.to_json())


def read(place):
    """The set's manifest, checked for shape; ``BackupError`` says what is wrong."""
    try:
        with place.open(NAME) as stream:
            raw = stream.read()
    except MissingInSet:
        raise BackupError(f"{place.describe()} has no {NAME}: it is not a backup set, or its backup did not "
                          "finish" + _sets_hint(place)) from None
    try:
        document = json.loads(raw)
        return _parse(document)
    except (ValueError, KeyError, TypeError, AttributeError) as error:
        raise BackupError(f"{place.describe()}/{NAME} cannot be read ({error}): the set is damaged") from None


def _sets_hint(place):
    sets = [name for name in place.sets() if place.child(name).exists(NAME)]
    return f"; it holds {len(sets)} set(s): name one, e.g. the newest, {place.child(sets[-1]).describe()}" \
        if sets else ""


def _parse(document):
    if document.get("format") != FORMAT:
        raise ValueError(f"format {document.get('format')!r}, this shop reads format {FORMAT}")
    database = document["database"]
    if database["kind"] not in FILES:
        raise ValueError(f"unknown database kind {database['kind']!r}")
    files = []
    for item in document["files"]:
        entry = Entry(str(item["name"]), int(item["size"]), str(item["sha256"]))
        if not _NAME.match(entry.name) or ".." in entry.name.split("/") or not _SHA256.match(entry.sha256):
            raise ValueError(f"a file entry is not valid: {entry.name!r}")
        files.append(entry)
    names = [entry.name for entry in files if entry.area is None]
    if names != [FILES[database["kind"]]]:
        raise ValueError(f"the {database['kind']} database file is not listed once")
    counts = {str(table): int(n) for table, n in document["counts"].items()}
    snapshot = Snapshot(database["kind"], document.get("alembic_revision"), counts,
                        database.get("version", ""))
    return Manifest(document["created_at"], document.get("release", ""), snapshot, files,
                    list(document.get("missing_files", [])))


def check_file(place, entry, stream=None):
    """Raise ``BackupError`` unless ``entry``'s file in ``place`` (or ``stream``) is whole and
    unchanged."""
    if stream is None:
        with place.open(entry.name) as opened:
            digest, size = sha256_of(opened)
    else:
        digest, size = sha256_of(stream)
    if size != entry.size or digest != entry.sha256:
        raise BackupError(f"{entry.name} in {place.describe()} does not match its checksum in {NAME} "
                          f"({size} bytes, expected {entry.size}): the set is damaged")
