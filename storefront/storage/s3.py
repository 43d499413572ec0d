"""Files in an S3-compatible object store, shared by every web server (production).

boto3 finds its credentials the usual way (``AWS_ACCESS_KEY_ID`` and ``AWS_SECRET_ACCESS_KEY``,
or the machine's role). Objects are written without any ACL, so they stay as private as the
bucket: the bucket must block public access, and the app serves photos and scans itself (scans
only after its access checks).
"""
import os
import threading

from flask import Response, abort, request

from .base import FileMissing, Storage, StorageError, StoredFile, check_key

#: Every call gives up after these (seconds) and is tried again at most twice more.
CONNECT_TIMEOUT = 5
READ_TIMEOUT = 30
CHUNK = 64 * 1024


def s3_settings(config, area):
    """The settings that make a store: ("s3", bucket, prefix, endpoint, region)."""
    bucket = config.get("S3_BUCKET")
    if area == "scans" and config.get("S3_SCAN_BUCKET"):
        bucket = config["S3_SCAN_BUCKET"]
    return ("s3", bucket, f"{area}/", config.get("S3_ENDPOINT_URL") or None, config.get("S3_REGION") or None)


class S3Storage(Storage):
    def __init__(self, bucket, prefix, endpoint_url=None, region=None):
        self.bucket, self.prefix = bucket, prefix
        self.endpoint_url, self.region = endpoint_url, region
        self._client = None
        self._pid = None
        self._lock = threading.Lock()

    @property
    def client(self):
        # One client per process: a forked gunicorn worker must not share the master's sockets.
        if self._client is None or self._pid != os.getpid():
            with self._lock:
                if self._client is None or self._pid != os.getpid():
                    import boto3
                    from botocore.config import Config

                    config = Config(connect_timeout=CONNECT_TIMEOUT, read_timeout=READ_TIMEOUT,
                                    retries={"max_attempts": 3, "mode": "standard"})
                    self._client = boto3.session.Session().client(
                        "s3", endpoint_url=self.endpoint_url, region_name=self.region, config=config)
                    self._pid = os.getpid()
        return self._client

    def _name(self, key):
        return self.prefix + check_key(key)

    def _errors(self, error, key=None):
        from botocore.exceptions import ClientError

        if isinstance(error, ClientError):
            code = error.response.get("Error", {}).get("Code", "")
            if key is not None and code in ("NoSuchKey", "404", "NotFound"):
                return FileMissing(key)
            return StorageError(f"object store {self.describe()}: {code or error}")
        return StorageError(f"object store {self.describe()} cannot be reached: {error}")

    def _call(self, method, key=None, **kwargs):
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            return getattr(self.client, method)(Bucket=self.bucket, **kwargs)
        except (BotoCoreError, ClientError) as error:
            raise self._errors(error, key) from None

    def put(self, key, data, content_type="application/octet-stream"):
        self._call("put_object", Key=self._name(key), Body=data, ContentType=content_type)

    def get(self, key):
        answer = self._call("get_object", key, Key=self._name(key))
        with answer["Body"] as body:
            return body.read()

    def exists(self, key):
        try:
            self._call("head_object", key, Key=self._name(key))
        except FileMissing:
            return False
        return True

    def delete(self, key):
        self._call("delete_object", Key=self._name(key))

    def list(self, prefix=""):
        from botocore.exceptions import BotoCoreError, ClientError

        pages = self.client.get_paginator("list_objects_v2").paginate(
            Bucket=self.bucket, Prefix=self.prefix + prefix)
        try:
            for page in pages:
                for item in page.get("Contents", ()):
                    yield StoredFile(item["Key"][len(self.prefix):], item["Size"], item["LastModified"])
        except (BotoCoreError, ClientError) as error:
            raise self._errors(error) from None

    def response(self, key, *, mimetype, max_age=None, download_name=None):
        try:
            answer = self._call("get_object", key, Key=self._name(key))
        except FileMissing:
            abort(404)
        body = answer["Body"]
        response = Response(body.iter_chunks(CHUNK), mimetype=mimetype, direct_passthrough=True)
        response.call_on_close(body.close)
        response.content_length = answer["ContentLength"]
        if max_age is not None:
            response.cache_control.max_age = max_age
            response.cache_control.public = True
        if download_name:
            response.headers["Content-Disposition"] = f'inline; filename="{download_name}"'
        if answer.get("ETag"):
            response.set_etag(answer["ETag"].strip('"'))
            response.last_modified = answer.get("LastModified")
            response.make_conditional(request)  # a 304 for a copy the browser already holds
        return response

    def check(self):
        if not self.bucket:
            raise StorageError("S3_BUCKET is not set")
        probe = f"_check/{os.getpid()}"
        self.put(probe, b"ok", "text/plain")
        if self.get(probe) != b"ok":
            raise StorageError(f"object store {self.describe()} did not give back what was written")
        self.delete(probe)

    def describe(self):
        where = f" at {self.endpoint_url}" if self.endpoint_url else ""
        return f"s3://{self.bucket}/{self.prefix}{where}"
