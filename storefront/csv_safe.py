"""The one CSV writer of the shop: every CSV it produces (partner catalogue, village feeds) goes
through it, so that no cell can turn into a formula in the spreadsheet that opens it.

A cell that starts with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return is read by Excel,
LibreOffice and Google Sheets as a formula (``=HYPERLINK(...)`` in a product name becomes a live
link, DDE payloads run commands). Such text cells get a leading apostrophe, which spreadsheets
show as plain text (OWASP, "CSV Injection").
"""
import csv
import io

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(value):
    """``value`` as a cell a spreadsheet shows and never runs; None is empty."""
    if value is None:
        return ""
    if isinstance(value, str) and value.startswith(FORMULA_START):
        return "'" + value
    return value


class CsvWriter:
    """Rows into a text buffer, every cell through ``safe_cell``; ``take`` hands over what was
    written so far (for streaming a long file chunk by chunk)."""

    def __init__(self):
        self._buffer = io.StringIO()
        self._writer = csv.writer(self._buffer)

    def writerow(self, row):
        self._writer.writerow([safe_cell(value) for value in row])

    def writerows(self, rows):
        for row in rows:
            self.writerow(row)

    def take(self):
        text = self._buffer.getvalue()
        self._buffer.seek(0)
        self._buffer.truncate()
        return text
