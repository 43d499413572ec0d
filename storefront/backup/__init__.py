"""Backups of the whole shop: ``flask backup DEST`` and ``flask restore SRC`` (docs/backup.md).

A backup is one self-contained set in a folder or an S3-compatible bucket: the database (a
``pg_dump`` of one snapshot, or SQLite's backup API), then every file of the media and scan
stores, then ``manifest.json`` naming each file with its size and SHA-256. The manifest is
written last, so a set without one did not finish. A restore checks the whole set before it
touches anything, and goes only into an empty database.
"""


class BackupError(RuntimeError):
    """A backup or restore cannot go on; the message is one line of English for the operator."""
