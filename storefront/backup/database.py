"""The database half of a backup: one consistent copy, and its restore into an empty database.

PostgreSQL: a transaction exports its snapshot, ``pg_dump`` dumps exactly that snapshot (custom
format), and the row counts and Alembic revision of the manifest are read in it too, so they
describe the dump and nothing later. ``pg_restore`` brings it back in one transaction: a restore
that fails leaves the database as empty as it found it. The connection comes from
``SQLALCHEMY_DATABASE_URI``; the password goes to the tools in ``PGPASSWORD``, never on their
command line, where every user of the machine could read it.

SQLite: the backup API copies the live file in one step, a consistent snapshot even while the
shop writes (WAL mode lets writers go on); the copy is left in rollback-journal mode, so it is one
file that can be read without side files.
"""
import os
import shutil
import sqlite3
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import inspect, text

from . import BackupError
from .references import named_files

#: The file each kind of database is kept in, in a set.
FILES = {"postgresql": "database.dump", "sqlite": "database.sqlite3"}
#: Tables whose counts the summary shows (the manifest has every table's).
MAIN_TABLES = ("orders", "village_orders", "order_lines", "transfer_receipts", "certificates",
               "certificate_scans", "villages", "products", "product_photos", "users")
#: Connection settings a SQLAlchemy URL may carry in its query, and libpq's variable for each.
_LIBPQ_QUERY = {"sslmode": "PGSSLMODE", "sslrootcert": "PGSSLROOTCERT", "sslcert": "PGSSLCERT",
                "sslkey": "PGSSLKEY", "connect_timeout": "PGCONNECT_TIMEOUT", "host": "PGHOST",
                "port": "PGPORT", "application_name": "PGAPPNAME", "options": "PGOPTIONS"}
SQLITE_BUSY_MS = 30000


@dataclass
class Snapshot:
    """What one copy of the database holds."""

    kind: str
    revision: str | None
    counts: dict = field(default_factory=dict)
    #: The server's version (PostgreSQL) or the SQLite library's.
    version: str = ""
    #: The files the rows name, as names in a set ("media/...", "scans/...").
    named: set = field(default_factory=set)


def kind_of(url):
    """"postgresql" or "sqlite" for a SQLAlchemy URL; any other database is refused."""
    name = url.get_backend_name()
    if name not in FILES:
        raise BackupError(f"cannot back up a {name} database: only PostgreSQL and SQLite")
    return name


def describe(url):
    """The database for messages, without its password."""
    if kind_of(url) == "sqlite":
        return f"SQLite file {url.database}"
    return f"PostgreSQL database {url.database} on {url.host or 'the local socket'}"


# --- reading ----------------------------------------------------------------------------------

def _quote(table):
    return '"' + table.replace('"', '""') + '"'


def read_snapshot(rows, tables, kind, version=""):
    """Every table's row count, the Alembic revision and the files the rows name, read through
    ``rows(sql)`` (a list of row tuples) from a database holding ``tables``."""
    counts = {table: rows(f"SELECT count(*) FROM {_quote(table)}")[0][0]
              for table in tables if table != "alembic_version"}
    revision = None
    if "alembic_version" in tables:
        revision = ",".join(sorted(number for (number,) in rows("SELECT version_num FROM alembic_version")))
    return Snapshot(kind, revision or None, counts, version, named_files(rows, tables))


def _sqlalchemy_rows(conn):
    return lambda sql: conn.execute(text(sql)).all()


def _snapshot_of(conn, kind, version=""):
    return read_snapshot(_sqlalchemy_rows(conn), sorted(inspect(conn).get_table_names()), kind, version)


def why_not_empty(engine):
    """Why the database cannot take a restore (it has tables, rows or a revision), or None."""
    with engine.connect() as conn:
        if not inspect(conn).get_table_names():
            return None
        found = _snapshot_of(conn, kind_of(engine.url))
    rows = sum(found.counts.values())
    what = [f"Alembic revision {found.revision}"] if found.revision else []
    if rows:
        what.append(f"{found.counts.get('orders', 0)} orders, {rows} rows in all")
    else:
        what.append(f"{len(found.counts)} tables")
    return f"{describe(engine.url)} is not empty ({', '.join(what)})"


# --- PostgreSQL -------------------------------------------------------------------------------

def _tool(name):
    found = shutil.which(name)
    if not found:
        raise BackupError(f"{name} is not on PATH: install the PostgreSQL client tools of the server's major "
                          "version (Debian/Ubuntu: apt install postgresql-client)")
    return found


def _libpq_environment(url):
    """The environment that points libpq (pg_dump, pg_restore) at ``url``, password included."""
    env = dict(os.environ)
    for name, value in (("PGHOST", url.host), ("PGPORT", url.port), ("PGUSER", url.username),
                        ("PGPASSWORD", url.password), ("PGDATABASE", url.database)):
        if value is not None:
            env[name] = str(value)
    for name, value in url.query.items():
        if name in _LIBPQ_QUERY:
            env[_LIBPQ_QUERY[name]] = value if isinstance(value, str) else value[0]
    return env


def _run(arguments, env):
    answer = subprocess.run(arguments, env=env, capture_output=True, text=True, check=False)
    if answer.returncode != 0:
        lines = [line.strip() for line in answer.stderr.splitlines() if line.strip()]
        errors = [line for line in lines if "error:" in line] or lines or [f"exit status {answer.returncode}"]
        raise BackupError(f"{Path(arguments[0]).name} failed: {errors[0]}")


def _dump_postgresql(engine, path):
    pg_dump = _tool("pg_dump")
    with engine.connect().execution_options(isolation_level="REPEATABLE READ") as conn, conn.begin():
        snapshot_id = conn.execute(text("SELECT pg_export_snapshot()")).scalar_one()
        version = conn.execute(text("SHOW server_version")).scalar_one()
        found = _snapshot_of(conn, "postgresql", version.split()[0])
        # The exported snapshot lives as long as this transaction: pg_dump runs inside it.
        _run([pg_dump, "--format=custom", f"--snapshot={snapshot_id}", f"--file={path}", "--no-password"],
             _libpq_environment(engine.url))
    return found


def _restore_postgresql(engine, path):
    pg_restore = _tool("pg_restore")
    engine.dispose()
    _run([pg_restore, "--no-owner", "--no-privileges", "--exit-on-error", "--single-transaction",
          "--no-password", f"--dbname={engine.url.database}", str(path)], _libpq_environment(engine.url))


# --- SQLite -----------------------------------------------------------------------------------

def _sqlite_file(url):
    if not url.database or url.database == ":memory:" or url.database.startswith("file::memory:"):
        raise BackupError("the database is in memory: there is no file to back up or restore into")
    return Path(url.database)


def _dump_sqlite(engine, path):
    live = _sqlite_file(engine.url)
    if not live.is_file():  # sqlite3 would make an empty one
        raise BackupError(f"there is no database file at {live}")
    source = sqlite3.connect(live, timeout=SQLITE_BUSY_MS / 1000)
    copy = sqlite3.connect(path)
    try:
        source.backup(copy)  # every page in one step: one snapshot
        # Read with sqlite3 itself: an engine's connect hook would put the copy in WAL mode.
        copy.execute("PRAGMA journal_mode=DELETE")
        tables = sorted(name for (name,) in copy.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"))
        found = read_snapshot(lambda sql: copy.execute(sql).fetchall(), tables, "sqlite",
                              sqlite3.sqlite_version)
    finally:
        copy.close()
        source.close()
    return found


def _restore_sqlite(engine, path):
    target = _sqlite_file(engine.url)
    engine.dispose()
    target.parent.mkdir(parents=True, exist_ok=True)
    source = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)
    copy = sqlite3.connect(target, timeout=SQLITE_BUSY_MS / 1000)
    try:
        source.backup(copy)
    finally:
        copy.close()
        source.close()


# --- both -------------------------------------------------------------------------------------

def dump(engine, path):
    """Write one consistent copy of the database to the local ``path``; what it holds."""
    kind = kind_of(engine.url)
    return _dump_postgresql(engine, path) if kind == "postgresql" else _dump_sqlite(engine, path)


def restore(engine, path, kind):
    """Load the copy at ``path`` into the (checked empty) database of ``engine``."""
    if kind_of(engine.url) != kind:
        raise BackupError(f"the backup is of a {kind} database and cannot go into {describe(engine.url)}")
    (_restore_postgresql if kind == "postgresql" else _restore_sqlite)(engine, path)
    engine.dispose()


def snapshot_now(engine):
    """Row counts and revision of the database as it is now (after a restore)."""
    with engine.connect() as conn:
        return _snapshot_of(conn, kind_of(engine.url))
