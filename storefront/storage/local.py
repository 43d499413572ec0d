"""Files in a folder of this machine (one web server, development, tests)."""
import os
import secrets
from datetime import datetime, timezone
from pathlib import Path

from flask import abort, send_file

from .base import FileMissing, Storage, StorageError, StoredFile, check_key


class LocalStorage(Storage):
    def __init__(self, root):
        self.root = Path(root)

    def _path(self, key):
        return self.root / check_key(key)

    def put(self, key, data, content_type="application/octet-stream"):
        path = self._path(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        # Written aside and renamed: a reader never sees half a file.
        partial = path.with_name(f".{path.name}.{secrets.token_hex(4)}")
        partial.write_bytes(data)
        os.replace(partial, path)

    def get(self, key):
        try:
            return self._path(key).read_bytes()
        except (FileNotFoundError, IsADirectoryError, NotADirectoryError):
            raise FileMissing(key) from None

    def exists(self, key):
        return self._path(key).is_file()

    def delete(self, key):
        self._path(key).unlink(missing_ok=True)

    def list(self, prefix=""):
        if not self.root.is_dir():
            return
        found = []
        for folder, _dirs, names in os.walk(self.root):
            for name in names:
                if name.startswith("."):
                    continue  # a file being written
                path = Path(folder, name)
                key = path.relative_to(self.root).as_posix()
                if key.startswith(prefix):
                    found.append((key, path))
        for key, path in sorted(found):
            try:
                stat = path.stat()
            except FileNotFoundError:
                continue  # deleted while listing
            yield StoredFile(key, stat.st_size, datetime.fromtimestamp(stat.st_mtime, timezone.utc))

    def response(self, key, *, mimetype, max_age=None, download_name=None):
        path = self._path(key)
        if not path.is_file():
            abort(404)
        return send_file(path, mimetype=mimetype, max_age=max_age, download_name=download_name,
                         conditional=True)

    def check(self):
        try:
            self.root.mkdir(parents=True, exist_ok=True)
            probe = self.root / f".check-{secrets.token_hex(4)}"
            probe.write_bytes(b"ok")
            probe.unlink()
        except OSError as error:
            raise StorageError(f"the folder {self.root} cannot be written: {error.strerror or error}") from None

    def describe(self):
        return f"folder {self.root}"
