"""Numbers that come in a URL: ids in a path, page numbers, cursors, ``?sebelum=``.

Each is read here and bounded by what the database column can hold, so a typed, truncated or
hostile number means "no such row" (a 404) or is ignored; it never reaches the database as a
value the driver or the column refuses (a 500: SQLite's "Python int too large to convert to
SQLite INTEGER", PostgreSQL's "integer out of range").
"""
import re

from werkzeug.routing import IntegerConverter, ValidationError

#: The largest value of an ``Integer`` column, which every id, price and count in the schema is:
#: PostgreSQL's ``integer`` is 32-bit (SQLite's are 64-bit, so the smaller bound serves both).
INTEGER_MAX = 2 ** 31 - 1
#: Plain ASCII digits. ``str.isdigit`` also takes "²" (which ``int`` refuses) and ``int`` also
#: takes " 7", "+5", "1_000" and "١٢٣"; neither is a number a link of ours writes.
_DIGITS = re.compile(r"[0-9]+")
#: Longer text is refused before ``int`` reads it (our links never pad a number with zeros).
_MAX_DIGITS = 20


def whole_number(text, minimum=0, maximum=INTEGER_MAX):
    """``text`` as an int when it is ASCII digits (around it, spaces) from ``minimum`` to
    ``maximum``; None for anything else, including None."""
    if not isinstance(text, str):
        return None
    text = text.strip()
    if len(text) > _MAX_DIGITS or not _DIGITS.fullmatch(text):
        return None
    value = int(text)
    return value if minimum <= value <= maximum else None


def row_id(value):
    """A row id from a form (``coerce`` of a field of ids): 1 to ``INTEGER_MAX``, else ValueError,
    which the field reports as an invalid choice."""
    number = whole_number(str(value), minimum=1)
    if number is None:
        raise ValueError(value)
    return number


class IdConverter(IntegerConverter):
    """``<id:name>`` in a route: a row id from 1 to ``INTEGER_MAX``. Anything else (a longer
    number, 0, a sign, other digits) does not match the route, so it is the shop's 404 page."""

    regex = r"[0-9]{1,%d}" % _MAX_DIGITS

    def __init__(self, map):
        super().__init__(map, min=1, max=INTEGER_MAX)

    def to_python(self, value):
        number = whole_number(value, minimum=self.min, maximum=self.max)
        if number is None:
            raise ValidationError()
        return number


def init_app(app):
    """Register ``<id:...>``; call before the blueprints, whose rules look it up as they are added."""
    app.url_map.converters["id"] = IdConverter
