"""The finance pages (issue 15): the village's "Keuangan" page, statement CSV and bank account in
the portal; the office's overview, bank accounts, fee, payout batches, bank file, payouts paid or
failed, and a village's statement with adjustments. Through the pages, as people use them, on
SQLite and PostgreSQL: a member sees and changes only its own village's money, bad input gets a
message and changes nothing, and the statement costs the same number of queries however long.
"""
import csv
import io
import json
import re
from datetime import date, timedelta
from urllib.parse import urlparse

import pytest
from sqlalchemy import func, select

from storefront.clock import today_wita
from storefront.extensions import db
from storefront.outbox.models import OutboxMessage
from storefront.settlement import ledger, payouts
from storefront.settlement.ledger import LedgerError
from storefront.settlement.models import BankAccount, FeeRate, LedgerEntry, Payout, PayoutBatch
from storefront.unit_of_work import unit_of_work

from .browser.language import untranslated
from .conftest import csrf_token
from .factories import (make_certified_village, make_order, make_sellable_food, make_user, move_parcel,
                        parcels_of, sign_in)

TO_DELIVERED = ("accepted", "packed", "shipped", "delivered")
NUMBER_A, NUMBER_B = "0010102012345", "7770001112223"


# --- helpers -------------------------------------------------------------------------------------

def _client(app, user):
    client = app.test_client()
    sign_in(client, user)
    return client


def _post(client, url, data, page="/portal/keuangan"):
    """Post ``data`` as the form on ``page`` would (its CSRF token)."""
    token = csrf_token(client.get(page).get_data(as_text=True))
    return client.post(url, data={"csrf_token": token, **data})


def _flash(client, response):
    """The page a 303 leads to, as the browser shows it next."""
    assert response.status_code == 303, response.get_data(as_text=True)[:300]
    return client.get(response.headers["Location"]).get_data(as_text=True)


def _text(html):
    return " ".join(re.sub(r"<[^>]+>", " ", html).split())


def _adjust(village, amount, memo="saldo awal uji"):
    with unit_of_work():
        return ledger.adjust(village.id, amount, "test", memo).id


def _account(village, number=NUMBER_A, verified=True):
    with unit_of_work():
        account = payouts.submit_account(village.id, bank_code="130", account_number=number,
                                         holder_name="Kelompok Tani Uji", actor_name="member")
        if verified:
            payouts.review_account(account.id, verified=True, actor_name="office")
    return account.id


def _delivered_parcel(village, price=100_000, shipping=20_000):
    product = make_sellable_food(village, price_idr=price, stock=100)
    order = make_order({village: [(product, 1)]}, shipping_idr=shipping)
    (parcel,) = parcels_of(order)
    move_parcel(parcel, *TO_DELIVERED)
    return order


def _snapshot():
    """Everything the finance pages can change."""
    db.session.expire_all()
    rows = lambda model, *cols: db.session.execute(select(*cols).order_by(model.id)).all()
    return (rows(LedgerEntry, LedgerEntry.id, LedgerEntry.amount_idr),
            rows(BankAccount, BankAccount.id, BankAccount.status, BankAccount.account_number),
            rows(Payout, Payout.id, Payout.status, Payout.bank_reference),
            rows(FeeRate, FeeRate.id, FeeRate.basis_points), rows(PayoutBatch, PayoutBatch.id),
            db.session.scalar(select(func.count(OutboxMessage.id))))


@pytest.fixture
def two(app):
    """Villages A and B with a member each, and an office verifier."""
    a, b = make_certified_village(name="Desa Beiposo"), make_certified_village(name="Desa Watublapi")
    office = make_user("verifier")
    return {"a": a, "b": b, "member_a": _client(app, make_user("village_member", village=a)),
            "member_b": _client(app, make_user("village_member", village=b)), "office": _client(app, office)}


# --- the village portal --------------------------------------------------------------------------

def test_a_member_sees_its_own_balance_statement_and_csv_and_how_it_gets_paid(app, two):
    a, b = two["a"], two["b"]
    with unit_of_work():
        ledger.set_fee_basis_points(250, "office")
    order_a = _delivered_parcel(a, price=100_000, shipping=20_000)  # fee 2.5 % of 100,000 = 2,500
    product = make_sellable_food(a, price_idr=50_000)
    pending_order = make_order({a: [(product, 1)]}, shipping_idr=10_000)
    order_b = _delivered_parcel(b, price=300_000)

    html = two["member_a"].get("/portal/keuangan").get_data(as_text=True)
    text = _text(html)
    assert "Keuangan Desa Beiposo" in text
    assert "Tersedia Rp 117.500" in text and "Tertunda Rp 58.750" in text  # 50,000 + 10,000 - 1,250
    assert f"Paket {order_a.number} diterima" in text and "-Rp 2.500" in text and "2,5 %" in text
    assert pending_order.number in text and order_b.number not in text and "Rp 312.500" not in text
    # When and how the money comes, and who keeps the shipping.
    assert "ongkos kirim" in text and "Desa Anda menyimpan ongkos kirim" in text
    assert "Belum ada pembayaran yang dapat dilakukan: masukkan rekening bank Anda" in text
    assert untranslated(html, "id") == []

    response = two["member_a"].get("/portal/keuangan.csv")
    assert response.mimetype == "text/csv" and "private" in response.headers["Cache-Control"]
    assert re.match(r'attachment; filename="keuangan-desa-\d+-\d{4}-\d\d-\d\d\.csv"',
                    response.headers["Content-Disposition"])
    rows = list(csv.reader(io.StringIO(response.get_data().decode("utf-8-sig"))))
    assert rows[0][:4] == ["Tanggal (WITA)", "Jenis saldo", "Entri", "Keterangan"]
    assert [(r[1], r[9], r[10]) for r in rows[1:]] == [
        ("dana tertunda", "117500", "117500"), ("dana tertunda", "-117500", "0"),
        ("dana tersedia", "117500", "117500"), ("dana tertunda", "58750", "58750")]
    assert order_b.number not in response.get_data(as_text=True)

    text_b = _text(two["member_b"].get("/portal/keuangan").get_data(as_text=True))
    assert order_b.number in text_b and order_a.number not in text_b and "Keuangan Desa Watublapi" in text_b
    assert order_a.number not in two["member_b"].get("/portal/keuangan.csv").get_data(as_text=True)


def test_the_next_payout_is_told_plainly(app, two):
    a, member = two["a"], two["member_a"]
    app.config.update(PAYOUT_MINIMUM_IDR=50_000, PAYOUT_WEEKDAY=4)
    _account(a, verified=False)
    assert "sampai kantor memverifikasi rekening bank Anda" in _text(member.get("/portal/keuangan").get_data(as_text=True))
    with unit_of_work():
        payouts.review_account(payouts.current_account(a.id).id, verified=True, actor_name="office")
    _adjust(a, -10_000, memo="biaya COD")
    assert "Desa Anda berutang Rp 10.000 kepada toko" in _text(member.get("/portal/keuangan").get_data(as_text=True))
    _adjust(a, 30_000)
    assert "dibayar setelah mencapai Rp 50.000 (sekarang Rp 20.000)" in _text(
        member.get("/portal/keuangan").get_data(as_text=True))
    _adjust(a, 40_000)
    friday = payouts.next_payout_date(today_wita(), 4)
    assert friday.weekday() == 4 and 0 <= (friday - today_wita()).days < 7
    text = _text(member.get("/portal/keuangan").get_data(as_text=True))
    assert f"Rp 60.000 pada Jumat, {friday.day} " in text and "•••• 2345" in text


def test_the_statement_pages_older_entries(app, two, monkeypatch):
    monkeypatch.setattr("storefront.statement.PAGE_SIZE", 3)
    ids = [_adjust(two["a"], 1000 * (n + 1), memo=f"koreksi nomor {n + 1}") for n in range(5)]
    html = two["member_a"].get("/portal/keuangan").get_data(as_text=True)
    assert [int(n) for n in re.findall(r"koreksi nomor (\d)", html)] == [5, 4, 3]
    older = re.search(r'rel="next" href="([^"]+)"', html).group(1).replace("&amp;", "&")
    assert older.endswith(f"sebelum={ids[2]}#statement")
    html = two["member_a"].get(older.split("#")[0]).get_data(as_text=True)
    assert [int(n) for n in re.findall(r"koreksi nomor (\d)", html)] == [2, 1]
    assert "Rp 3.000" in html and 'rel="next"' not in html  # balance after line 2: 1,000 + 2,000
    for odd in ("abc", "-1", "9" * 30, "0"):
        assert two["member_a"].get(f"/portal/keuangan?sebelum={odd}").status_code == 200


def test_a_member_of_b_gets_its_own_data_and_cannot_change_a(app, two):
    a, b = two["a"], two["b"]
    _account(a, number=NUMBER_A)
    _adjust(a, 75_000, memo="koreksi khusus desa A")
    before = _snapshot()
    member_b = two["member_b"]
    for url in ("/portal/keuangan", "/portal/keuangan.csv", "/portal/keuangan/rekening"):
        body = member_b.get(url).get_data(as_text=True)
        assert "koreksi khusus desa A" not in body and NUMBER_A not in body and "2345" not in body, url
    # B's post goes to B's own account; A's stays verified as it was.
    answer = _post(member_b, "/portal/keuangan/rekening",
                   {"bank_code": "002", "account_number": NUMBER_B, "holder_name": "Kelompok B"})
    assert "Rekening disimpan" in _flash(member_b, answer)
    db.session.expire_all()
    assert payouts.current_account(a.id).account_number == NUMBER_A
    assert payouts.current_account(a.id).status == "verified"
    assert payouts.current_account(b.id).account_number == NUMBER_B
    assert _snapshot()[1][:1] == before[1][:1]
    # The office's pages and actions are not the village's.
    for method, url in [("get", "/kantor/keuangan"), ("get", f"/kantor/desa/{a.id}/keuangan"),
                        ("post", f"/kantor/rekening/{payouts.current_account(b.id).id}/verifikasi"),
                        ("post", f"/kantor/desa/{a.id}/keuangan/penyesuaian")]:
        response = member_b.get(url) if method == "get" else _post(member_b, url, {"amount_idr": "-75000",
                                                                                  "reason": "curang"})
        assert response.status_code == 403, url
    assert ledger.balance(a.id) == (0, 75_000)
    assert payouts.current_account(b.id).status == "unverified"


def test_a_changed_account_waits_for_the_office_again_and_gets_no_payout(app, two):
    a, member, office = two["a"], two["member_a"], two["office"]
    page = member.get("/portal/keuangan/rekening").get_data(as_text=True)
    assert "Pilih bank" in page and "Bank NTT (130)" in page
    answer = member.post("/portal/keuangan/rekening", data={
        "csrf_token": csrf_token(page), "bank_code": "130", "account_number": "001-0102 012.345",
        "holder_name": "  Kelompok   Tani Uji "})
    html = _flash(member, answer)
    assert NUMBER_A in html and "menunggu kantor" in html  # the full number, on this screen only
    account_id = payouts.current_account(a.id).id
    # The office sees it in full with verify and refuse buttons, and verifies it.
    overview = office.get("/kantor/keuangan").get_data(as_text=True)
    assert NUMBER_A in overview and f"/kantor/rekening/{account_id}/verifikasi" in overview
    html = _flash(office, _post(office, f"/kantor/rekening/{account_id}/verifikasi", {}, page="/kantor/keuangan"))
    assert "sudah diverifikasi" in html
    _adjust(a, 80_000)
    assert "terverifikasi" in member.get("/portal/keuangan/rekening").get_data(as_text=True)
    text = _text(member.get("/portal/keuangan").get_data(as_text=True))
    assert "pembayaran berikutnya" in text and NUMBER_A not in text and "•••• 2345" in text

    # A change is a new account, unverified: no batch pays it.
    _post(member, "/portal/keuangan/rekening", {"bank_code": "009", "account_number": NUMBER_B,
                                                "holder_name": "Kelompok Tani Uji"})
    db.session.expire_all()
    assert payouts.current_account(a.id).status == "unverified" and payouts.current_account(a.id).id != account_id
    assert "menunggu kantor" in member.get("/portal/keuangan/rekening").get_data(as_text=True)
    response = _post(office, "/kantor/keuangan/batch", {"minimum_idr": "50.000"}, page="/kantor/keuangan")
    assert response.status_code == 422
    assert "Tidak ada desa dengan rekening terverifikasi yang memiliki minimal Rp 50.000" in _text(
        response.get_data(as_text=True))
    assert db.session.scalar(select(func.count(Payout.id))) == 0
    assert ledger.balance(a.id) == (0, 80_000)

    # Refused with the office's note, which the village reads.
    new_id = payouts.current_account(a.id).id
    _post(office, f"/kantor/rekening/{new_id}/tolak", {"reason": "Nama pemilik tidak sama dengan buku tabungan"},
          page="/kantor/keuangan")
    html = member.get("/portal/keuangan/rekening").get_data(as_text=True)
    assert "ditolak" in html and "Nama pemilik tidak sama dengan buku tabungan" in html


def test_a_payout_batch_its_bank_file_paid_and_failed(app, two):
    a, b, office = two["a"], two["b"], two["office"]
    c = make_certified_village(name="Desa Kecil")
    d = make_certified_village(name="Desa Tanpa Verifikasi")
    _account(a, number=NUMBER_A)
    _account(b, number=NUMBER_B)
    _account(c, number="5550001112223")
    _account(d, number="4440001112223", verified=False)
    _delivered_parcel(a, price=100_000, shipping=20_000)  # 120,000
    _adjust(b, 60_000)
    _adjust(c, 49_999)  # below the minimum
    _adjust(d, 500_000)  # unverified account

    overview = _text(office.get("/kantor/keuangan").get_data(as_text=True))
    assert "Desa Tanpa Verifikasi Rp 500.000" in overview and "menunggu kantor" in overview
    response = _post(office, "/kantor/keuangan/batch", {"minimum_idr": "50.000"}, page="/kantor/keuangan")
    batch_id = int(response.headers["Location"].rstrip("/").rpartition("/")[2])
    batch_page = _flash(office, response)
    assert "Rp 180.000" in batch_page and NUMBER_A not in batch_page  # masked outside the account screens

    file = office.get(f"/kantor/keuangan/batch/{batch_id}.csv")
    assert file.mimetype == "text/csv"
    assert file.headers["Content-Disposition"] == f'attachment; filename="pembayaran-desa-batch-{batch_id}.csv"'
    rows = list(csv.reader(io.StringIO(file.get_data(as_text=True))))
    ids = {p.village_id: p.id for p in db.session.scalars(select(Payout))}
    assert rows == [
        ["Kode bank", "Bank", "Nomor rekening", "Pemilik rekening", "Jumlah", "Keterangan", "Desa"],
        ["130", "Bank NTT", NUMBER_A, "Kelompok Tani Uji", "120000", f"Produk Desa NTT pembayaran {ids[a.id]}",
         "Desa Beiposo"],
        ["130", "Bank NTT", NUMBER_B, "Kelompok Tani Uji", "60000", f"Produk Desa NTT pembayaran {ids[b.id]}",
         "Desa Watublapi"],
    ]
    assert ledger.balance(a.id) == (0, 0) and ledger.balance(c.id) == (0, 49_999)
    assert ledger.balance(d.id) == (0, 500_000)

    # A's transfer went through: the reference and date, one Indonesian mail, on A's statement.
    paid_on = today_wita() - timedelta(days=1)
    html = _flash(office, _post(office, f"/kantor/pembayaran/{ids[a.id]}/selesai",
                                {"bank_reference": "BNTT/2026/0001", "paid_on": paid_on.isoformat()},
                                page="/kantor/keuangan"))
    assert "BNTT/2026/0001" in html
    (mail,) = db.session.scalars(select(OutboxMessage).where(OutboxMessage.kind == "payout.paid")).all()
    payload = json.loads(mail.payload)
    assert mail.village_id == a.id and mail.channel == "email" and mail.target == a.email
    assert payload["subject"] == "Pembayaran ke Desa Beiposo: Rp 120.000"
    assert "Kantor telah mentransfer Rp 120.000" in payload["text"] and "BNTT/2026/0001" in payload["text"]
    assert "http://shop.test/portal/keuangan" in payload["text"]
    statement = _text(two["member_a"].get("/portal/keuangan").get_data(as_text=True))
    assert "referensi bank BNTT/2026/0001" in statement and f"{paid_on.day} " in statement
    assert "-Rp 120.000" in statement
    # The file no longer lists what is paid.
    rows = list(csv.reader(io.StringIO(office.get(f"/kantor/keuangan/batch/{batch_id}.csv").get_data(as_text=True))))
    assert [r[6] for r in rows[1:]] == ["Desa Watublapi"]

    assert f"Pembayaran #{ids[b.id]} sebesar Rp 60.000 sedang dalam perjalanan ke •••• 2223" in _text(
        two["member_b"].get("/portal/keuangan").get_data(as_text=True))
    # B's transfer came back: the money returns to B's balance, and B reads why.
    html = _flash(office, _post(office, f"/kantor/pembayaran/{ids[b.id]}/gagal",
                                {"reason": "Rekening ditutup oleh bank"}, page="/kantor/keuangan"))
    assert "Rp 60.000" in html
    db.session.expire_all()
    assert ledger.balance(b.id) == (0, 60_000)
    statement = _text(two["member_b"].get("/portal/keuangan").get_data(as_text=True))
    assert "kembali: Rekening ditutup oleh bank" in statement and "gagal, uang dikembalikan" in statement
    assert db.session.scalar(select(func.count(OutboxMessage.id)).where(OutboxMessage.kind == "payout.paid")) == 1
    assert office.get(f"/kantor/keuangan/batch/{batch_id}.csv").get_data(as_text=True).count("\n") == 1


def test_the_fee_is_set_in_percent_and_shown_on_every_statement(app, two):
    office = two["office"]
    html = _flash(office, _post(office, "/kantor/keuangan/biaya", {"percent": "2,5"}, page="/kantor/keuangan"))
    assert "2,5 %" in html
    assert ledger.fee_basis_points() == 250
    _post(office, "/kantor/keuangan/biaya", {"percent": "0.75 %"}, page="/kantor/keuangan")
    assert ledger.fee_basis_points() == 75
    assert "0,75 %" in _text(two["member_a"].get("/portal/keuangan").get_data(as_text=True))


def test_office_adjusts_a_balance_and_reverses_it(app, two):
    a, office = two["a"], two["office"]
    url = f"/kantor/desa/{a.id}/keuangan"
    html = _flash(office, _post(office, f"{url}/penyesuaian", {"amount_idr": "-12.500",
                                                               "reason": "Ongkos kirim ganda"}, page=url))
    assert "Penyesuaian oleh kantor: Ongkos kirim ganda" in html and "-Rp 12.500" in html
    assert ledger.balance(a.id) == (0, -12_500)
    (entry_id,) = db.session.scalars(select(LedgerEntry.id)).all()
    assert f"/penyesuaian/{entry_id}/batal" in html
    html = _flash(office, _post(office, f"{url}/penyesuaian/{entry_id}/batal", {"reason": "Salah desa"}, page=url))
    assert "Penyesuaian dibatalkan oleh kantor: Salah desa" in html and f"/penyesuaian/{entry_id}/batal" not in html
    db.session.expire_all()
    assert ledger.balance(a.id) == (0, 0)
    assert "Salah desa" in two["member_a"].get("/portal/keuangan").get_data(as_text=True)
    # Another village's entry, or the reversal itself, cannot be reversed through this village.
    other = _adjust(two["b"], 5000)
    assert _post(office, f"{url}/penyesuaian/{other}/batal", {"reason": "x"}, page=url).status_code == 404
    assert _post(office, f"/kantor/desa/{two['b'].id}/keuangan/penyesuaian/999999/batal", {"reason": "x"},
                 page=url).status_code == 404


# --- bad input: a message in Indonesian, nothing changed ------------------------------------------

@pytest.fixture
def busy(app, two):
    """A's verified account and a payout being transferred; B's account waiting for the office."""
    _account(two["a"], number=NUMBER_A)
    _adjust(two["a"], 90_000, memo="saldo")
    with unit_of_work():
        batch = payouts.build_batch(50_000, "office")
    two["payout"] = db.session.scalars(select(Payout.id).where(Payout.batch_id == batch.id)).one()
    two["b_account"] = _account(two["b"], number=NUMBER_B, verified=False)
    return two


BAD_INPUTS = {
    "letters in the account number": (
        "member_a", "/portal/keuangan/rekening", "/portal/keuangan/rekening",
        lambda w: {"bank_code": "130", "account_number": "12345ABC789", "holder_name": "Kelompok"},
        "Nomor rekening terdiri dari 6 sampai 20 angka."),
    "an unknown bank": (
        "member_a", "/portal/keuangan/rekening", "/portal/keuangan/rekening",
        lambda w: {"bank_code": "999", "account_number": NUMBER_B, "holder_name": "Kelompok"},
        "Pilihan ini tidak tersedia."),
    "a transfer date in the future": (
        "office", lambda w: f"/kantor/pembayaran/{w['payout']}/selesai", "/kantor/keuangan",
        lambda w: {"bank_reference": "BNTT0001", "paid_on": (today_wita() + timedelta(days=1)).isoformat()},
        "Masukkan tanggal transfer (tidak boleh di masa depan)."),
    "no bank reference": (
        "office", lambda w: f"/kantor/pembayaran/{w['payout']}/selesai", "/kantor/keuangan",
        lambda w: {"bank_reference": "", "paid_on": date.today().isoformat()},
        "Masukkan referensi bank"),
    "an empty reason for a failed payout": (
        "office", lambda w: f"/kantor/pembayaran/{w['payout']}/gagal", "/kantor/keuangan",
        lambda w: {"reason": "   "}, "Sebutkan alasannya"),
    "an empty reason for refusing an account": (
        "office", lambda w: f"/kantor/rekening/{w['b_account']}/tolak", "/kantor/keuangan",
        lambda w: {"reason": ""}, "Sebutkan alasannya"),
    "an adjustment without a reason": (
        "office", lambda w: f"/kantor/desa/{w['a'].id}/keuangan/penyesuaian", "/kantor/keuangan",
        lambda w: {"amount_idr": "10000", "reason": " "}, "Sebutkan alasannya"),
    "an adjustment of nothing": (
        "office", lambda w: f"/kantor/desa/{w['a'].id}/keuangan/penyesuaian", "/kantor/keuangan",
        lambda w: {"amount_idr": "0", "reason": "nol"}, "Penyesuaian Rp 0 tidak mengubah apa pun."),
    "an adjustment in letters": (
        "office", lambda w: f"/kantor/desa/{w['a'].id}/keuangan/penyesuaian", "/kantor/keuangan",
        lambda w: {"amount_idr": "sepuluh ribu", "reason": "koreksi"}, "Masukkan jumlah dalam rupiah utuh"),
    "a fee of 60 %": (
        "office", "/kantor/keuangan/biaya", "/kantor/keuangan", lambda w: {"percent": "60"},
        "Biaya harus antara 0 % dan 50 %."),
    "a fee with three decimals": (
        "office", "/kantor/keuangan/biaya", "/kantor/keuangan", lambda w: {"percent": "2.555"},
        "Masukkan biaya sebagai persentase"),
    "a batch minimum of zero": (
        "office", "/kantor/keuangan/batch", "/kantor/keuangan", lambda w: {"minimum_idr": "0"},
        "Masukkan batas minimal dari Rp 1"),
}


@pytest.mark.parametrize("case", sorted(BAD_INPUTS))
def test_bad_input_gets_a_message_and_changes_nothing(busy, case):
    who, url, page, data, message = BAD_INPUTS[case]
    client = busy[who]
    url = url(busy) if callable(url) else url
    before = _snapshot()
    sent = data(busy)
    response = _post(client, url, sent, page=page)
    # The form comes back (not a redirect): the problem listed at the top, what was typed kept.
    assert response.status_code == 422, response.status_code
    html = response.get_data(as_text=True)
    summary = html.split('class="error-summary"')[1].split("</div>")[0]
    assert message in _text(summary), _text(html)[:2000]
    for name, value in sent.items():
        if value.strip() and name != "bank_code":  # a bank not on the list cannot stay chosen
            assert re.search(rf'value="{re.escape(value)}"|>\s*{re.escape(value)}</textarea>', html), value
    assert untranslated(html, "id") == []
    assert _snapshot() == before


def test_a_closed_payout_cannot_be_closed_again(busy):
    office, payout = busy["office"], busy["payout"]
    _post(office, f"/kantor/pembayaran/{payout}/selesai", {"bank_reference": "BNTT0001",
                                                           "paid_on": today_wita().isoformat()}, page="/kantor/keuangan")
    before = _snapshot()
    answer = _post(office, f"/kantor/pembayaran/{payout}/selesai",
                   {"bank_reference": "BNTT0002", "paid_on": today_wita().isoformat()}, page="/kantor/keuangan")
    assert answer.status_code == 422  # the batch page again, saying why, at the top
    summary = _text(answer.get_data(as_text=True).split('class="error-summary"')[1].split("</div>")[0])
    assert "Pembayaran ini sudah ditutup." in summary
    assert _snapshot() == before


# --- who may open the office's pages ---------------------------------------------------------------

def test_customers_and_villages_cannot_open_or_use_the_office_finance_pages(app, busy):
    a = busy["a"]
    batch = db.session.scalar(select(PayoutBatch.id))
    entry = _adjust(a, 1000)
    gets = ["/kantor/keuangan", f"/kantor/keuangan/batch/{batch}", f"/kantor/keuangan/batch/{batch}.csv",
            f"/kantor/desa/{a.id}/keuangan"]
    posts = ["/kantor/keuangan/biaya", "/kantor/keuangan/batch", f"/kantor/rekening/{busy['b_account']}/verifikasi",
             f"/kantor/rekening/{busy['b_account']}/tolak", f"/kantor/pembayaran/{busy['payout']}/selesai",
             f"/kantor/pembayaran/{busy['payout']}/gagal", f"/kantor/desa/{a.id}/keuangan/penyesuaian",
             f"/kantor/desa/{a.id}/keuangan/penyesuaian/{entry}/batal"]
    form = {"percent": "1", "minimum_idr": "1", "reason": "x", "bank_reference": "BNTT0001",
            "paid_on": today_wita().isoformat(), "amount_idr": "5000"}
    before = _snapshot()
    customer = _client(app, make_user("customer"))
    anonymous = app.test_client()
    for client in (customer, busy["member_a"], busy["member_b"]):
        token = csrf_token(client.get("/akun").get_data(as_text=True))
        for url in gets:
            assert client.get(url).status_code == 403, url
        for url in posts:
            assert client.post(url, data={"csrf_token": token, **form}).status_code == 403, url
    for url in gets + posts:
        response = anonymous.get(url) if url in gets else anonymous.post(url, data=form)
        assert response.status_code in (302, 400), url
        if response.status_code == 302:
            assert urlparse(response.headers["Location"]).path == "/masuk", url
    assert _snapshot() == before
    # Unknown ids are the office's 404, not an error.
    office = busy["office"]
    for url in ("/kantor/keuangan/batch/999999", "/kantor/keuangan/batch/999999.csv", "/kantor/desa/999999/keuangan"):
        assert office.get(url).status_code == 404, url
    for url in ("/kantor/rekening/999999/verifikasi", "/kantor/pembayaran/999999/selesai",
                "/kantor/pembayaran/999999/gagal"):
        assert _post(office, url, form, page="/kantor/keuangan").status_code == 404, url


# --- pages: language, queries ---------------------------------------------------------------------

def test_the_office_pages_speak_indonesian(busy):
    office, a = busy["office"], busy["a"]
    batch = db.session.scalar(select(PayoutBatch.id))
    for url in ("/kantor/keuangan", f"/kantor/keuangan/batch/{batch}", f"/kantor/desa/{a.id}/keuangan",
                "/portal/keuangan/rekening"):
        client = busy["member_a"] if url.startswith("/portal") else office
        html = client.get(url).get_data(as_text=True)
        assert '<html lang="id">' in html and untranslated(html, "id") == [], url
    assert "Keuangan" in office.get("/kantor/keuangan").get_data(as_text=True)
    # And English on request, with nothing left in Indonesian.
    for client, url in ((busy["member_a"], "/portal/keuangan"), (office, "/kantor/keuangan")):
        client.get("/bahasa/en")
        html = client.get(url).get_data(as_text=True)
        assert '<html lang="en">' in html and "Finances" in html and untranslated(html, "en") == [], url


@pytest.mark.parametrize("page", ["portal", "office"])
def test_the_statement_costs_the_same_queries_for_one_line_or_ten(app, two, count_queries, page):
    a = two["a"]
    _account(a)
    client = two["member_a"] if page == "portal" else two["office"]
    url = "/portal/keuangan" if page == "portal" else f"/kantor/desa/{a.id}/keuangan"
    make_order({a: [(make_sellable_food(a), 1)]})  # a pending parcel
    _adjust(a, 1000)

    def measure():
        client.get(url)  # warm: translations and templates load once per process
        with count_queries() as counter:
            html = client.get(url).get_data(as_text=True)
        return counter.count, html.count('<th scope="row" class="what">')

    one = measure()
    _delivered_parcel(a)
    for n in range(7):
        _adjust(a, 1000 + n)
    with unit_of_work():
        payouts.build_batch(1, "office")
    ten = measure()
    assert (one[1], ten[1]) == (1, 10)
    assert one[0] == ten[0] <= 10, (one, ten)


def test_an_adjustment_form_sent_twice_books_once(app, two):
    a, office = two["a"], two["office"]
    url = f"/kantor/desa/{a.id}/keuangan"
    page = office.get(url).get_data(as_text=True)
    once = re.search(r'name="once"[^>]*value="([^"]+)"', page).group(1)
    data = {"csrf_token": csrf_token(page), "once": once, "amount_idr": "10.000", "reason": "Ongkir kurang"}
    assert office.post(f"{url}/penyesuaian", data=data).status_code == 303
    again = _flash(office, office.post(f"{url}/penyesuaian", data=data))
    assert "Penyesuaian ini sudah dicatat." in _text(again)
    db.session.expire_all()
    assert ledger.balance(a.id) == (0, 10_000)


@pytest.mark.parametrize("amount", ["-", "+", " - "])
def test_a_sign_alone_is_not_an_amount(app, two, amount):
    a, office = two["a"], two["office"]
    url = f"/kantor/desa/{a.id}/keuangan"
    answer = _post(office, f"{url}/penyesuaian", {"amount_idr": amount, "reason": "koreksi"}, page=url)
    assert answer.status_code == 422 and "Masukkan jumlah dalam rupiah utuh" in _text(answer.get_data(as_text=True))
    assert ledger.balance(a.id) == (0, 0)


def test_an_account_number_takes_ascii_digits_only(app, two):
    member = two["member_a"]
    answer = _post(member, "/portal/keuangan/rekening", {"bank_code": "130", "account_number": "١٢٣٤٥٦٧",
                                                         "holder_name": "Kelompok Uji"},
                   page="/portal/keuangan/rekening")
    assert answer.status_code == 422
    with pytest.raises(LedgerError):
        payouts.submit_account(two["a"].id, bank_code="130", account_number="١٢٣٤٥٦٧", holder_name="Kelompok Uji",
                               actor_name="x")
