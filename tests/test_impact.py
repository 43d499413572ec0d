"""The impact report: the public page ``/dampak`` and its charts, the office's ``/kantor/dampak``
and its CSV. The figures must equal the payouts and orders made through the real services:
paid payouts only, by their WITA date; buyers' money by the WITA moment of payment."""
import base64
import csv
import hashlib
import io
from datetime import date, datetime, timezone
from xml.etree import ElementTree

import pytest
from sqlalchemy import update

from storefront.clock import today_wita
from storefront.extensions import db
from storefront.impact.queries import Period, PeriodError, parse_period
from storefront.orders.models import Order
from storefront.security_headers import PAGE_POLICY
from storefront.settlement.payouts import (batch_payouts, build_batch, mark_payout_failed, mark_payout_paid,
                                           review_account, submit_account)
from storefront.unit_of_work import unit_of_work

from .factories import (make_certified_village, make_order, make_sellable_food, make_user, move_parcel,
                        parcels_of, sign_in)

# /kantor/dampak joins the office's pages here until storefront/office/__init__.py lists it (the
# app is built after the tests are collected).

BUYER = {"name": "Yohana Rahasia", "email": "yohana.rahasia@example.org", "phone": "+6281299887766",
         "street": "Jl. Rahasia Nomor 99"}
PERIOD = {"dari": "2025-06-01", "sampai": "2025-07-31"}
SVG = "{http://www.w3.org/2000/svg}"


def _paid_at(order, moment):
    db.session.execute(update(Order).where(Order.id == order.id).values(paid_at=moment))
    db.session.commit()


def _verified_account(village):
    with unit_of_work():
        account = submit_account(village.id, bank_code="130", account_number="0012345678",
                                 holder_name=f"Kelompok {village.name}", actor_name="test")
        review_account(account.id, verified=True, actor_name="office")


def _batch():
    with unit_of_work():
        return {payout.village_id: payout for payout, *_rest in batch_payouts(build_batch(1, "office").id)}


def _paid(payout, day):
    with unit_of_work():
        mark_payout_paid(payout.id, bank_reference=f"REF{payout.id:05d}", paid_on=day, actor_name="office")


class World:
    """Two villages that sold, a third that did not; orders either side of a WITA month's edge;
    a paid payout per selling village, one paid and then returned by the bank (failed), and one
    still on its way."""

    def __init__(self):
        self.ngada = make_certified_village(name="Beiposo", regency_code="53.09", email=None)
        self.sikka = make_certified_village(name="Watublapi", regency_code="53.07", email=None)
        self.alor = make_certified_village(name="Hula", regency_code="53.05", email=None)
        self.coffee = make_sellable_food(self.ngada, name="Kopi Arabika Bajawa", price_idr=85000)
        self.cloth = make_sellable_food(self.sikka, name="Selendang Ikat Sikka", price_idr=350000)
        for village in (self.ngada, self.sikka):
            _verified_account(village)
        # 00:30 WITA on 1 June 2025: a June order. Then 23:30 WITA on 31 May: a May one.
        self.june = make_order({self.ngada: [(self.coffee, 2)]}, **BUYER)
        _paid_at(self.june, datetime(2025, 5, 31, 16, 30, tzinfo=timezone.utc))
        self.may = make_order({self.ngada: [(self.coffee, 1)], self.sikka: [(self.cloth, 1)]}, **BUYER)
        _paid_at(self.may, datetime(2025, 5, 31, 15, 30, tzinfo=timezone.utc))
        self.declined = make_order({self.sikka: [(self.cloth, 2)]}, **BUYER)
        _paid_at(self.declined, datetime(2025, 6, 10, 2, 0, tzinfo=timezone.utc))
        for order in (self.june, self.may):
            for parcel in parcels_of(order):
                move_parcel(parcel, "accepted", "packed", "shipped", "delivered")
        move_parcel(parcels_of(self.declined)[0], "declined")
        # Available now: Ngada 2*85000+20000 + 85000+20000 = 295000; Sikka 350000+20000 = 370000.
        first = _batch()
        _paid(first[self.ngada.id], date(2025, 6, 1))  # the 1st in WITA: June
        # Marked paid on 20 June, then the bank returned it: a failed payout, not paid.
        _paid(first[self.sikka.id], date(2025, 6, 20))
        with unit_of_work():
            mark_payout_failed(first[self.sikka.id].id, reason="rekening ditutup", actor_name="office")
        second = _batch()  # the failed transfer's money came back: Sikka again
        _paid(second[self.sikka.id], date(2025, 7, 15))
        self.later = make_order({self.ngada: [(self.coffee, 3)]}, **BUYER)
        _paid_at(self.later, datetime(2025, 8, 5, 4, 0, tzinfo=timezone.utc))
        move_parcel(parcels_of(self.later)[0], "accepted", "packed", "shipped", "delivered")
        self.on_its_way = _batch()[self.ngada.id]  # sent, never confirmed: 3*85000+20000 = 275000


@pytest.fixture
def world(app):
    return World()


def _office(app):
    client = app.test_client()
    sign_in(client, make_user("verifier"))
    return client


def test_public_page_counts_paid_payouts_by_wita_date_and_buyers_money_by_wita_payment(client, world):
    html = client.get("/dampak", query_string=PERIOD).get_data(as_text=True)
    # Paid: Ngada's 295000 on 1 June and Sikka's 370000 on 15 July; the failed transfer is not paid.
    assert "Rp 665.000" in html and "Rp 1.035.000" not in html
    # Buyers' money: the June order (00:30 WITA on 1 June) and the declined one, not the May order.
    assert "Rp 910.000" in html
    assert "73,1%" in html  # 665000 / 910000, said in Indonesian
    rows = _table_rows(html, "Dibayarkan ke desa per kabupaten")
    assert rows == [["Sikka", "0", "Rp 370.000"], ["Ngada", "1", "Rp 295.000"], ["Total", "1", "Rp 665.000"]]
    months = _table_rows(html, "Dibayarkan ke desa dan uang pembeli per bulan")
    assert months == [["Juni 2025", "Rp 910.000", "Rp 295.000"], ["Juli 2025", "Rp 0", "Rp 370.000"],
                      ["Total", "Rp 910.000", "Rp 665.000"]]
    # Still on its way: the payout sent to the bank, not yet confirmed.
    assert "Rp 275.000" in html


def test_a_period_moves_every_figure_with_it(client, world):
    may = client.get("/dampak?dari=2025-05-01&sampai=2025-05-31").get_data(as_text=True)
    assert _table_rows(may, "Dibayarkan ke desa dan uang pembeli per bulan") == [
        ["Mei 2025", "Rp 475.000", "Rp 0"], ["Total", "Rp 475.000", "Rp 0"]]
    assert _table_rows(may, "Dibayarkan ke desa per kabupaten") == [
        ["Sikka", "1", "Rp 0"], ["Ngada", "1", "Rp 0"], ["Total", "2", "Rp 0"]]
    # A payout dated the 1st belongs to that day only: not to the day before.
    june_first = client.get("/dampak?dari=2025-06-01&sampai=2025-06-01").get_data(as_text=True)
    assert _table_rows(june_first, "Dibayarkan ke desa dan uang pembeli per bulan")[-1] == [
        "Total", "Rp 190.000", "Rp 295.000"]
    may_last = client.get("/dampak?dari=2025-05-31&sampai=2025-05-31").get_data(as_text=True)
    assert _table_rows(may_last, "Dibayarkan ke desa dan uang pembeli per bulan")[-1] == [
        "Total", "Rp 475.000", "Rp 0"]


def test_public_page_shows_no_personal_data(client, world):
    responses = [client.get("/dampak", query_string=PERIOD), client.get("/dampak"),
                 client.get("/dampak/bulanan.svg", query_string=PERIOD),
                 client.get("/dampak/kabupaten.svg", query_string=PERIOD)]
    for response in responses:
        assert response.status_code == 200
        body = response.get_data(as_text=True)
        for secret in (*BUYER.values(), "Rahasia", world.june.number, "REF0"):
            assert secret not in body, secret
    assert "Beiposo" not in responses[0].get_data(as_text=True)  # regencies, not villages


@pytest.mark.parametrize("path", ["/dampak/bulanan.svg", "/dampak/kabupaten.svg"])
def test_charts_are_svg_files_that_need_nothing_from_outside(client, world, path):
    response = client.get(path, query_string=PERIOD)
    assert response.status_code == 200 and response.mimetype == "image/svg+xml"
    root = ElementTree.fromstring(response.data)
    assert root.tag == f"{SVG}svg" and root.get("viewBox")
    text = response.get_data(as_text=True)
    for outside in ("<script", "http://pygal", "https:", "xml-stylesheet", "@import", "url(", "style=\""):
        assert outside not in text, outside
    labels = {node.text for node in root.iter(f"{SVG}text")}
    assert {"Jun 25", "Jul 25"} <= labels if "bulanan" in path else {"Ngada", "Sikka"} <= labels
    # Its policy lets exactly its own <style> apply, and nothing run or load.
    policy = response.headers["Content-Security-Policy"]
    styles = [node.text for node in root.iter(f"{SVG}style")]
    assert len(styles) == 1
    digest = base64.b64encode(hashlib.sha256(styles[0].encode()).digest()).decode()
    assert f"style-src 'sha256-{digest}'" in policy and "default-src 'none'" in policy
    assert "script" not in policy and "unsafe" not in policy
    assert response.headers["X-Content-Type-Options"] == "nosniff"


def test_the_page_shows_each_chart_with_an_image_its_policy_allows(client, world):
    response = client.get("/dampak", query_string=PERIOD)
    html = response.get_data(as_text=True)
    assert response.headers["Content-Security-Policy"] == PAGE_POLICY  # the strict one, unchanged
    assert "img-src 'self'" in PAGE_POLICY
    for chart in ("/dampak/bulanan.svg?dari=2025-06-01&amp;sampai=2025-07-31",
                  "/dampak/kabupaten.svg?dari=2025-06-01&amp;sampai=2025-07-31"):
        assert f'src="{chart}"' in html
    images = html.count("<img")
    assert images == 2 and html.count('alt="Diagram batang') == 2
    # Each chart is followed by a table of the same numbers, with a caption and header cells.
    assert html.count("<caption>") == 2 and 'scope="col"' in html and 'scope="row"' in html


@pytest.mark.parametrize("query", [
    "dari=2025-13-01", "dari=abc", "sampai=31-07-2025", "dari=2025-07-01&sampai=2025-06-01",
    "dari=1900-01-01", "dari=2000-01-01&sampai=2025-01-01", "dari=" + "9" * 500, "dari=2025-02-30",
    "dari=%F0%9F%92%A9",
])
def test_a_period_that_cannot_be_read_falls_back_with_a_message(client, query):
    response = client.get(f"/dampak?{query}")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert "Menampilkan 12 bulan terakhir." in html
    for path in ("/dampak/bulanan.svg", "/dampak/kabupaten.svg"):
        assert client.get(f"{path}?{query}").status_code == 200
    office = _office(client.application)
    page = office.get(f"/kantor/dampak?{query}")
    assert page.status_code == 200 and "Menampilkan 12 bulan terakhir." in page.get_data(as_text=True)
    assert office.get(f"/kantor/dampak.csv?{query}").status_code == 200


def test_an_empty_shop_has_an_impact_page_too(client):
    html = client.get("/dampak").get_data(as_text=True)
    assert "Rp 0" in html and "Menampilkan" not in html
    assert client.get("/dampak/kabupaten.svg").status_code == 200


def test_the_footer_links_to_the_page_and_english_works(client):
    assert 'href="/dampak"' in client.get("/").get_data(as_text=True)
    client.get("/bahasa/en")
    html = client.get("/dampak?dari=x").get_data(as_text=True)
    assert "Impact on the villages" in html and "Showing the last 12 months instead." in html


def test_office_report_has_villages_sales_best_sellers_refunds_and_share(app, world):
    html = _office(app).get("/kantor/dampak", query_string=PERIOD).get_data(as_text=True)
    assert _table_rows(html, "Penjualan dan pembayaran per desa") == [
        ["Watublapi", "Sikka", "0", "0", "Rp 0", "Rp 370.000"],
        ["Beiposo", "Ngada", "1", "2", "Rp 170.000", "Rp 295.000"]]
    assert "Hula" not in html
    top = _table_rows(html, "10 produk teratas menurut jumlah barang terjual")
    assert top == [["Kopi Arabika Bajawa " + world.coffee.sku, "Beiposo", "2", "Rp 170.000"]]
    assert "73,1%" in html
    # The parcel was declined today (the test's today): a refund of today, not of 2025.
    refunds = dict((row[0], row[1:]) for row in _table_rows(html, "Uang yang dikembalikan dalam periode ini"))
    assert refunds["Ditolak desa setelah dibayar"] == ["0", "Rp 0"]
    today = today_wita().isoformat()
    html = _office(app).get(f"/kantor/dampak?dari={today}&sampai={today}").get_data(as_text=True)
    refunds = dict((row[0], row[1:]) for row in _table_rows(html, "Uang yang dikembalikan dalam periode ini"))
    assert refunds["Ditolak desa setelah dibayar"] == ["1", "Rp 720.000"]
    assert refunds["Dibatalkan setelah dibayar"] == ["0", "Rp 0"]
    assert refunds["Diambil kembali dari buku kas desa"] == ["1", "Rp 720.000"]


def test_office_csv_has_the_same_tables(app, world):
    response = _office(app).get("/kantor/dampak.csv", query_string=PERIOD)
    assert response.mimetype == "text/csv"
    assert 'filename="dampak-2025-06-01-2025-07-31.csv"' in response.headers["Content-Disposition"]
    tables = _csv_tables(response.get_data(as_text=True))
    summary = tables["summary"][0]
    assert summary["paid_to_villages_idr"] == "665000" and summary["payouts"] == "2"
    assert summary["buyers_money_idr"] == "910000" and summary["share_percent"] == "73.1"
    assert summary["villages_selling"] == "1" and summary["units"] == "2" and summary["goods_idr"] == "170000"
    assert summary["payouts_sent_idr"] == "275000"
    assert [(r["month"], r["paid_to_villages_idr"], r["buyers_money_idr"]) for r in tables["by_month"]] == [
        ("2025-06", "295000", "910000"), ("2025-07", "370000", "0")]
    assert {r["regency_code"]: r["paid_to_villages_idr"] for r in tables["by_regency"]} == {
        "53.09": "295000", "53.07": "370000"}
    assert [(r["village"], r["paid_to_villages_idr"]) for r in tables["by_village"]] == [
        ("Watublapi", "370000"), ("Beiposo", "295000")]
    assert tables["top_products_by_units"][0]["sku"] == world.coffee.sku
    assert {r["what"]: r["amount_idr"] for r in tables["refunds"]} == {  # refunded today, not in 2025
        "Ditolak desa setelah dibayar": "0", "Dibatalkan setelah dibayar": "0",
        "Dikembalikan uangnya setelah diterima": "0", "Diambil kembali dari buku kas desa": "0"}
    assert tables["summary"] and "Ringkasan" in response.get_data(as_text=True)
    assert tables["period"] == [{"from": "2025-06-01", "to": "2025-07-31"}]


@pytest.mark.parametrize("role", ["customer", "village_member"])
def test_office_report_is_for_the_office_only(app, client, role):
    village = make_certified_village()
    sign_in(client, make_user(role, village=village if role == "village_member" else None))
    assert client.get("/kantor/dampak").status_code == 403
    assert client.get("/kantor/dampak.csv").status_code == 403


def test_office_report_asks_a_stranger_to_sign_in(client):
    assert client.get("/kantor/dampak").status_code == 302
    assert client.get("/kantor/dampak.csv").status_code == 302


def test_pages_cost_the_same_few_queries_for_one_village_or_many(app, client, count_queries):
    office = _office(app)

    def costs():
        counts = []
        for url in ("/dampak", "/dampak/bulanan.svg", "/dampak/kabupaten.svg", "/kantor/dampak",
                    "/kantor/dampak.csv"):
            with count_queries() as counter:
                response = (office if url.startswith("/kantor") else client).get(url)
            assert response.status_code == 200, url
            counts.append(counter.count)
        return counts

    _sold_and_paid(1)
    few = costs()
    _sold_and_paid(6)
    assert costs() == few
    assert few[0] <= 5 and few[1:3] == [1, 2] and few[3] <= 16


def _sold_and_paid(villages):
    made = []
    for n in range(villages):
        village = make_certified_village(regency_code=f"53.{n + 1:02d}", email=None)
        product = make_sellable_food(village)
        _verified_account(village)
        move_parcel(parcels_of(make_order({village: [(product, 1)]}))[0], "accepted", "packed", "shipped",
                    "delivered")
        made.append(village)
    for payout in _batch().values():
        _paid(payout, today_wita())
    return made


# --- reading pages ---------------------------------------------------------------------------------

def _table_rows(html, caption):
    """The body and footer rows of the table with ``caption``, as lists of cell texts."""
    import re

    found = re.search(r"<caption>" + re.escape(caption) + r"</caption>(.*?)</table>", html, re.S)
    assert found, f"no table {caption!r}"
    rows = []
    for row in re.findall(r"<tr>(.*?)</tr>", found.group(1).split("</thead>")[-1], re.S):
        cells = re.findall(r"<t[hd][^>]*>(.*?)</t[hd]>", row, re.S)
        rows.append([" ".join(re.sub(r"<[^>]+>", " ", cell).split()) for cell in cells])
    return rows


def _csv_tables(text):
    """The file's tables by their codes, each a list of rows keyed by column codes (the file
    names them in the reader's language: Indonesian here)."""
    from storefront.office.impact import COLUMNS, TABLES

    codes = {str(label): code for code, label in {**TABLES, **COLUMNS}.items()}
    tables, lines = {}, list(csv.reader(io.StringIO(text)))
    while lines:
        name, header, *rest = lines
        end = rest.index([]) if [] in rest else len(rest)
        tables[codes[name[0]]] = [dict(zip([codes[h] for h in header], row)) for row in rest[:end]]
        lines = rest[end + 1:]
    return tables


def test_a_period_may_leave_out_either_end(app):
    today = date(2026, 12, 3)
    assert parse_period("", "", today) == Period(date(2026, 1, 1), today)
    assert parse_period(None, "2025-06-30", today) == Period(date(2024, 7, 1), date(2025, 6, 30))
    assert parse_period("2025-06-15", None, today) == Period(date(2025, 6, 15), today)
    assert parse_period("2027-01-05", "", today) == Period(date(2027, 1, 5), date(2027, 1, 5))
    assert parse_period("2025-06-01", "2025-06-01", today).months == ["2025-06"]
    assert parse_period("2024-11-20", "2025-02-01", today).months == [
        "2024-11", "2024-12", "2025-01", "2025-02"]
    with pytest.raises(PeriodError):
        parse_period("2020-01-01", "2025-06-01", today)


def test_cash_on_delivery_sells_when_delivered_and_is_no_buyers_money(app):
    village = make_certified_village(name="Mosu", regency_code="53.12", email=None, cod_allowed=True)
    product = make_sellable_food(village, price_idr=40000)
    delivered = make_order({village: [(product, 3)]}, payment_method="cod")
    move_parcel(parcels_of(delivered)[0], "accepted", "packed", "shipped", "delivered")
    on_its_way = make_order({village: [(product, 5)]}, payment_method="cod")
    move_parcel(parcels_of(on_its_way)[0], "accepted")
    tables = _csv_tables(_office(app).get("/kantor/dampak.csv").get_data(as_text=True))
    summary = tables["summary"][0]
    assert [summary[key] for key in ("orders", "parcels", "units", "goods_idr")] == ["1", "1", "3", "120000"]
    assert summary["villages_selling"] == "1" and summary["buyers_money_idr"] == "0"
    assert summary["share_percent"] == ""  # nothing paid through the shop: no share to speak of
