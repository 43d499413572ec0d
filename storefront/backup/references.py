"""The files the database names: what a backup must hold and a restore must bring back.

A backup compares them with the files it copied (a file deleted while it ran shows up here), and a
restore with the files now in storage. Files nobody names (share cards, held scans, a photo
uploaded during the backup) are copied too, but are not required.
"""
import json

from ..media import SIZES

#: (table, SQL) of the rows naming a photo (media: every size of it) or a scan.
_PHOTOS = (("product_photos", "SELECT key FROM product_photos"),
           ("villages", "SELECT photo FROM villages WHERE photo IS NOT NULL"))
#: Only a waiting proposal's photos are kept; a decided one's unused photos were deleted.
_PROPOSED = ("product_revisions", "SELECT photo_keys FROM product_revisions WHERE status = 'pending'")
_SCANS = (("certificate_scans", "SELECT key FROM certificate_scans"),
          ("transfer_receipts", "SELECT key FROM transfer_receipts WHERE key IS NOT NULL"))


def named_files(rows, tables):
    """Set names ("media/<key>-s.jpg", "scans/<key>") of every file that rows name, read with
    ``rows(sql)``; tables missing from ``tables`` (another release's schema) are skipped."""
    photos = [key for table, sql in _PHOTOS if table in tables for (key,) in rows(sql)]
    table, sql = _PROPOSED
    if table in tables:
        photos += [key for (keys,) in rows(sql) for key in json.loads(keys or "[]")]
    names = {f"media/{key}-{size}.jpg" for key in photos for size in SIZES}
    names |= {f"scans/{key}" for table, sql in _SCANS if table in tables for (key,) in rows(sql)}
    return names
