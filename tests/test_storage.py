"""Photos and scans through one storage interface: a folder here, an S3-compatible object store in
production (issue 20). The object store is moto's local S3 server (tests/s3_server.py): the one
piece faked, since no real bucket can be reached from the tests.
"""
import io
from datetime import datetime, timedelta, timezone

import boto3
import pytest
from flask import Flask
from PIL import Image
from sqlalchemy import select

from storefront.extensions import db
from storefront.legality.held_scans import expire_held_scans, hold_scan
from storefront.legality.models import CertificateScan
from storefront.legality.scans import CleanScan
from storefront.media import save_image
from storefront.products.models import ProductPhoto
from storefront.storage import FileMissing, media_store, scan_store
from storefront.storage.local import LocalStorage
from storefront.storage.s3 import S3Storage

from .factories import make_certified_village, make_sellable_food, make_user, sign_in
from .s3_server import new_bucket, s3_settings
from .test_paper_form import GOOD, member_of, png_bytes, post as post_paper
from .test_portal_listings import image_bytes, member_client, post_new

ONCE = "the storage does not depend on the database: checked once, on SQLite"


def objects(s3_server, bucket):
    """Every object in ``bucket``: key -> bytes."""
    client = boto3.client("s3", endpoint_url=s3_server.url, region_name="us-east-1")
    listed = client.list_objects_v2(Bucket=bucket).get("Contents", [])
    return {item["Key"]: client.get_object(Bucket=bucket, Key=item["Key"])["Body"].read() for item in listed}


@pytest.fixture(params=["local", "s3"])
def any_store(request, tmp_path):
    if request.param == "local":
        return LocalStorage(tmp_path / "files")
    server = request.getfixturevalue("s3_server")
    return S3Storage(new_bucket(server), "media/", server.url, "us-east-1")


def test_both_backends_keep_one_contract(any_store):
    store = any_store
    store.check()
    assert list(store.list()) == []
    store.put("kopi-1234-l.jpg", b"large", "image/jpeg")
    store.put("held/7/abc.json", b"{}", "application/json")
    store.put("held/7/abc.scan", b"scan", "image/png")
    store.put("kopi-1234-l.jpg", b"larger", "image/jpeg")  # a second write replaces the first whole
    assert store.get("kopi-1234-l.jpg") == b"larger"
    assert store.exists("held/7/abc.scan") and not store.exists("held/7/nothing.scan")
    listed = list(store.list("held/"))
    assert [item.key for item in listed] == ["held/7/abc.json", "held/7/abc.scan"]
    assert [item.size for item in listed] == [2, 4]
    assert all(abs(item.modified - datetime.now(timezone.utc)) < timedelta(minutes=5) for item in listed)
    assert [item.key for item in store.list()] == ["held/7/abc.json", "held/7/abc.scan", "kopi-1234-l.jpg"]

    store.delete("held/7/abc.json")
    store.delete("held/7/abc.json")  # already gone: nothing happens
    with pytest.raises(FileMissing):
        store.get("held/7/abc.json")
    for bad in ("../etc/passwd", "/etc/passwd", "held/../../x", "", "a//b", ".hidden"):
        with pytest.raises(ValueError):
            store.put(bad, b"x")

    app = Flask(__name__)
    with app.test_request_context():
        response = store.response("kopi-1234-l.jpg", mimetype="image/jpeg", max_age=60)
        response.direct_passthrough = False
        assert response.status_code == 200 and response.mimetype == "image/jpeg"
        assert response.get_data() == b"larger" and response.content_length == 6
        etag = response.headers["ETag"]
    with app.test_request_context(headers={"If-None-Match": etag}):
        again = store.response("kopi-1234-l.jpg", mimetype="image/jpeg", max_age=60)
        assert again.status_code == 304  # the copy the browser holds is still good
        again.close()
    with app.test_request_context():
        with pytest.raises(Exception) as missing:
            store.response("gone-0000-l.jpg", mimetype="image/jpeg")
        assert getattr(missing.value, "code", None) == 404


def test_an_unreachable_store_says_where_and_why(tmp_path):
    from storefront.storage import StorageError

    blocked = tmp_path / "not-a-folder"
    blocked.write_text("a file where the folder should be")
    with pytest.raises(StorageError, match="cannot be written"):
        LocalStorage(blocked).check()
    nowhere = S3Storage("shop-bucket", "media/", "http://127.0.0.1:9", "us-east-1")
    with pytest.raises(StorageError, match="cannot be reached"):
        nowhere.get("kopi-1234-l.jpg")


def test_the_shop_keeps_photos_and_scans_in_the_object_store(app, backend, s3_server):
    if backend == "postgresql":
        pytest.skip(ONCE)
    settings = s3_settings(s3_server)
    app.config.update(settings)
    bucket = settings["S3_BUCKET"]

    # A village uploads a product photo: both sizes go to the bucket, nothing to this disk.
    village, coffee, member = member_of()
    photo = image_bytes("JPEG", (2400, 1800))
    assert post_new(member_client(app, village), photos=[(photo, "kopi.jpg")]).status_code == 303
    key = db.session.scalars(select(ProductPhoto.key)).one()
    stored = objects(s3_server, bucket)
    assert {f"media/{key}-s.jpg", f"media/{key}-l.jpg"} <= set(stored)
    assert Image.open(io.BytesIO(stored[f"media/{key}-l.jpg"])).size == (960, 720)
    assert not (tmp_path_of(app, "MEDIA_ROOT")).exists()
    # Served by the app from the bucket, cacheable for a year (keys are never reused).
    response = app.test_client().get(f"/media/{key}-l.jpg")
    assert response.status_code == 200 and response.data == stored[f"media/{key}-l.jpg"]
    assert "immutable" in response.headers["Cache-Control"]
    assert app.test_client().get(f"/media/{key}0-l.jpg").status_code == 404

    # A paper refused for its date keeps its scan in the bucket; sent again, it is saved from there.
    m = sign_in(app.test_client(), member)
    refused = post_paper(m, **{**GOOD, "expires_on": "2024-01-10"}, products=[str(coffee.id)], scan=png_bytes())
    assert refused.status_code == 422
    held = [name for name in objects(s3_server, bucket) if name.startswith(f"scans/held/{member.id}/")]
    assert sorted(name.rpartition(".")[2] for name in held) == ["json", "scan"]
    page = refused.get_data(as_text=True)
    assert post_paper(m, page=page, **GOOD, products=[str(coffee.id)]).status_code == 303
    scan = db.session.scalars(select(CertificateScan)).one()
    stored = objects(s3_server, bucket)
    assert f"scans/{scan.key}" in stored and not any(name.startswith("scans/held/") for name in stored)
    # The database holds a key, never a path of a server's disk.
    assert "/" not in scan.key and "/" not in key
    assert not (tmp_path_of(app, "SCAN_ROOT")).exists()

    # The scan reaches its village's members and nobody else; the bucket grants nobody else either.
    assert m.get(f"/dokumen/scan/{scan.id}").data == stored[f"scans/{scan.key}"]
    stranger = sign_in(app.test_client(), make_user("village_member", member_of()[0]))
    assert stranger.get(f"/dokumen/scan/{scan.id}").status_code == 404
    client = boto3.client("s3", endpoint_url=s3_server.url, region_name="us-east-1")
    grants = client.get_object_acl(Bucket=bucket, Key=f"scans/{scan.key}")["Grants"]
    assert [grant["Grantee"].get("URI") for grant in grants] == [None]  # the owner alone


def test_a_store_that_does_not_answer_gets_a_clear_page_not_a_server_error(app, backend):
    if backend == "postgresql":
        pytest.skip(ONCE)
    app.config.update(STORAGE="s3", S3_BUCKET="shop-files", S3_ENDPOINT_URL="http://127.0.0.1:9",
                      S3_REGION="us-east-1")
    response = app.test_client().get("/media/kopi-bajawa-3f9a1c2b-l.jpg")
    assert response.status_code == 503
    assert "Toko tidak dapat menjangkau penyimpanan foto dan dokumennya" in response.get_data(as_text=True)


def tmp_path_of(app, setting):
    from pathlib import Path

    return Path(app.config[setting])


def test_share_cards_and_held_scans_live_in_the_store_too(app, backend, s3_server):
    if backend == "postgresql":
        pytest.skip(ONCE)
    settings = s3_settings(s3_server)
    app.config.update(settings)
    village = make_certified_village()
    product = make_sellable_food(village)
    key = save_image(Image.new("RGB", (1600, 900), (30, 120, 60)), "kopi")
    db.session.add(ProductPhoto(product_id=product.id, position=0, key=key))
    db.session.commit()

    card = app.test_client().get(f"/kartu/produk/{product.slug}.jpg")
    assert card.status_code == 200 and Image.open(io.BytesIO(card.data)).size == (1200, 630)
    assert any(name.startswith(f"media/cards/{key}-") for name in objects(s3_server, settings["S3_BUCKET"]))
    assert media_store().get(f"{key}-s.jpg")  # the photo itself, read back through the interface

    # A hold past its time is cleaned from the bucket by the housekeeping job.
    member = make_user("village_member", village)
    long_ago = datetime.now(timezone.utc) - timedelta(days=2)
    hold_scan(CleanScan(png_bytes(), "image/png", "png", "pirt.png"), user_id=member.id,
              village_id=village.id, form="new", now=long_ago)
    assert len(list(scan_store().list("held/"))) == 2
    assert expire_held_scans() == 1
    assert list(scan_store().list("held/")) == []
