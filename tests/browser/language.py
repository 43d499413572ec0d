"""Does a page speak one language? Built from the message catalogue the translators edit."""
import re
from functools import lru_cache
from pathlib import Path

from babel.messages.pofile import read_po

PO_FILE = Path(__file__).resolve().parents[2] / "storefront/translations/id/LC_MESSAGES/messages.po"


@lru_cache(maxsize=1)
def _phrases():
    """English msgids and their Indonesian translations that differ, as whole phrases of two
    words or more without placeholders (short or shared words prove nothing)."""
    english, indonesian = set(), set()
    with PO_FILE.open("rb") as handle:
        catalogue = read_po(handle)
    for message in catalogue:
        if not message.id or message.pluralizable:
            continue
        source, target = message.id, message.string
        if not target or source == target or "%" in source or "%" in target or "<" in source:
            continue
        for phrase, bucket in ((source, english), (target, indonesian)):
            phrase = " ".join(phrase.split())
            if len(phrase.split()) >= 2 and len(phrase) >= 10:
                bucket.add(phrase)
    return english, indonesian


def untranslated(text, lang):
    """Phrases of the other language found in ``text``."""
    english, indonesian = _phrases()
    foreign = english - indonesian if lang == "id" else indonesian - english
    flat = " ".join(text.split())
    # The plain substring test first: it throws out nearly every phrase at a fraction of the cost.
    return sorted(p for p in foreign if p in flat and re.search(r"(?<!\w)" + re.escape(p) + r"(?!\w)", flat))


def assert_speaks(page, lang):
    assert page.get_attribute("html", "lang") == lang, page.url
    found = untranslated(page.inner_text("body"), lang)
    assert not found, f"{page.url} ({lang}) shows: {found[:5]}"
