"""``flask backup DEST`` and ``flask restore SRC`` (docs/backup.md).

DEST and SRC are a folder or ``s3://bucket/prefix``. A bucket is reached like the shop's own
storage: boto3's usual credentials, and the ``S3_ENDPOINT_URL`` / ``S3_REGION`` settings unless
``--s3-endpoint`` / ``--s3-region`` name others (a backup bucket at another provider).
"""
import time

import click
from flask import current_app
from flask.cli import with_appcontext

from ..extensions import db
from . import BackupError
from .database import MAIN_TABLES, describe
from .files import storage_summary
from .places import open_place
from .sets import check_set, prune, restore_set, take_backup

_S3_OPTIONS = (
    click.option("--s3-endpoint", metavar="URL",
                 help="The S3-compatible service of an s3:// place (default: the S3_ENDPOINT_URL setting)."),
    click.option("--s3-region", metavar="REGION", help="Its region (default: the S3_REGION setting)."),
)


def _s3_options(command):
    for option in reversed(_S3_OPTIONS):
        command = option(command)
    return command


def _place(target, s3_endpoint, s3_region):
    config = current_app.config
    return open_place(target, endpoint_url=s3_endpoint or config.get("S3_ENDPOINT_URL") or None,
                      region=s3_region or config.get("S3_REGION") or None)


def _size(n):
    for unit in ("bytes", "KB", "MB", "GB"):
        if n < 1024 or unit == "GB":
            return f"{n:.0f} {unit}" if unit == "bytes" else f"{n:.1f} {unit}"
        n /= 1024


def _os_error(error):
    return f"{error.strerror or error}: {error.filename}" if error.filename else str(error)


def _rows(counts):
    return ", ".join(f"{counts[table]} {table}" for table in MAIN_TABLES if table in counts)


def _code_heads(app):
    """The Alembic revision(s) this release's migrations end at."""
    from alembic.script import ScriptDirectory

    return ",".join(sorted(ScriptDirectory(app.extensions["migrate"].directory).get_heads()))


@click.command("backup")
@click.argument("dest")
@click.option("--keep", type=click.IntRange(min=1), metavar="N",
              help="Afterwards delete the sets in DEST older than the newest N.")
@_s3_options
@with_appcontext
def backup_command(dest, keep, s3_endpoint, s3_region):
    """Write a backup set into DEST (a folder or s3://bucket/prefix): the database, every photo
    and scan, and manifest.json with their checksums."""
    started = time.monotonic()
    try:
        place = _place(dest, s3_endpoint, s3_region)
        name, target, manifest = take_backup(current_app, db.engine, place)
        doomed = prune(place, keep) if keep else []
    except BackupError as error:
        raise click.ClickException(str(error)) from None
    except OSError as error:  # a full disk, a folder the user may not write
        raise click.ClickException(_os_error(error)) from None
    snapshot, database = manifest.snapshot, manifest.database
    click.echo(f"backup {name} written to {target.describe()} in {time.monotonic() - started:.1f} s")
    click.echo(f"  database: {snapshot.kind} {snapshot.version}, Alembic revision {snapshot.revision}, "
               f"{_size(database.size)}")
    click.echo(f"  rows: {_rows(snapshot.counts)}")
    for area in ("media", "scans"):
        stored = manifest.stored(area)
        click.echo(f"  {area}: {len(stored)} files, {_size(sum(entry.size for entry in stored))}")
    if manifest.missing:
        click.echo(f"warning: {len(manifest.missing)} file(s) named in the database were gone from storage "
                   f"(deleted while the backup ran, or lost before): {', '.join(manifest.missing[:10])}",
                   err=True)
    for old in doomed:
        click.echo(f"deleted the older set {old}")


@click.command("restore")
@click.argument("src")
@click.option("--check", is_flag=True,
              help="Only check the set's files against its manifest; restore nothing.")
@_s3_options
@with_appcontext
def restore_command(src, check, s3_endpoint, s3_region):
    """Restore the backup set SRC (a folder or s3://bucket/prefix holding manifest.json) into the
    configured database, which must be new and empty, and the configured storage."""
    started = time.monotonic()
    try:
        place = _place(src, s3_endpoint, s3_region)
        if check:
            manifest = check_set(place)
            click.echo(f"the set {place.describe()} is whole: {len(manifest.files)} files match "
                       f"manifest.json ({manifest.snapshot.kind} backup of {manifest.created_at}, "
                       f"{_rows(manifest.snapshot.counts)})")
            return
        restored = restore_set(current_app, db.engine, place)
    except BackupError as error:
        raise click.ClickException(str(error)) from None
    except OSError as error:
        raise click.ClickException(_os_error(error)) from None
    manifest = restored.manifest
    click.echo(f"restored the backup of {manifest.created_at} from {place.describe()} into "
               f"{describe(db.engine.url)} in {time.monotonic() - started:.1f} s")
    click.echo(f"  rows: {_rows(manifest.snapshot.counts)} (every table's count matches manifest.json)")
    click.echo(f"  files: {restored.files['media']} media, {restored.files['scans']} scans put back "
               f"({storage_summary(current_app)})")
    if restored.missing:
        click.echo(f"warning: {len(restored.missing)} file(s) named in the database are not in storage: "
                   f"{', '.join(restored.missing[:10])}", err=True)
    heads = _code_heads(current_app)
    if restored.database.revision != heads:
        click.echo(f"the database is at Alembic revision {restored.database.revision}, this release's "
                   f"migrations at {heads}: run `flask db upgrade` before starting the shop")
