"""Where backup sets are kept: a folder (``/var/backups/shop``) or an S3-compatible bucket
(``s3://bucket/prefix``). A place holds files by relative name (``media/kopi-3f9a1c2b-s.jpg``);
``child(name)`` is a set inside it.

Large files never pass through memory whole: the database file is written to a local path and
uploaded in parts, and read back the same way.
"""
import hashlib
import shutil
import tempfile
from contextlib import closing, contextmanager
from pathlib import Path

from . import BackupError

#: Bytes read at a time when hashing or copying a stream.
CHUNK = 1024 * 1024
CONNECT_TIMEOUT = 10
READ_TIMEOUT = 60


class MissingInSet(BackupError, LookupError):
    """The set has no file of that name."""

    def __init__(self, place, name):
        super().__init__(f"the set {place.describe()} is incomplete: {name} is missing")


def open_place(target, *, endpoint_url=None, region=None):
    """The place ``target`` names: ``s3://bucket/prefix`` or a folder path."""
    target = (target or "").strip()
    if target.startswith("s3://"):
        bucket, _, prefix = target[len("s3://"):].partition("/")
        if not bucket:
            raise BackupError(f"{target!r} names no bucket: write s3://BUCKET/PREFIX")
        return S3Place(bucket, prefix.strip("/"), endpoint_url=endpoint_url, region=region)
    if not target or "://" in target:
        raise BackupError(f"{target!r} is neither a folder nor s3://BUCKET/PREFIX")
    return LocalPlace(Path(target))


def sha256_of(stream):
    """The SHA-256 (hex) and size of everything ``stream`` gives, read a chunk at a time."""
    digest, size = hashlib.sha256(), 0
    for chunk in iter(lambda: stream.read(CHUNK), b""):
        digest.update(chunk)
        size += len(chunk)
    return digest.hexdigest(), size


class LocalPlace:
    def __init__(self, root):
        self.root = Path(root)

    def describe(self):
        return str(self.root)

    def child(self, name):
        return LocalPlace(self.root / name)

    def _path(self, name):
        return self.root / name

    def _folder_for(self, path):
        # The set holds personal data: its folder is the owner's alone, whatever the umask.
        self.root.mkdir(mode=0o700, parents=True, exist_ok=True)
        path.parent.mkdir(parents=True, exist_ok=True)

    def write_bytes(self, name, data):
        path = self._path(name)
        self._folder_for(path)
        path.write_bytes(data)

    def write_last(self, name, data):
        """Write ``name`` so that it appears whole or not at all (the manifest)."""
        path = self._path(name)
        partial = path.with_name(f".{path.name}.partial")
        partial.write_bytes(data)
        partial.replace(path)

    @contextmanager
    def writing(self, name):
        """A local path to write ``name`` at; it is in the set once the block ends."""
        path = self._path(name)
        self._folder_for(path)
        yield path

    @contextmanager
    def open(self, name):
        try:
            stream = self._path(name).open("rb")
        except (FileNotFoundError, IsADirectoryError, NotADirectoryError):
            raise MissingInSet(self, name) from None
        with stream:
            yield stream

    @contextmanager
    def local_copy(self, name, folder):
        """A local path holding ``name`` (here: the file itself; ``folder`` is not needed)."""
        path = self._path(name)
        if not path.is_file():
            raise MissingInSet(self, name)
        yield path

    def exists(self, name):
        return self._path(name).is_file()

    def is_empty(self):
        return not self.root.exists() or not any(self.root.iterdir())

    def sets(self):
        """The names of the folders right inside this place."""
        if not self.root.is_dir():
            return []
        return sorted(path.name for path in self.root.iterdir() if path.is_dir())

    def remove(self):
        shutil.rmtree(self.root, ignore_errors=True)


class S3Place:
    """Credentials come the usual boto3 way (``AWS_ACCESS_KEY_ID``/``AWS_SECRET_ACCESS_KEY``,
    ``AWS_PROFILE`` or the machine's role): the same as the app's own storage."""

    def __init__(self, bucket, prefix, *, endpoint_url=None, region=None, shared=None):
        self.bucket, self.prefix = bucket, prefix
        self.endpoint_url, self.region = endpoint_url, region
        #: The client, made once for a place and every set in it (making one costs ~0.1 s of CPU).
        self._shared = {} if shared is None else shared

    @property
    def client(self):
        if "client" not in self._shared:
            import boto3
            from botocore.config import Config

            config = Config(connect_timeout=CONNECT_TIMEOUT, read_timeout=READ_TIMEOUT,
                            retries={"max_attempts": 5, "mode": "standard"})
            self._shared["client"] = boto3.session.Session().client(
                "s3", endpoint_url=self.endpoint_url, region_name=self.region, config=config)
        return self._shared["client"]

    def describe(self):
        where = f" at {self.endpoint_url}" if self.endpoint_url else ""
        return f"s3://{self.bucket}/{self.prefix}{where}"

    def child(self, name):
        return S3Place(self.bucket, self._key(name), endpoint_url=self.endpoint_url, region=self.region,
                       shared=self._shared)

    def _key(self, name):
        return f"{self.prefix}/{name}" if self.prefix else name

    @contextmanager
    def _errors(self, name=None):
        from boto3.exceptions import S3UploadFailedError
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            yield
        except ClientError as error:
            code = error.response.get("Error", {}).get("Code", "")
            if name is not None and code in ("NoSuchKey", "404", "NotFound"):
                raise MissingInSet(self, name) from None
            raise BackupError(f"{self.describe()}: {code or error}") from None
        except (BotoCoreError, S3UploadFailedError) as error:
            raise BackupError(f"{self.describe()} cannot be reached: {error}") from None

    def write_bytes(self, name, data):
        with self._errors():
            self.client.put_object(Bucket=self.bucket, Key=self._key(name), Body=data)

    write_last = write_bytes  # one PUT: an object appears whole or not at all

    @contextmanager
    def writing(self, name):
        with tempfile.TemporaryDirectory(prefix="storefront-backup-") as folder:
            path = Path(folder) / Path(name).name
            yield path
            with self._errors():
                self.client.upload_file(str(path), self.bucket, self._key(name))  # in parts

    @contextmanager
    def open(self, name):
        with self._errors(name):
            body = self.client.get_object(Bucket=self.bucket, Key=self._key(name))["Body"]
        with closing(body), self._errors(name):
            yield body

    @contextmanager
    def local_copy(self, name, folder):
        """``name`` downloaded (in parts) into ``folder``; its path."""
        path = Path(folder) / Path(name).name
        with self._errors(name):
            self.client.download_file(self.bucket, self._key(name), str(path))
        yield path

    def exists(self, name):
        try:
            with self._errors(name):
                self.client.head_object(Bucket=self.bucket, Key=self._key(name))
        except MissingInSet:
            return False
        return True

    def _objects(self, **extra):
        pages = self.client.get_paginator("list_objects_v2").paginate(
            Bucket=self.bucket, Prefix=self._key(""), **extra)
        with self._errors():
            yield from pages

    def is_empty(self):
        return not any(page.get("Contents") for page in self._objects(MaxKeys=1))

    def sets(self):
        start = len(self._key(""))
        return sorted(common["Prefix"][start:].rstrip("/")
                      for page in self._objects(Delimiter="/") for common in page.get("CommonPrefixes", ()))

    def remove(self):
        keys = [item["Key"] for page in self._objects() for item in page.get("Contents", ())]
        for start in range(0, len(keys), 1000):  # at most 1000 objects per request
            with self._errors():
                self.client.delete_objects(Bucket=self.bucket, Delete={
                    "Objects": [{"Key": key} for key in keys[start:start + 1000]], "Quiet": True})
