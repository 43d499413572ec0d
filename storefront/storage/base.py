"""The interface both storage backends keep."""
import re
from dataclasses import dataclass
from datetime import datetime

#: Keys are relative names made by the shop: lower-case words, digits, dots, dashes, underscores,
#: with "/" between folders; never absolute, never "..".
_KEY = re.compile(r"^[A-Za-z0-9_-][A-Za-z0-9._-]*(/[A-Za-z0-9_-][A-Za-z0-9._-]*)*$")


class StorageError(RuntimeError):
    """The store could not be reached or refused the operation."""


class FileMissing(StorageError, LookupError):
    """No file under that key."""


@dataclass(frozen=True)
class StoredFile:
    key: str
    size: int
    #: When it was written, in UTC (aware).
    modified: datetime


def check_key(key):
    if not isinstance(key, str) or not _KEY.match(key) or ".." in key.split("/"):
        raise ValueError(f"not a storage key: {key!r}")
    return key


class Storage:
    """What a backend offers. Writes are whole files: a reader sees the old file or the new one."""

    def put(self, key, data, content_type="application/octet-stream"):
        raise NotImplementedError

    def get(self, key):
        """The file's bytes; ``FileMissing`` if there is none."""
        raise NotImplementedError

    def exists(self, key):
        raise NotImplementedError

    def delete(self, key):
        """Remove the file; nothing happens if it is already gone."""
        raise NotImplementedError

    def list(self, prefix=""):
        """Every ``StoredFile`` whose key starts with ``prefix``, in key order."""
        raise NotImplementedError

    def response(self, key, *, mimetype, max_age=None, download_name=None):
        """A Flask response sending the file (404 if it is missing); the caller sets the caching."""
        raise NotImplementedError

    def check(self):
        """Raise ``StorageError`` with a reason if the store cannot be written and read now."""
        raise NotImplementedError

    def describe(self):
        raise NotImplementedError
