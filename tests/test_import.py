"""Catalogue import: how the provincial office onboards villages, products and papers.

Checked as the office sees it (the report of ``flask catalog import``, its exit code), as the
database holds it, and as a buyer sees it (``/produk/<slug>``).
"""
import json
from datetime import timedelta

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import selectinload

from storefront.clock import today_wita
from storefront.extensions import db
from storefront.legality.models import STATUSES, Certificate, CertificateEvent, certificate_products
from storefront.legality.services import reject_certificate, revoke_certificate, verify_certificate
from storefront.listing.rule import is_sellable
from storefront.onboarding.importer import run_import as import_catalog
from storefront.products.models import Product
from storefront.villages.models import Village

from .factories import make_user, make_village, sign_in

ACTOR = "Dinas Uji (impor katalog)"

PIRT_RAW = "PIRT 2055309010001-30"  # as typed by the office
PIRT = "P-IRT No. 2055309010001-30"  # as printed (and stored)
HALAL = "ID53110012345670824"
NIB_BEIPOSO = "9120301234567"
NIB_ILEPADUNG = "9120301234568"


def _doc():
    """A small valid document: a coffee village (NIB, P-IRT, halal) and a weaving village (NIB)."""
    return {
        "villages": [
            {"slug": "beiposo", "name": "Beiposo", "regency": "Ngada", "district": "Bajawa",
             "group_name": "Kelompok Tani Beiposo", "group_type": "kelompok_tani",
             "story": "Kopi arabika dari lereng Inerie.", "phone": "0812-3456-7890",
             "email": "beiposo@desa.example.id"},
            {"slug": "ilepadung", "name": "Ilepadung", "regency": "53.06", "district": "Lewolema",
             "group_name": "Kelompok Tenun Ilepadung", "group_type": "kelompok_wanita",
             "phone": "+62 813 3333 4444"},
        ],
        "products": [
            {"sku": "KOPI-BEI-01", "slug": "kopi-arabika-beiposo", "village": "beiposo",
             "name": "Kopi Arabika Beiposo", "category": "kopi", "description": "Biji sangrai.",
             "price_idr": 85000, "weight_grams": 250, "stock": 12},
            {"sku": "TENUN-ILE-01", "slug": "tenun-ikat-ilepadung", "village": "ilepadung",
             "name": "Tenun Ikat Ilepadung", "category": "tenun", "price_idr": 1250000,
             "weight_grams": 600, "stock": 2},
        ],
        "certificates": [
            {"kind": "nib", "number": NIB_BEIPOSO, "village": "beiposo",
             "issued_on": "2024-03-01", "expires_on": None, "status": "verified"},
            {"kind": "pirt", "number": PIRT_RAW, "village": "beiposo", "products": ["KOPI-BEI-01"],
             "issued_on": "2025-06-30", "expires_on": "2030-06-30", "status": "verified"},
            {"kind": "halal", "number": HALAL, "village": "beiposo", "products": ["KOPI-BEI-01"],
             "issued_on": "2024-08-01", "status": "verified"},
            {"kind": "nib", "number": NIB_ILEPADUNG, "village": "ilepadung",
             "issued_on": "2023-11-20", "status": "verified"},
        ],
    }


def _old_doc():
    """Data already in the shop before the document under test is imported."""
    return {
        "villages": [{"slug": "desa-lama", "name": "Desa Lama", "regency": "Kupang",
                      "phone": "081299990000"}],
        "products": [{"sku": "MADU-LAMA-01", "slug": "madu-hutan-lama", "village": "desa-lama",
                      "name": "Madu Hutan Amfoang", "category": "gula-madu", "price_idr": 90000,
                      "weight_grams": 500, "stock": 5}],
        "certificates": [
            {"kind": "nib", "number": "9120300000001", "village": "desa-lama",
             "issued_on": "2022-01-10", "status": "verified"},
            {"kind": "halal", "number": "ID53010000000000001", "village": "desa-lama",
             "products": ["MADU-LAMA-01"], "issued_on": "2023-05-05", "status": "verified"},
        ],
    }


def _write(tmp_path, document, name="katalog.json"):
    path = tmp_path / name
    path.write_text(json.dumps(document), encoding="utf-8")
    return path


def _run(runner, tmp_path, document, *options):
    path = _write(tmp_path, document)
    return runner.invoke(args=["catalog", "import", str(path), *options])


def _counts():
    return {
        "villages": db.session.scalar(select(func.count()).select_from(Village)),
        "products": db.session.scalar(select(func.count()).select_from(Product)),
        "certificates": db.session.scalar(select(func.count()).select_from(Certificate)),
        "links": db.session.scalar(select(func.count()).select_from(certificate_products)),
        "events": db.session.scalar(select(func.count()).select_from(CertificateEvent)),
    }


def _village(slug):
    return db.session.scalars(select(Village).where(Village.slug == slug)).one_or_none()


def _product(sku):
    return db.session.scalars(select(Product).where(Product.sku == sku)).one_or_none()


def _cert(number):
    return db.session.scalars(
        select(Certificate).where(Certificate.number == number)
        .options(selectinload(Certificate.products))
    ).one_or_none()


def _events(number):
    return db.session.scalars(
        select(CertificateEvent).join(Certificate, CertificateEvent.certificate_id == Certificate.id)
        .where(Certificate.number == number).order_by(CertificateEvent.id)
    ).all()


def _office_actor(app):
    return f"{app.config['OFFICE_NAME']} (impor katalog)"


def _lines(result):
    return result.output.splitlines()


def _summary(result, section, created, updated, unchanged):
    line = f"  {section}: {created} created, {updated} updated, {unchanged} unchanged"
    assert line in _lines(result), result.output


def _import(document, **kwargs):
    """Import through the API and expect it to commit."""
    report = import_catalog(document, actor_name=kwargs.pop("actor_name", ACTOR), **kwargs)
    assert report.ok and report.committed, report.lines()
    return report


# --- creating ---------------------------------------------------------------------------------


def test_import_creates_villages_products_and_certificates(app, runner, tmp_path):
    result = _run(runner, tmp_path, _doc())

    assert result.exit_code == 0, result.output
    assert _lines(result)[0] == "Import committed."
    _summary(result, "villages", 2, 0, 0)
    _summary(result, "products", 2, 0, 0)
    _summary(result, "certificates", 4, 0, 0)
    assert "rejected" not in result.output
    assert _counts() == {"villages": 2, "products": 2, "certificates": 4, "links": 2, "events": 4}

    beiposo = _village("beiposo")
    assert (beiposo.name, beiposo.regency_code, beiposo.district) == ("Beiposo", "53.09", "Bajawa")
    assert (beiposo.group_name, beiposo.group_type) == ("Kelompok Tani Beiposo", "kelompok_tani")
    assert beiposo.phone == "+6281234567890"
    assert beiposo.email == "beiposo@desa.example.id"
    assert beiposo.story == "Kopi arabika dari lereng Inerie."
    ilepadung = _village("ilepadung")
    assert (ilepadung.regency_code, ilepadung.phone) == ("53.06", "+6281333334444")
    assert ilepadung.email is None

    coffee = _product("KOPI-BEI-01")
    assert coffee.village_id == beiposo.id
    assert (coffee.slug, coffee.name, coffee.price_idr, coffee.weight_grams, coffee.stock) == (
        "kopi-arabika-beiposo", "Kopi Arabika Beiposo", 85000, 250, 12)
    assert _product("TENUN-ILE-01").village_id == ilepadung.id

    pirt = _cert(PIRT)  # stored in its printed form, not as typed
    assert pirt is not None and _cert(PIRT_RAW) is None
    assert (pirt.kind, pirt.village_id, pirt.status) == ("pirt", beiposo.id, "verified")
    assert str(pirt.issued_on) == "2025-06-30" and str(pirt.expires_on) == "2030-06-30"
    assert [p.sku for p in pirt.products] == ["KOPI-BEI-01"]
    assert [p.sku for p in _cert(HALAL).products] == ["KOPI-BEI-01"]
    assert _cert(NIB_BEIPOSO).expires_on is None


def test_imported_products_with_verified_papers_are_on_sale(app, runner, client, tmp_path):
    assert _run(runner, tmp_path, _doc()).exit_code == 0

    coffee = client.get("/produk/kopi-arabika-beiposo")
    assert coffee.status_code == 200
    html = coffee.get_data(as_text=True)
    assert "Kopi Arabika Beiposo" in html
    for number in (PIRT, HALAL):  # buyers can check the numbers themselves
        assert number in html
    cloth = client.get("/produk/tenun-ikat-ilepadung")  # not food: the village NIB is enough
    assert cloth.status_code == 200
    assert "Tenun Ikat Ilepadung" in cloth.get_data(as_text=True)


@pytest.mark.parametrize("pending_number, hidden_slug, still_shown", [
    (NIB_BEIPOSO, "kopi-arabika-beiposo", "tenun-ikat-ilepadung"),
    (PIRT_RAW, "kopi-arabika-beiposo", "tenun-ikat-ilepadung"),
    (HALAL, "kopi-arabika-beiposo", "tenun-ikat-ilepadung"),
    (NIB_ILEPADUNG, "tenun-ikat-ilepadung", "kopi-arabika-beiposo"),
], ids=["nib-pending", "pirt-pending", "halal-pending", "weaver-nib-pending"])
def test_a_pending_paper_keeps_the_product_off_sale(app, runner, client, tmp_path,
                                                    pending_number, hidden_slug, still_shown):
    document = _doc()
    for cert in document["certificates"]:
        if cert["number"] == pending_number:
            cert["status"] = "pending"
    assert _run(runner, tmp_path, document).exit_code == 0

    assert client.get(f"/produk/{hidden_slug}").status_code == 404
    assert client.get(f"/produk/{still_shown}").status_code == 200

    # Once the office verifies the paper, a re-import puts the product on sale.
    result = _run(runner, tmp_path, _doc())
    assert result.exit_code == 0, result.output
    _summary(result, "certificates", 0, 1, 3)
    assert client.get(f"/produk/{hidden_slug}").status_code == 200


def test_bpom_md_instead_of_pirt_also_makes_food_sellable(app, runner, client, tmp_path):
    document = _doc()
    document["certificates"][1] = {
        "kind": "bpom_md", "number": "BPOM RI MD 224512001234", "village": "beiposo",
        "products": ["KOPI-BEI-01"], "issued_on": "2024-01-01", "expires_on": "2029-01-01",
        "status": "verified"}
    assert _run(runner, tmp_path, document).exit_code == 0
    assert client.get("/produk/kopi-arabika-beiposo").status_code == 200


def test_non_halal_food_needs_no_halal_paper(app, runner, client, tmp_path):
    document = _doc()
    document["products"].append({"sku": "SEI-BEI-01", "slug": "sei-babi-beiposo",
                                 "village": "beiposo", "name": "Se'i Babi",
                                 "category": "olahan-daging", "price_idr": 120000,
                                 "weight_grams": 500, "non_halal": True})
    document["certificates"][1]["products"].append("SEI-BEI-01")
    assert _run(runner, tmp_path, document).exit_code == 0
    assert _product("SEI-BEI-01").non_halal is True
    assert client.get("/produk/sei-babi-beiposo").status_code == 200

    document["products"][-1]["non_halal"] = False  # now it claims to be halal, without a paper
    result = _run(runner, tmp_path, document)
    assert result.exit_code == 0, result.output
    _summary(result, "products", 0, 1, 2)
    assert client.get("/produk/sei-babi-beiposo").status_code == 404


def test_optional_fields_take_their_defaults(app, runner, tmp_path):
    document = {
        "villages": [{"slug": "oelolok", "name": "Oelolok", "regency": "Timor Tengah Utara"}],
        "products": [{"sku": "GULA-OEL-01", "slug": "gula-lontar-oelolok", "village": "oelolok",
                      "name": "Gula Lontar", "category": "gula-madu", "price_idr": 30000,
                      "weight_grams": 500}],
        "certificates": [{"kind": "pirt", "number": "P-IRT No. 2095303010001-29",
                          "village": "oelolok", "products": ["GULA-OEL-01"],
                          "issued_on": "2024-09-01"}],
    }
    result = _run(runner, tmp_path, document)
    assert result.exit_code == 0, result.output

    village = _village("oelolok")
    assert village.active is True
    assert village.regency_code == "53.03"
    assert village.group_name == "Oelolok"  # the village's name when no group is named
    assert village.phone is None and village.email is None
    product = _product("GULA-OEL-01")
    assert product.published is True
    assert product.non_halal is False
    assert product.stock == 0
    assert product.description == ""
    cert = _cert("P-IRT No. 2095303010001-29")
    assert cert.status == "pending"
    assert cert.expires_on is None
    assert cert.verified_by_name is None and cert.verified_at is None
    events = _events(cert.number)
    assert [(e.from_status, e.to_status) for e in events] == [(None, "pending")]


# --- running again: idempotent, updates by key --------------------------------------------------


def test_running_twice_changes_nothing(app, runner, tmp_path):
    first = _run(runner, tmp_path, _doc())
    assert first.exit_code == 0, first.output
    before = _counts()
    verified_at = _cert(PIRT).verified_at

    second = _run(runner, tmp_path, _doc())

    assert second.exit_code == 0, second.output
    assert _lines(second)[0] == "Import committed."
    _summary(second, "villages", 0, 0, 2)
    _summary(second, "products", 0, 0, 2)
    _summary(second, "certificates", 0, 0, 4)
    assert _counts() == before  # no duplicate rows, no new audit events
    assert _cert(PIRT).verified_at == verified_at  # not verified a second time


def test_a_changed_price_updates_the_product_by_sku(app, runner, client, tmp_path):
    assert _run(runner, tmp_path, _doc()).exit_code == 0
    product_id = _product("KOPI-BEI-01").id
    document = _doc()
    document["products"][0]["price_idr"] = 92000
    document["villages"][0]["story"] = "Cerita baru."

    result = _run(runner, tmp_path, document)

    assert result.exit_code == 0, result.output
    _summary(result, "villages", 0, 1, 1)
    _summary(result, "products", 0, 1, 1)
    _summary(result, "certificates", 0, 0, 4)
    coffee = _product("KOPI-BEI-01")
    assert coffee.id == product_id and coffee.price_idr == 92000
    assert _village("beiposo").story == "Cerita baru."
    assert _counts()["products"] == 2
    assert "Rp 92.000" in client.get("/produk/kopi-arabika-beiposo").get_data(as_text=True)


def test_a_changed_slug_moves_the_product_page(app, runner, client, tmp_path):
    assert _run(runner, tmp_path, _doc()).exit_code == 0
    document = _doc()
    document["products"][0]["slug"] = "kopi-bajawa-beiposo"

    result = _run(runner, tmp_path, document)

    assert result.exit_code == 0, result.output
    _summary(result, "products", 0, 1, 1)
    assert _counts()["products"] == 2
    assert client.get("/produk/kopi-bajawa-beiposo").status_code == 200
    assert client.get("/produk/kopi-arabika-beiposo").status_code == 404


def test_a_status_change_updates_by_number_and_is_audited(app, runner, client, tmp_path):
    assert _run(runner, tmp_path, _doc()).exit_code == 0
    cert_id = _cert(HALAL).id
    document = _doc()
    document["certificates"][2]["status"] = "revoked"
    document["certificates"][2]["reason"] = "Nomor tidak terdaftar di BPJPH."
    document["certificates"][2]["number"] = "ID 53110012345670824"  # same paper, typed loosely

    result = _run(runner, tmp_path, document)

    assert result.exit_code == 0, result.output
    _summary(result, "certificates", 0, 1, 3)
    halal = _cert(HALAL)
    assert halal.id == cert_id and halal.status == "revoked"
    assert _counts()["certificates"] == 4
    events = _events(HALAL)
    assert [(e.from_status, e.to_status) for e in events] == [(None, "verified"),
                                                             ("verified", "revoked")]
    last = events[-1]
    assert last.actor_name == _office_actor(app)
    assert last.reason == "Nomor tidak terdaftar di BPJPH."
    assert last.created_at is not None
    assert client.get("/produk/kopi-arabika-beiposo").status_code == 404


def test_a_changed_product_list_updates_the_certificate(app, runner, tmp_path):
    assert _run(runner, tmp_path, _doc()).exit_code == 0
    document = _doc()
    document["products"].append({"sku": "KOPI-BEI-02", "slug": "kopi-robusta-beiposo",
                                 "village": "beiposo", "name": "Kopi Robusta Beiposo",
                                 "category": "kopi", "price_idr": 65000, "weight_grams": 250})
    document["certificates"][1]["products"].append("KOPI-BEI-02")

    result = _run(runner, tmp_path, document)

    assert result.exit_code == 0, result.output
    _summary(result, "products", 1, 0, 2)
    _summary(result, "certificates", 0, 1, 3)
    assert sorted(p.sku for p in _cert(PIRT).products) == ["KOPI-BEI-01", "KOPI-BEI-02"]
    assert len(_events(PIRT)) == 1  # the status did not change: no audit event


# --- who verified -------------------------------------------------------------------------------


def test_verified_papers_name_the_office_as_verifier(app, runner, tmp_path):
    document = _doc()
    document["certificates"][2]["status"] = "pending"
    result = _run(runner, tmp_path, document)
    assert result.exit_code == 0, result.output

    office = _office_actor(app)
    pirt = _cert(PIRT)
    assert app.config["OFFICE_NAME"] in pirt.verified_by_name
    assert pirt.verified_by_name == office
    assert pirt.verified_at is not None
    assert pirt.verified_by_id is None  # no account: the office as a whole
    pending = _cert(HALAL)
    assert pending.verified_by_name is None and pending.verified_at is None
    assert [(e.to_status, e.actor_name) for e in _events(PIRT)] == [("verified", office)]


def test_a_paper_verified_on_a_later_import_records_that_import(app, runner, tmp_path):
    document = _doc()
    document["certificates"][2]["status"] = "pending"
    assert _run(runner, tmp_path, document).exit_code == 0
    verifier = make_user(role="verifier")

    result = _run(runner, tmp_path, _doc(), "--verifier", verifier.email)

    assert result.exit_code == 0, result.output
    halal = _cert(HALAL)
    assert halal.status == "verified"
    assert verifier.name in halal.verified_by_name and halal.verified_at is not None
    assert _cert(PIRT).verified_by_name == _office_actor(app)  # unchanged papers keep theirs
    last = _events(HALAL)[-1]
    assert (last.from_status, last.to_status) == ("pending", "verified")
    assert verifier.name in last.actor_name


def test_a_verifier_with_the_longest_allowed_name_can_be_named(app, runner, tmp_path, backend,
                                                              request):
    person = make_user(role="verifier")
    person.name = "Maria Goreti " + "N" * (120 - len("Maria Goreti "))  # User.name is String(120)
    db.session.commit()

    result = _run(runner, tmp_path, _doc(), "--verifier", person.email)

    assert result.exit_code == 0, result.output
    assert _lines(result)[0] == "Import committed."
    assert _cert(PIRT).verified_by_name.startswith("Maria Goreti")


@pytest.mark.parametrize("role", ["verifier", "admin"])
def test_verifier_option_records_that_person(app, runner, tmp_path, role):
    person = make_user(role=role)

    result = _run(runner, tmp_path, _doc(), "--verifier", person.email.upper())

    assert result.exit_code == 0, result.output
    pirt = _cert(PIRT)
    assert person.name in pirt.verified_by_name
    assert app.config["OFFICE_NAME"] in pirt.verified_by_name
    assert pirt.verified_at is not None
    assert all(person.name in e.actor_name for e in _events(PIRT))


@pytest.mark.parametrize("who", ["customer", "village_member", "nobody"])
def test_verifier_option_refuses_other_accounts(app, runner, tmp_path, who):
    if who == "nobody":
        email = "nobody@example.org"
    else:
        village = make_village() if who == "village_member" else None
        email = make_user(role=who, village=village).email
    before = _counts()

    result = _run(runner, tmp_path, _doc(), "--verifier", email)

    assert result.exit_code != 0
    assert f"{email} is not an active verifier or admin account" in result.output
    assert "Import committed." not in result.output
    assert _counts() == before


# --- dry run -------------------------------------------------------------------------------------


def test_dry_run_reports_what_would_be_created_and_writes_nothing(app, runner, client, tmp_path):
    result = _run(runner, tmp_path, _doc(), "--dry-run")

    assert result.exit_code == 0, result.output
    assert _lines(result)[0] == "Dry run: nothing written. The import would do this:"
    _summary(result, "villages", 2, 0, 0)
    _summary(result, "products", 2, 0, 0)
    _summary(result, "certificates", 4, 0, 0)
    assert _counts() == {"villages": 0, "products": 0, "certificates": 0, "links": 0, "events": 0}
    assert client.get("/produk/kopi-arabika-beiposo").status_code == 404

    # The same file then imports for real.
    real = _run(runner, tmp_path, _doc())
    assert real.exit_code == 0 and _lines(real)[0] == "Import committed."
    _summary(real, "villages", 2, 0, 0)


def test_dry_run_of_changes_leaves_the_old_values(app, runner, tmp_path):
    assert _run(runner, tmp_path, _doc()).exit_code == 0
    before = _counts()
    document = _doc()
    document["products"][0]["price_idr"] = 99000
    document["certificates"][2].update(status="revoked", reason="Nomor palsu.")

    result = _run(runner, tmp_path, document, "--dry-run")

    assert result.exit_code == 0, result.output
    _summary(result, "products", 0, 1, 1)
    _summary(result, "certificates", 0, 1, 3)
    db.session.expire_all()
    assert _product("KOPI-BEI-01").price_idr == 85000
    assert _cert(HALAL).status == "verified"
    assert _counts() == before


def test_dry_run_with_a_bad_row_says_it_would_be_refused(app, runner, tmp_path):
    document = _doc()
    document["products"][0]["category"] = "minuman"

    result = _run(runner, tmp_path, document, "--dry-run")

    assert result.exit_code == 1
    assert _lines(result)[0] == "Dry run: nothing written. The import would be refused:"
    assert any(line.startswith("  rejected products KOPI-BEI-01: unknown category 'minuman'")
               for line in _lines(result)), result.output
    assert _counts()["villages"] == 0


def test_dry_run_through_the_api_commits_nothing(app):
    report = import_catalog(_doc(), dry_run=True, actor_name=ACTOR)
    assert report.ok and not report.committed
    assert sorted(report.created["villages"]) == ["beiposo", "ilepadung"]
    assert sorted(report.created["certificates"]) == sorted([NIB_BEIPOSO, PIRT, HALAL, NIB_ILEPADUNG])
    db.session.expire_all()
    assert _counts()["villages"] == 0 and _counts()["certificates"] == 0


# --- all or nothing ------------------------------------------------------------------------------


def _extra_village(**fields):
    def mutate(document):
        document["villages"].append({"slug": "oelolok", "name": "Oelolok", "regency": "TTU",
                                     **fields})
    return mutate


def _extra_product(**fields):
    def mutate(document):
        document["products"].append({"sku": "GULA-BEI-01", "slug": "gula-aren-beiposo",
                                     "village": "beiposo", "name": "Gula Aren",
                                     "category": "gula-madu", "price_idr": 30000,
                                     "weight_grams": 500, **fields})
    return mutate


def _extra_cert(**fields):
    def mutate(document):
        row = {"kind": "halal", "number": "ID53090000000000077", "village": "beiposo",
               "products": ["KOPI-BEI-01"], "issued_on": "2024-02-02", "status": "verified"}
        row.update(fields)
        document["certificates"].append(row)
    return mutate


def _duplicate_sku(document):
    document["products"].append({"sku": "KOPI-BEI-01", "slug": "kopi-lain", "village": "beiposo",
                                 "name": "Kopi Lain", "category": "kopi", "price_idr": 1,
                                 "weight_grams": 1})


def _move_old_product(document):
    for row in document["products"]:
        if row["sku"] == "MADU-LAMA-01":
            row["village"] = "beiposo"


REJECTIONS = {
    # id: (mutation, section, row key, reason in the report)
    "unknown village": (_extra_product(village="desa-hilang"),
                        "products", "GULA-BEI-01", "unknown village 'desa-hilang'"),
    "unknown category": (_extra_product(category="minuman"),
                         "products", "GULA-BEI-01", "unknown category 'minuman'"),
    "bad pirt number": (_extra_cert(kind="pirt", number="12345"),
                        "certificates", "12345", "bad number format"),
    "bpom without MD": (_extra_cert(kind="bpom_md", number="BPOM RI 123456789012"),
                        "certificates", "BPOM RI 123456789012", "bad number format"),
    "halal too short": (_extra_cert(number="ID5311001234567"),
                        "certificates", "ID5311001234567", "bad number format"),
    "duplicate sku": (_duplicate_sku, "products", "KOPI-BEI-01", "duplicate sku"),
    "duplicate number, same text": (_extra_cert(number=HALAL),
                                    "certificates", HALAL, "duplicate number"),
    "duplicate number, other spelling": (_extra_cert(number="id 53110012345670824"),
                                         "certificates", "id 53110012345670824",
                                         "duplicate number"),
    "unknown regency": (_extra_village(regency="Jakarta Selatan"),
                        "villages", "oelolok", "unknown regency 'Jakarta Selatan'"),
    "foreign phone": (_extra_village(phone="+1 202 555 0100"),
                      "villages", "oelolok", "Indonesian (+62)"),
    "junk phone": (_extra_village(phone="telepon kantor"),
                   "villages", "oelolok", "is not a phone number"),
    "bad email": (_extra_village(email="oelolok-at-desa.id"),
                  "villages", "oelolok", "not a valid e-mail address"),
    "unknown group type": (_extra_village(group_type="perusahaan"),
                           "villages", "oelolok", "unknown group_type 'perusahaan'"),
    "negative stock": (_extra_product(stock=-1),
                       "products", "GULA-BEI-01", '"stock" must be at least 0'),
    "zero price": (_extra_product(price_idr=0),
                   "products", "GULA-BEI-01", '"price_idr" must be at least 1'),
    "float price": (_extra_product(price_idr=30000.5),
                    "products", "GULA-BEI-01", '"price_idr" must be a whole number'),
    "whole float price": (_extra_product(price_idr=30000.0),
                          "products", "GULA-BEI-01", '"price_idr" must be a whole number'),
    "price with dots": (_extra_product(price_idr="30.000"),
                        "products", "GULA-BEI-01", '"price_idr" must be a whole number'),
    "price with Rp": (_extra_product(price_idr="Rp30000"),
                      "products", "GULA-BEI-01", '"price_idr" must be a whole number'),
    "published not a bool": (_extra_product(published="ya"),
                             "products", "GULA-BEI-01", '"published" must be true or false'),
    "month 13": (_extra_cert(issued_on="2025-13-01"),
                 "certificates", "ID53090000000000077", "not a real date: '2025-13-01'"),
    "date not ISO": (_extra_cert(issued_on="01/02/2025"),
                     "certificates", "ID53090000000000077", "must be a date as YYYY-MM-DD"),
    "missing issued_on": (_extra_cert(issued_on=None),
                          "certificates", "ID53090000000000077", '"issued_on" is required'),
    "expires before issued": (_extra_cert(issued_on="2025-05-01", expires_on="2025-04-30"),
                              "certificates", "ID53090000000000077",
                              "expires_on is before issued_on"),
    "unknown kind": (_extra_cert(kind="sni"),
                     "certificates", "ID53090000000000077", "unknown kind 'sni'"),
    "unknown status": (_extra_cert(status="approved"),
                       "certificates", "ID53090000000000077", "unknown status 'approved'"),
    "unknown product sku": (_extra_cert(products=["KOPI-BEI-01", "KOPI-HILANG"]),
                            "certificates", "ID53090000000000077",
                            "unknown product SKU 'KOPI-HILANG'"),
    "slug twice in the file": (_extra_product(slug="kopi-arabika-beiposo"),
                               "products", "GULA-BEI-01",
                               "slug 'kopi-arabika-beiposo' is already used by product KOPI-BEI-01"),
    "slug of another sku": (_extra_product(slug="madu-hutan-lama"),
                            "products", "GULA-BEI-01",
                            "slug 'madu-hutan-lama' is already used by product MADU-LAMA-01"),
    "product moves village": (_move_old_product, "products", "MADU-LAMA-01",
                              "SKU MADU-LAMA-01 belongs to village desa-lama; "
                              "a product cannot move to another village"),
    "number held by another village": (_extra_cert(number="ID53010000000000001"),
                                       "certificates", "ID53010000000000001",
                                       "is held by village desa-lama"),
}


@pytest.mark.parametrize("case", list(REJECTIONS), ids=list(REJECTIONS))
def test_one_bad_row_means_nothing_is_written(app, runner, client, tmp_path, case):
    mutate, section, key, reason = REJECTIONS[case]
    _import(_old_doc())
    before = _counts()
    document = _doc()
    # A change to an existing row, which must not be written either.
    document["products"].append({**_old_doc()["products"][0], "price_idr": 99000})
    mutate(document)

    result = _run(runner, tmp_path, document)

    assert result.exit_code == 1, result.output
    lines = _lines(result)
    assert lines[0] == ("Import refused: nothing was written. "
                        "Fix the rejected rows and run it again.")
    assert "  rejected: 1" in lines, result.output
    prefix = f"  rejected {section} {key}: "
    named = [line for line in lines if line.startswith(prefix)]
    assert len(named) == 1, result.output
    assert reason in named[0], result.output
    db.session.expire_all()
    assert _counts() == before
    assert _village("beiposo") is None
    assert _product("MADU-LAMA-01").price_idr == 90000
    assert _product("MADU-LAMA-01").village_id == _village("desa-lama").id
    assert client.get("/produk/kopi-arabika-beiposo").status_code == 404


def test_a_slug_handed_over_between_existing_products_in_one_file(app, runner, client, tmp_path):
    def row(sku, slug, name):
        return {"sku": sku, "slug": slug, "village": "ilepadung", "name": name,
                "category": "tenun", "price_idr": 500000, "weight_grams": 400}

    village = _doc()["villages"][1]
    nib = _doc()["certificates"][3]
    _import({"villages": [village], "certificates": [nib],
             "products": [row("TENUN-1", "sarung-ikat", "Sarung Ikat"),       # lower id
                          row("TENUN-2", "selendang-ikat", "Selendang Ikat")]})
    # TENUN-2 gives up its slug (listed first) and TENUN-1 takes it.
    document = {"villages": [village], "certificates": [nib],
                "products": [row("TENUN-2", "selendang-ikat-lama", "Selendang Ikat"),
                             row("TENUN-1", "selendang-ikat", "Sarung Ikat")]}

    result = _run(runner, tmp_path, document)

    assert result.exit_code == 0, result.output
    _summary(result, "products", 0, 2, 0)
    assert _product("TENUN-1").slug == "selendang-ikat"
    assert _product("TENUN-2").slug == "selendang-ikat-lama"
    assert "Sarung Ikat" in client.get("/produk/selendang-ikat").get_data(as_text=True)


def test_every_rejected_row_is_listed(app, runner, tmp_path):
    document = _doc()
    document["villages"].append({"slug": "oelolok", "name": "Oelolok", "regency": "Bali"})
    document["products"][1]["stock"] = -3
    document["certificates"][0]["number"] = "12345"

    result = _run(runner, tmp_path, document)

    assert result.exit_code == 1
    lines = _lines(result)
    assert "  rejected: 3" in lines, result.output
    assert any(line.startswith("  rejected villages oelolok: unknown regency") for line in lines)
    assert any(line.startswith('  rejected products TENUN-ILE-01: "stock" must be at least 0')
               for line in lines)
    assert any(line.startswith("  rejected certificates 12345: bad number format") for line in lines)
    assert _counts()["villages"] == 0


def test_rejections_are_reported_through_the_api(app):
    document = _doc()
    document["products"][1]["category"] = "minuman"
    report = import_catalog(document, actor_name=ACTOR)
    assert not report.ok and not report.committed
    assert [(s, k) for s, k, _ in report.rejected] == [("products", "TENUN-ILE-01")]
    assert "unknown category" in report.rejected[0][2]
    db.session.expire_all()
    assert _counts()["villages"] == 0


# --- papers of another village ----------------------------------------------------------------


def test_a_paper_of_another_village_imports_with_a_warning_but_does_not_count(
        app, runner, client, tmp_path):
    document = _doc()
    # Beiposo's own P-IRT is gone; Ilepadung holds one that lists Beiposo's coffee.
    document["certificates"][1] = {
        "kind": "pirt", "number": PIRT_RAW, "village": "ilepadung", "products": ["KOPI-BEI-01"],
        "issued_on": "2025-06-30", "expires_on": "2030-06-30", "status": "verified"}

    result = _run(runner, tmp_path, document)

    assert result.exit_code == 0, result.output
    assert _lines(result)[0] == "Import committed."
    assert (f"  warning  certificates {PIRT}: lists KOPI-BEI-01 of another village; "
            "it will not count for that product") in _lines(result), result.output
    pirt = _cert(PIRT)
    assert pirt.village_id == _village("ilepadung").id
    assert [p.sku for p in pirt.products] == ["KOPI-BEI-01"]
    coffee = _product("KOPI-BEI-01")
    assert not is_sellable(coffee.id)
    assert client.get("/produk/kopi-arabika-beiposo").status_code == 404
    assert client.get("/produk/tenun-ikat-ilepadung").status_code == 200


def test_a_nib_product_list_is_ignored_with_a_warning(app, runner, tmp_path):
    document = _doc()
    document["certificates"][0]["products"] = ["KOPI-BEI-01"]
    result = _run(runner, tmp_path, document)
    assert result.exit_code == 0, result.output
    assert any(line.startswith(f"  warning  certificates {NIB_BEIPOSO}: a nib covers the whole group")
               for line in _lines(result)), result.output
    assert _cert(NIB_BEIPOSO).products == []


def test_a_pirt_expiry_that_disagrees_with_its_number_is_a_warning(app, runner, tmp_path):
    document = _doc()
    document["certificates"][1]["expires_on"] = "2029-06-30"  # the number says 2030
    result = _run(runner, tmp_path, document)
    assert result.exit_code == 0, result.output
    assert any(line.startswith(f"  warning  certificates {PIRT}: the number ends in the expiry "
                               "year 2030, but expires_on is in 2029") for line in _lines(result))


# --- the file itself --------------------------------------------------------------------------


def test_invalid_json_is_a_clear_error(app, runner, tmp_path):
    path = tmp_path / "rusak.json"
    path.write_text('{"villages": [{"slug": "beiposo",]}', encoding="utf-8")

    result = runner.invoke(args=["catalog", "import", str(path)])

    assert result.exit_code != 0
    assert "is not valid JSON" in result.output
    assert "rusak.json" in result.output
    assert "Traceback" not in result.output
    assert not isinstance(result.exception, (ValueError, json.JSONDecodeError))
    assert _counts()["villages"] == 0


def test_a_missing_file_is_a_usage_error(app, runner, tmp_path):
    result = runner.invoke(args=["catalog", "import", str(tmp_path / "tidak-ada.json")])
    assert result.exit_code == 2
    assert "tidak-ada.json" in result.output


@pytest.mark.parametrize("top", [[], ["villages"], "katalog", 42, None],
                         ids=["empty-list", "list", "string", "number", "null"])
def test_top_level_must_be_an_object(app, runner, tmp_path, top):
    result = _run(runner, tmp_path, top)

    assert result.exit_code == 1, result.output
    assert "  rejected document -: the top level must be a JSON object" in _lines(result)
    assert _lines(result)[0].startswith("Import refused")


def test_a_section_that_is_not_a_list_is_rejected(app, runner, tmp_path):
    document = _doc()
    document["products"] = {"KOPI-BEI-01": document["products"][0]}

    result = _run(runner, tmp_path, document)

    assert result.exit_code == 1
    assert '  rejected products -: "products" must be a list' in _lines(result), result.output
    assert _counts()["villages"] == 0


def test_a_row_that_is_not_an_object_is_rejected(app, runner, tmp_path):
    document = _doc()
    document["villages"].append("oelolok")

    result = _run(runner, tmp_path, document)

    assert result.exit_code == 1
    assert "  rejected villages #3: each row must be a JSON object" in _lines(result), result.output
    assert _counts()["villages"] == 0


def test_an_empty_document_imports_nothing(app, runner, tmp_path):
    result = _run(runner, tmp_path, {})
    assert result.exit_code == 0, result.output
    assert _lines(result)[0] == "Import committed."
    _summary(result, "villages", 0, 0, 0)
    assert _counts()["villages"] == 0


def test_fields_left_out_of_a_later_file_keep_their_stored_values(app, client):
    """Defaults are for new rows: a partial re-import never undoes the office's changes."""
    _import(_doc())
    _import({"villages": [dict(_doc()["villages"][1], active=False)],
             "products": [dict(_doc()["products"][0], stock=40, published=False)]})
    partial = _doc()
    for row in partial["villages"]:
        row.pop("active", None)
    for row in partial["products"]:
        row.pop("stock", None)
        row.pop("published", None)
    for row in partial["certificates"]:
        row.pop("status", None)
        row.pop("products", None)
    report = _import(partial)
    db.session.expire_all()
    assert _village("ilepadung").active is False
    assert _product("KOPI-BEI-01").stock == 40 and _product("KOPI-BEI-01").published is False
    assert _cert(HALAL).status == "verified"
    assert [p.sku for p in _cert(HALAL).products] == ["KOPI-BEI-01"]
    assert report.updated["certificates"] == []
    assert client.get("/desa/ilepadung").status_code == 404


def test_a_paper_that_stops_being_verified_loses_its_verifier(app):
    _import(_doc())
    document = _doc()
    document["certificates"][2].update(status="revoked", reason="Nomor palsu.")
    _import(document)
    db.session.expire_all()
    halal = _cert(HALAL)
    assert halal.status == "revoked"
    assert halal.verified_by_name is None and halal.verified_at is None
    assert (_events(HALAL)[-1].from_status, _events(HALAL)[-1].to_status) == ("verified", "revoked")


def test_a_sku_matches_whatever_its_case(app):
    _import(_doc())
    document = _doc()
    document["products"][0]["sku"] = "kopi-bei-01"
    document["products"][0]["price_idr"] = 99000
    document["certificates"][1]["products"] = ["kopi-bei-01"]
    report = _import(document)
    db.session.expire_all()
    assert report.created["products"] == []
    assert _product("KOPI-BEI-01").price_idr == 99000
    assert db.session.scalar(select(func.count()).select_from(Product)) == 2


def test_a_suspended_verifier_cannot_sign_an_import(app, runner, tmp_path):
    person = make_user(role="verifier")
    person.active = False
    db.session.commit()
    result = _run(runner, tmp_path, _doc(), "--verifier", person.email)
    assert result.exit_code != 0
    assert "is not an active verifier or admin account" in result.output
    assert _village("beiposo") is None


# --- the office's transition table ----------------------------------------------------------
# An import is the office acting, so an existing paper's status moves only as the office's
# screens may move it (storefront/legality/services.py TRANSITIONS), with the same audit row.

#: The moves the office may make (kept apart from the code on purpose).
OFFICE_MOVES = {("pending", "verified"), ("pending", "rejected"), ("verified", "revoked")}
OFFICE_REASON = "Nomor pada scan tidak sama dengan nomor yang diketik."


def _office(number, action):
    """The office verifies, rejects or revokes a paper as its screens do (the legality service)."""
    verifier = make_user(role="verifier")
    certificate = _cert(number)
    if action == "verify":
        verify_certificate(certificate, verifier)
    elif action == "reject":
        reject_certificate(certificate, verifier, OFFICE_REASON)
    else:
        revoke_certificate(certificate, verifier, OFFICE_REASON)
    db.session.commit()
    return verifier


def _history(number):
    return [(e.from_status, e.to_status, e.actor_name, e.reason) for e in _events(number)]


def _refusal(number, closed, to_status="verified"):
    return (f"  rejected certificates {number}: A {closed} paper cannot be marked {to_status}. "
            f"(it is {closed} in the shop; an import follows the office's transition rules)")


@pytest.mark.parametrize("closed, first_status, action", [
    ("revoked", "verified", "revoke"),
    ("rejected", "pending", "reject"),
])
def test_a_reimport_cannot_verify_a_paper_the_office_closed(app, runner, client, tmp_path,
                                                          closed, first_status, action):
    first = _doc()
    first["certificates"][2]["status"] = first_status
    assert _run(runner, tmp_path, first).exit_code == 0
    _office(HALAL, action)
    before, history = _counts(), _history(HALAL)
    document = _doc()  # the office's old file: the halal paper still says "verified"
    document["products"][0]["price_idr"] = 99000
    document["villages"].append({"slug": "oelolok", "name": "Oelolok", "regency": "53.03"})

    result = _run(runner, tmp_path, document)

    assert result.exit_code == 1, result.output
    lines = _lines(result)
    assert lines[0] == "Import refused: nothing was written. Fix the rejected rows and run it again."
    assert "  rejected: 1" in lines, result.output
    assert _refusal(HALAL, closed) in lines, result.output
    db.session.expire_all()
    halal = _cert(HALAL)
    assert halal.status == closed
    assert halal.verified_by_name is None and halal.verified_at is None
    assert _history(HALAL) == history
    assert _counts() == before
    assert _product("KOPI-BEI-01").price_idr == 85000
    assert _village("oelolok") is None
    assert client.get("/produk/kopi-arabika-beiposo").status_code == 404


def test_a_dry_run_reports_the_same_refusal(app, runner, client, tmp_path):
    assert _run(runner, tmp_path, _doc()).exit_code == 0
    _office(HALAL, "revoke")
    before, history = _counts(), _history(HALAL)

    result = _run(runner, tmp_path, _doc(), "--dry-run")

    assert result.exit_code == 1, result.output
    assert _lines(result)[0] == "Dry run: nothing written. The import would be refused:"
    assert _refusal(HALAL, "revoked") in _lines(result), result.output
    db.session.expire_all()
    assert _cert(HALAL).status == "revoked"
    assert (_counts(), _history(HALAL)) == (before, history)
    assert client.get("/produk/kopi-arabika-beiposo").status_code == 404


def _one_paper(status, **fields):
    """A village with one NIB paper in ``status`` (an import may create a paper in any status)."""
    return {
        "villages": [{"slug": "beiposo", "name": "Beiposo", "regency": "Ngada"}],
        "certificates": [dict({"kind": "nib", "number": NIB_BEIPOSO, "village": "beiposo",
                               "issued_on": "2024-03-01", "status": status}, **fields)],
    }


@pytest.mark.parametrize("to_status", STATUSES)
@pytest.mark.parametrize("from_status", STATUSES)
def test_an_import_moves_a_paper_only_as_the_office_may(app, from_status, to_status):
    _import(_one_paper(from_status))
    history = _history(NIB_BEIPOSO)

    report = import_catalog(_one_paper(to_status, reason=OFFICE_REASON), actor_name=ACTOR)

    db.session.expire_all()
    paper = _cert(NIB_BEIPOSO)
    if from_status == to_status:
        assert report.committed and report.unchanged["certificates"] == [NIB_BEIPOSO]
        assert _history(NIB_BEIPOSO) == history  # the same status again: no audit row
    elif (from_status, to_status) in OFFICE_MOVES:
        assert report.committed and report.updated["certificates"] == [NIB_BEIPOSO]
        assert paper.status == to_status
        assert _history(NIB_BEIPOSO) == history + [(from_status, to_status, ACTOR, OFFICE_REASON)]
    else:
        assert not report.ok and not report.committed
        assert report.rejected == [("certificates", NIB_BEIPOSO, _refusal(
            NIB_BEIPOSO, from_status, to_status).split(": ", 1)[1])]
        assert paper.status == from_status
        assert _history(NIB_BEIPOSO) == history


def test_a_pending_paper_verified_by_a_later_import_gets_one_audit_row(app, runner, client,
                                                                      tmp_path):
    first = _doc()
    first["certificates"][2]["status"] = "pending"
    assert _run(runner, tmp_path, first).exit_code == 0
    assert client.get("/produk/kopi-arabika-beiposo").status_code == 404
    history = _history(HALAL)

    result = _run(runner, tmp_path, _doc())

    assert result.exit_code == 0, result.output
    _summary(result, "certificates", 0, 1, 3)
    office = _office_actor(app)
    assert _history(HALAL) == history + [("pending", "verified", office, "catalogue import")]
    halal = _cert(HALAL)
    assert halal.status == "verified" and halal.verified_by_name == office
    assert halal.verified_by_id is None and halal.verified_at is not None
    assert client.get("/produk/kopi-arabika-beiposo").status_code == 200


def test_reimporting_a_paper_the_office_verified_writes_no_audit_row(app, runner, tmp_path):
    first = _doc()
    first["certificates"][2]["status"] = "pending"
    assert _run(runner, tmp_path, first).exit_code == 0
    verifier = _office(HALAL, "verify")
    before, history = _counts(), _history(HALAL)

    result = _run(runner, tmp_path, _doc())

    assert result.exit_code == 0, result.output
    _summary(result, "certificates", 0, 0, 4)
    db.session.expire_all()
    assert (_counts(), _history(HALAL)) == (before, history)
    halal = _cert(HALAL)
    assert halal.verified_by_id == verifier.id  # the import does not sign over the verifier
    assert verifier.name in halal.verified_by_name


def test_revoking_by_import_needs_a_reason_the_village_then_sees(app, runner, client, tmp_path):
    assert _run(runner, tmp_path, _doc()).exit_code == 0
    document = _doc()
    document["certificates"][2]["status"] = "revoked"

    refused = _run(runner, tmp_path, document)

    assert refused.exit_code == 1, refused.output
    assert (f"  rejected certificates {HALAL}: Give the reason, so the village knows what to fix. "
            '(add a "reason" to the row: the village sees it)') in _lines(refused), refused.output
    assert _cert(HALAL).status == "verified"

    document["certificates"][2]["reason"] = OFFICE_REASON
    result = _run(runner, tmp_path, document)

    assert result.exit_code == 0, result.output
    db.session.expire_all()
    assert _cert(HALAL).status == "revoked"
    assert _history(HALAL)[-1] == ("verified", "revoked", _office_actor(app), OFFICE_REASON)
    sign_in(client, make_user(role="village_member", village=_village("beiposo")))
    papers = client.get("/portal/dokumen")
    assert papers.status_code == 200
    assert OFFICE_REASON in papers.get_data(as_text=True)


@pytest.mark.parametrize("closed, first_status, action", [
    ("revoked", "verified", "revoke"),
    ("rejected", "pending", "reject"),
])
@pytest.mark.parametrize("field, value", [
    ("expires_on", "2031-01-01"),
    ("issued_on", "2024-09-01"),
    ("products", ["KOPI-BEI-01", "KOPI-BEI-02"]),
])
@pytest.mark.parametrize("with_status", [True, False])
def test_a_closed_paper_keeps_the_data_it_was_judged_on(app, runner, client, tmp_path, closed,
                                                       first_status, action, field, value,
                                                       with_status):
    first = _doc()
    first["certificates"][2]["status"] = first_status
    assert _run(runner, tmp_path, first).exit_code == 0
    _office(HALAL, action)
    document = _doc()
    document["products"].append({"sku": "KOPI-BEI-02", "slug": "kopi-robusta-beiposo",
                                 "village": "beiposo", "name": "Kopi Robusta Beiposo",
                                 "category": "kopi", "price_idr": 65000, "weight_grams": 250})
    if with_status:
        document["certificates"][2]["status"] = closed
    else:
        del document["certificates"][2]["status"]
    document["certificates"][2][field] = value
    before, history = _counts(), _history(HALAL)

    result = _run(runner, tmp_path, document)

    assert result.exit_code == 1, result.output
    assert (f"  rejected certificates {HALAL}: a {closed} paper keeps the data it was judged on: "
            f"an import cannot change its {field} (") in result.output, result.output
    db.session.expire_all()
    halal = _cert(HALAL)
    assert halal.status == closed and [p.sku for p in halal.products] == ["KOPI-BEI-01"]
    assert str(halal.issued_on) == "2024-08-01" and halal.expires_on is None
    assert (_counts(), _history(HALAL)) == (before, history)
    assert _product("KOPI-BEI-02") is None
    assert client.get("/produk/kopi-arabika-beiposo").status_code == 404


def test_a_closed_paper_with_unchanged_data_reimports_as_unchanged(app, runner, tmp_path):
    assert _run(runner, tmp_path, _doc()).exit_code == 0
    _office(HALAL, "revoke")
    history = _history(HALAL)
    document = _doc()
    document["certificates"][2]["status"] = "revoked"  # the office's file brought up to date

    result = _run(runner, tmp_path, document)

    assert result.exit_code == 0, result.output
    _summary(result, "certificates", 0, 0, 4)
    assert _history(HALAL) == history


def test_revoking_and_editing_in_one_row_is_refused(app):
    _import(_doc())
    document = _doc()
    document["certificates"][2].update(status="revoked", reason=OFFICE_REASON, expires_on="2031-01-01")

    report = import_catalog(document, actor_name=ACTOR)

    assert not report.committed
    assert [(s, k) for s, k, _r in report.rejected] == [("certificates", HALAL)]
    assert report.rejected[0][2].startswith("a revoked paper keeps the data it was judged on")
    db.session.expire_all()
    assert _cert(HALAL).status == "verified" and _cert(HALAL).expires_on is None


def test_an_import_cannot_verify_an_expired_paper_unless_it_brings_the_new_date(app):
    past = (today_wita() - timedelta(days=1)).isoformat()
    ahead = (today_wita() + timedelta(days=365)).isoformat()
    _import(_one_paper("pending", kind="halal", number=HALAL, expires_on=past))

    report = import_catalog(_one_paper("verified", kind="halal", number=HALAL, expires_on=past),
                            actor_name=ACTOR)

    assert not report.committed
    assert report.rejected[0][2].startswith(f"This paper expired on {past}")
    db.session.expire_all()
    assert _cert(HALAL).status == "pending"

    _import(_one_paper("verified", kind="halal", number=HALAL, expires_on=ahead))
    db.session.expire_all()
    assert _cert(HALAL).status == "verified" and str(_cert(HALAL).expires_on) == ahead

