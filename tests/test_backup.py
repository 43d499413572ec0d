"""Backups (issue 20): ``flask backup DEST`` writes one set (the database, every photo and scan,
``manifest.json``), and ``flask restore SRC`` brings it back into a new, empty database and empty
storage, on SQLite and PostgreSQL, into a folder or a bucket.

The drill: a small shop (orders, a paper with its scan, a product photo, a buyer's transfer
receipt) is backed up, "lost" (a new empty database without even a schema, an empty storage),
restored, and every order, paper, scan and photo is found again over HTTP, byte for byte. A
restore refuses, changing nothing, a database in use, a set without its manifest, with a missing
or damaged file, or of another kind of database.
"""
import html
import io
import json
import os
import re
import secrets
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from types import SimpleNamespace
from unittest.mock import ANY

import boto3
import pytest
from PIL import Image
from sqlalchemy import inspect, select

from storefront.backup.places import LocalPlace
from storefront.backup.sets import prune
from storefront.extensions import db
from storefront.legality.models import CertificateScan
from storefront.media import save_image
from storefront.orders.links import access_token_hash, order_link_token
from storefront.payments.models import TransferReceipt
from storefront.products.models import ProductPhoto
from storefront.release import release_id
from storefront.unit_of_work import unit_of_work

from .conftest import build_app, csrf_token, empty_database
from .factories import make_certified_village, make_order, make_sellable_food, make_user, sign_in
from .s3_server import s3_settings

ROOT = Path(__file__).resolve().parent.parent
PAPER = {"kind": "pirt", "number": "P-IRT No. 2105309070001-30", "issued_on": "2025-01-10",
         "expires_on": "2030-01-10"}


# --- the shop that is backed up -----------------------------------------------------------------------------

@dataclass
class Shop:
    office: object
    orders: list
    buyer_page: str
    paper_id: int
    scan_id: int
    receipt_id: int
    photo: str
    #: What the shop served before the backup: URL -> bytes.
    files: dict


def png(color):
    out = io.BytesIO()
    Image.new("RGB", (90, 120), color).save(out, "PNG")
    return out.getvalue()


def text(response):
    return html.unescape(response.get_data(as_text=True))


def fetch(client, url):
    response = client.get(url)
    assert response.status_code == 200, (url, response.status_code)
    data = response.get_data()
    response.close()  # scans and photos are streamed from storage
    return data


def build_shop(app, *, paper=True):
    """Two orders (one paid, one waiting for its transfer), a product photo, the buyer's transfer
    receipt and, with ``paper``, a paper with its scan sent through the village portal."""
    village = make_certified_village()
    coffee = make_sellable_food(village, price_idr=85000, stock=20)
    with unit_of_work():
        photo = save_image(Image.new("RGB", (800, 600), (120, 80, 40)), coffee.slug)
        db.session.add(ProductPhoto(product_id=coffee.id, position=0, key=photo, alt=coffee.name))
    paid = make_order({village: [(coffee, 1)]})
    token = order_link_token("backup-drill")
    waiting = make_order({village: [(coffee, 2)]}, paid=False, idempotency_key="backup-drill",
                         access_token_hash=access_token_hash(token))
    buyer_page = f"/pesanan/{waiting.number}?kunci={token}"

    buyer = app.test_client()
    form = {"csrf_token": csrf_token(text(buyer.get(buyer_page))),
            "receipt": (io.BytesIO(png((20, 120, 200))), "bukti-transfer.png")}
    assert buyer.post(f"/pesanan/{waiting.number}/sudah-transfer?kunci={token}", data=form,
                      content_type="multipart/form-data").status_code == 303
    if paper:
        member = sign_in(app.test_client(), make_user("village_member", village))
        page = text(member.get("/portal/dokumen/baru"))
        answer = member.post("/portal/dokumen/baru", content_type="multipart/form-data", data={
            **PAPER, "csrf_token": csrf_token(page), "held_scan": "", "warned_number": "",
            "products": [str(coffee.id)], "scan": (io.BytesIO(png("white")), "pirt.png")})
        assert answer.status_code == 303, text(answer)[:2000]
    office_user = make_user("verifier")
    scan = db.session.scalars(select(CertificateScan)).one_or_none()
    receipt = db.session.scalars(select(TransferReceipt)).one()
    shop = Shop(office_user, [paid.number, waiting.number], buyer_page, scan and scan.certificate_id,
                scan and scan.id, receipt.id, photo, {})
    office = sign_in(app.test_client(), office_user)
    urls = [f"/media/{photo}-s.jpg", f"/media/{photo}-l.jpg", f"/kantor/bukti-transfer/{receipt.id}"]
    urls += [f"/dokumen/scan/{scan.id}"] if scan else []
    shop.files = {url: fetch(office, url) for url in urls}
    return shop


def assert_found_again(app, shop):
    """Every order, the paper, its scan, the receipt and the photo, through the restored shop's pages."""
    office = sign_in(app.test_client(), shop.office)  # the office's account came back too
    for number in shop.orders:
        page = text(office.get(f"/kantor/pesanan/{number}"))
        assert number in page and "Maria Buyer" in page
    assert shop.orders[1] in text(app.test_client().get(shop.buyer_page))  # the buyer's private link works
    if shop.paper_id:
        page = text(office.get(f"/kantor/dokumen/{shop.paper_id}"))
        assert PAPER["number"] in page and f"/dokumen/scan/{shop.scan_id}" in page
    for url, data in shop.files.items():
        assert fetch(office, url) == data, url


# --- helpers ------------------------------------------------------------------------------------------------

@pytest.fixture
def new_shop(backend, tmp_path, request):
    """Makes apps on new, empty databases (no schema at all) with empty storage."""
    def make(name, **settings):
        folder = tmp_path / name
        folder.mkdir()
        url = empty_database(SimpleNamespace(param=backend, addfinalizer=request.addfinalizer), folder)
        made = build_app(url, folder, **settings)
        request.addfinalizer(lambda: _dispose(made))
        return made
    return make


def _dispose(app):
    with app.app_context():
        db.engine.dispose()


def run(app, *args):
    """A ``flask`` command run against ``app``; (exit code, output). In ``app``'s context: a command
    runs in the app context it finds, and the test is in the backed-up app's."""
    with app.app_context():
        result = app.test_cli_runner().invoke(args=list(args))
    return result.exit_code, result.output  # stdout and stderr, as a terminal shows them


def tables_of(app):
    with app.app_context():
        return inspect(db.engine).get_table_names()


def set_in(folder):
    [found] = [path for path in Path(folder).iterdir() if path.is_dir()]
    return found


def manifest_of(folder):
    return json.loads((Path(folder) / "manifest.json").read_text())


def refused(app, src, *options):
    """``flask restore`` refuses with one line of English; returns it."""
    code, output = run(app, "restore", *options, str(src))
    assert code == 1 and output.startswith("Error: ") and output.count("\n") == 1, output
    return output


# --- the drill ----------------------------------------------------------------------------------------------

def test_a_backup_restored_into_a_new_database_and_storage_finds_every_order_paper_scan_and_photo(
        app, backend, tmp_path, new_shop):
    shop = build_shop(app)
    code, output = run(app, "backup", str(tmp_path / "backups"))
    assert code == 0, output
    backup = set_in(tmp_path / "backups")
    assert f"backup {backup.name} written to {backup}" in output
    assert backup.stat().st_mode & 0o077 == 0  # personal data: the shop's user's alone
    assert "2 orders" in output and "1 certificate_scans" in output

    manifest = manifest_of(backup)
    assert manifest["database"]["kind"] == backend and manifest["release"] == release_id(app.config)
    assert manifest["created_at"].startswith(backup.name[:4]) and manifest["created_at"].endswith("Z")
    assert manifest["alembic_revision"] == db.session.execute(
        db.text("SELECT version_num FROM alembic_version")).scalar_one()
    counts = manifest["counts"]
    assert (counts["orders"], counts["certificates"], counts["certificate_scans"], counts["product_photos"],
            counts["transfer_receipts"]) == (2, 4, 1, 1, 1)  # NIB, P-IRT, halal and the one sent
    names = {entry["name"] for entry in manifest["files"]}
    assert {"database.dump" if backend == "postgresql" else "database.sqlite3",
            f"media/{shop.photo}-s.jpg", f"media/{shop.photo}-l.jpg"} <= names
    scans = {entry["name"] for entry in manifest["files"] if entry["name"].startswith("scans/")}
    assert {f"scans/{key}" for key in db.session.scalars(select(CertificateScan.key))} < scans
    for entry in manifest["files"]:  # every file in the set is as the manifest says
        assert (backup / entry["name"]).stat().st_size == entry["size"]
    assert manifest["missing_files"] == []
    written = (backup / "manifest.json").read_text()
    assert app.config["SECRET_KEY"] not in written
    assert "sqlite:" not in written and "postgresql+" not in written  # nor the database's URL

    # Everything is lost: a new, empty database (no schema) and empty storage folders.
    restored = new_shop("restored")
    assert tables_of(restored) == []
    code, output = run(restored, "restore", str(backup))
    assert code == 0, output
    assert "2 orders" in output and "every table's count matches manifest.json" in output
    assert "files: 2 media, 2 scans put back" in output, output  # the photo's two sizes; scan and receipt
    assert_found_again(restored, shop)
    with restored.app_context():
        make_user()  # new rows take new ids: the sequences came back too

    # A second restore into the now filled database refuses and changes nothing.
    message = refused(restored, backup)
    assert "is not empty (Alembic revision" in message and "2 orders" in message
    assert "restore only into a new, empty database" in message
    with restored.app_context():
        assert db.session.scalar(db.select(db.func.count()).select_from(TransferReceipt)) == 1


# --- what a restore refuses ---------------------------------------------------------------------------------

def broken_copy(backup, folder, change):
    """A copy of the set ``backup`` in ``folder`` with ``change(copy)`` made to it."""
    copy = Path(folder)
    shutil.copytree(backup, copy)
    change(copy)
    return copy


def test_restore_refuses_a_database_in_use_and_a_broken_or_foreign_set_and_changes_nothing(
        app, backend, tmp_path, new_shop, monkeypatch):
    shop = build_shop(app, paper=False)
    # A photo whose files were lost before the backup: the backup says so, and goes on.
    with unit_of_work():
        db.session.add(ProductPhoto(product_id=db.session.scalar(select(ProductPhoto.product_id)), position=1,
                                    key="kopi-lost0000"))
    # Beside older sets, which --keep prunes.
    backups = tmp_path / "backups"
    for old in ("20250101T000000Z", "20250102T000000Z", "20250103T000000Z"):
        (backups / old).mkdir(parents=True)
        (backups / old / "manifest.json").write_text("{}")
    (backups / "20241231T000000Z").mkdir()  # an older backup that never finished
    (backups / "keep-me").mkdir()  # not a set: never touched
    command = ["backup", str(backups), "--keep", "2"]
    if backend == "sqlite":  # once, the documented command in a process of its own (1.5 s)
        env = {**os.environ, "STOREFRONT_ENV": "development", "MEDIA_ROOT": app.config["MEDIA_ROOT"],
               "SCAN_ROOT": app.config["SCAN_ROOT"], "DATABASE_URL": app.config["SQLALCHEMY_DATABASE_URI"]}
        done = subprocess.run([str(Path(sys.executable).with_name("flask")), "--app", "wsgi:app", *command],
                              cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)
        code, output = done.returncode, done.stdout + done.stderr
    else:
        code, output = run(app, *command)
    assert code == 0, output
    assert "warning: 2 file(s) named in the database were gone from storage" in output
    assert "media/kopi-lost0000-l.jpg, media/kopi-lost0000-s.jpg" in output
    name = re.match(r"backup (\S+) written to ", output).group(1)
    assert {path.name for path in backups.iterdir()} == {"20250103T000000Z", name, "keep-me"}
    assert "deleted the older set 20250101T000000Z" in output
    backup = backups / name
    manifest = manifest_of(backup)
    assert manifest["missing_files"] == ["media/kopi-lost0000-l.jpg", "media/kopi-lost0000-s.jpg"]
    photo = next(entry["name"] for entry in manifest["files"] if entry["name"].startswith("media/"))
    code, output = run(app, "restore", "--check", str(backup))
    assert code == 0 and f"is whole: {len(manifest['files'])} files match manifest.json" in output, output

    target = new_shop("target")
    other = "postgresql" if backend == "sqlite" else "sqlite"
    cases = {  # folder of the broken copy: (what is broken, what the restore says)
        "unfinished": (lambda copy: (copy / "manifest.json").unlink(), "has no manifest.json"),
        "damaged": (lambda copy: (copy / photo).write_bytes(b"\xff\xd8\xff" + bytes(40)),
                    f"{photo} in {tmp_path}/damaged does not match its checksum in manifest.json"),
        "incomplete": (lambda copy: shutil.rmtree(copy / "scans"), "is incomplete: scans/"),
        "foreign": (lambda copy: _as_kind(copy, other), f"is a {other} backup and cannot go into a {backend} "
                    "database: restoring across kinds of database is not supported"),
    }
    for folder, (change, expected) in cases.items():
        copy = broken_copy(backup, tmp_path / folder, change)
        assert expected in refused(target, copy), folder
        assert tables_of(target) == [], folder
        assert not any((tmp_path / "target").rglob("*.jpg")), folder
    assert "does not match its checksum" in refused(target, tmp_path / "damaged", "--check")
    assert f"it holds 2 set(s): name one, e.g. the newest, {backup}" in refused(target, backups)

    # The shop's own database, in use: refused before anything is read or written.
    before = (tables_of(app), sorted(Path(app.config["MEDIA_ROOT"]).rglob("*")))
    message = refused(app, backup)
    assert message.startswith("Error: refusing to restore: ") and "is not empty" in message
    assert "restore only into a new, empty database" in message
    assert (tables_of(app), sorted(Path(app.config["MEDIA_ROOT"]).rglob("*"))) == before
    assert db.session.scalar(db.select(db.func.count()).select_from(ProductPhoto)) == 2

    if backend == "postgresql":  # without the client tools: said plainly, and no half set is left
        monkeypatch.setenv("PATH", str(tmp_path / "nowhere"))
        code, output = run(app, "backup", str(backups))
        assert code == 1 and output == ("Error: pg_dump is not on PATH: install the PostgreSQL client tools "
                                        "of the server's major version (Debian/Ubuntu: apt install "
                                        "postgresql-client)\n")
        assert {path.name for path in backups.iterdir()} == {"20250103T000000Z", name, "keep-me"}
        monkeypatch.undo()

    # The same set, whole, goes into the empty database; the restore names the lost photo.
    code, output = run(target, "restore", str(backup))
    assert code == 0, output
    assert "warning: 2 file(s) named in the database are not in storage: media/kopi-lost0000-l.jpg" \
        in output
    assert_found_again(target, shop)


def _as_kind(copy, kind):
    """Make the set claim to be of another kind of database (its file renamed to match)."""
    manifest = json.loads((copy / "manifest.json").read_text())
    name = "database.dump" if kind == "postgresql" else "database.sqlite3"
    (copy / manifest["database"]["file"]).rename(copy / name)
    manifest["database"].update(kind=kind, file=name)
    for entry in manifest["files"]:
        if entry["name"].startswith("database."):
            entry["name"] = name
    (copy / "manifest.json").write_text(json.dumps(manifest))


def test_pruning_keeps_the_newest_finished_sets_and_nothing_else(tmp_path):
    place = LocalPlace(tmp_path)
    for name in ("20250101T000000Z", "20250102T000000Z-2", "20250103T000000Z", "20250104T000000Z"):
        (tmp_path / name).mkdir()
        (tmp_path / name / "manifest.json").write_text("{}")
    (tmp_path / "20250105T000000Z").mkdir()  # running now, or failed: newer than the sets kept
    (tmp_path / "photos").mkdir()
    assert prune(place, 2) == ["20250101T000000Z", "20250102T000000Z-2"]
    assert sorted(path.name for path in tmp_path.iterdir()) == [
        "20250103T000000Z", "20250104T000000Z", "20250105T000000Z", "photos"]
    assert prune(place, 2) == []


# --- a bucket -----------------------------------------------------------------------------------------------

def test_a_backup_in_a_bucket_restores_a_shop_that_keeps_its_files_in_a_bucket(
        app, backend, s3_server, new_shop):
    if backend != "sqlite":
        pytest.skip("buckets are the same whatever the database: run once, on SQLite, which every run has")
    s3 = boto3.client("s3", endpoint_url=s3_server.url, region_name="us-east-1")
    shop_bucket, backup_bucket, new_shop_bucket = (f"shop-{secrets.token_hex(6)}" for _ in range(3))
    for bucket in (shop_bucket, backup_bucket, new_shop_bucket):
        s3.create_bucket(Bucket=bucket)
    app.config.update(s3_settings(s3_server, shop_bucket))
    shop = build_shop(app)
    code, output = run(app, "backup", f"s3://{backup_bucket}/nightly")
    assert code == 0, output
    keys = [item["Key"] for item in s3.list_objects_v2(Bucket=backup_bucket)["Contents"]]
    [manifest_key] = [key for key in keys if key.endswith("/manifest.json")]
    name = manifest_key.split("/")[1]
    assert f"backup {name} written to s3://{backup_bucket}/nightly/{name} at {s3_server.url}" in output
    manifest = json.loads(s3.get_object(Bucket=backup_bucket, Key=manifest_key)["Body"].read())
    assert {f"nightly/{name}/{entry['name']}" for entry in manifest["files"]} | {manifest_key} == set(keys)
    assert manifest["storage"] == {"media": {"files": 2, "bytes": ANY}, "scans": {"files": 2, "bytes": ANY}}
    assert "testing" not in json.dumps(manifest)  # no credential

    # The restored shop is on a new, empty database and a new, empty bucket.
    restored = new_shop("restored", **s3_settings(s3_server, new_shop_bucket))
    code, output = run(restored, "restore", "--check", f"s3://{backup_bucket}/nightly/{name}",
                       "--s3-endpoint", s3_server.url)
    assert code == 0 and "is whole" in output, output
    code, output = run(restored, "restore", f"s3://{backup_bucket}/nightly/{name}")
    assert code == 0, output
    assert f"files: 2 media, 2 scans put back (media in s3://{new_shop_bucket}/media/" in output
    assert_found_again(restored, shop)
