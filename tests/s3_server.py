"""A local S3 server (moto's, on loopback) for the object-store backend: the one piece of the
outside world faked here, since no real bucket can be reached from the tests.

``s3_server`` is one server per test process; ``s3_settings()`` makes a bucket of its own for a
test and gives the app settings (and the environment for a gunicorn) that point at it.
"""
import os
import secrets

import pytest

from .mail_server import free_port

#: moto accepts any credentials; boto3 needs some to sign its requests.
CREDENTIALS = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
               "AWS_DEFAULT_REGION": "us-east-1"}


@pytest.fixture(scope="session")
def s3_server():
    from moto.server import ThreadedMotoServer

    for name, value in CREDENTIALS.items():
        os.environ.setdefault(name, value)
    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    server.url = f"http://127.0.0.1:{port}"
    yield server
    server.stop()


def new_bucket(s3_server):
    """A fresh, empty bucket on the server; returns its name."""
    import boto3

    name = f"shop-{secrets.token_hex(6)}"
    boto3.client("s3", endpoint_url=s3_server.url, region_name="us-east-1").create_bucket(Bucket=name)
    return name


def s3_settings(s3_server, bucket=None):
    """App settings (also usable as environment variables) for a store in ``bucket`` (a new one
    when not given)."""
    return {"STORAGE": "s3", "S3_BUCKET": bucket or new_bucket(s3_server), "S3_ENDPOINT_URL": s3_server.url,
            "S3_REGION": "us-east-1", **CREDENTIALS}
