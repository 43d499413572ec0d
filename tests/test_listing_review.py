"""The office reviews what a product is (issue 13, item 3): a new listing waits hidden until
approved; a change to what an approved product is waits as a proposal while the approved version
stays on sale; price and stock stay the village's to change at once.

Pages are read in English (msgids), so the checks do not depend on the translation catalogue.
"""
import io
from itertools import product as pairs

import pytest
from PIL import Image
from sqlalchemy import func, select
from sqlalchemy.orm import selectinload

from storefront.extensions import db
from storefront.listing.rule import explain_listing, is_sellable
from storefront.onboarding.importer import run_import as import_catalog
from storefront.products.models import REVIEW_STATUSES, ListingEvent, Product, ProductPhoto, ProductRevision
from storefront.products.review import LISTING_TRANSITIONS, ReviewError, decide_listing, propose_change

from .conftest import csrf_token
from .factories import (category, make_certificate, make_certified_village, make_product, make_sellable_food,
                        make_user, office_approves, sign_in)
from .test_portal_listings import fresh, member_client, only_product, post_edit, post_new, text
from .visibility import assert_hidden, assert_visible, where_visible


def office_client(app):
    client = app.test_client()
    sign_in(client, make_user("verifier"))
    client.get("/bahasa/en")
    return client


def jpeg(color):
    out = io.BytesIO()
    Image.new("RGB", (400, 300), color).save(out, "JPEG")
    return out.getvalue()


# --- a new listing -----------------------------------------------------------------------------------

def test_a_new_handicraft_with_its_nib_waits_for_the_office_before_it_is_sold(app, client):
    village = make_certified_village()
    member = member_client(app, village)
    assert post_new(member, name="Selendang Tenun Ikat Sikka", category=str(category("tenun").id)).status_code == 303
    product = only_product(village)
    assert product.review_status == "pending"
    assert_hidden(client, product, village.slug)
    assert explain_listing([product.id])[product.id] == ["approved"]
    assert "Waiting for the office's review" in text(member.get("/portal/produk"))
    # Nor can it be bought: the cart refuses what the rule hides.
    page = text(client.get("/masuk"))
    answer = client.post("/keranjang/tambah", data={"csrf_token": csrf_token(page), "product_id": product.id,
                                                    "quantity": 1})
    assert answer.status_code in (303, 404, 422)
    assert "Selendang" not in text(client.get("/keranjang"))

    office = office_client(app)
    queue = text(office.get("/kantor/produk"))
    assert "Selendang Tenun Ikat Sikka" in queue and village.name in queue
    office_approves(app, product)
    assert fresh(product.id).review_status == "approved"
    assert_visible(client, product, village.slug)
    assert "Selendang Tenun Ikat Sikka" not in text(office.get("/kantor/produk"))


def test_a_refused_listing_tells_the_village_why_and_comes_back_when_changed(app, client):
    village = make_certified_village()
    member = member_client(app, village)
    post_new(member, name="Kain Sarung", category=str(category("tenun").id))
    product = only_product(village)
    office = office_client(app)
    page = text(office.get(f"/kantor/produk/{product.id}"))
    empty = office.post(f"/kantor/produk/{product.id}/tolak", data={"csrf_token": csrf_token(page), "reason": " "})
    assert empty.status_code == 303 and fresh(product.id).review_status == "pending"  # a reason is needed
    office_approves(app, product, reason="Foto produk belum ada; tambahkan foto kain.")
    assert fresh(product.id).review_status == "rejected"
    assert_hidden(client, product, village.slug)
    for url in ("/portal/produk", f"/portal/produk/{product.id}/ubah"):
        assert "Foto produk belum ada; tambahkan foto kain." in text(member.get(url))

    assert post_edit(member, product.id, photos=[(jpeg((120, 40, 40)), "kain.jpg")]).status_code == 303
    assert fresh(product.id).review_status == "pending"
    assert "Kain Sarung" in text(office.get("/kantor/produk"))
    events = db.session.scalars(select(ListingEvent.to_status).where(ListingEvent.product_id == product.id)
                                .order_by(ListingEvent.id)).all()
    assert events == ["pending", "rejected", "pending"]


@pytest.mark.parametrize("from_status, to_status", list(pairs(REVIEW_STATUSES, repeat=2)))
def test_the_office_moves_a_listing_only_along_the_table(app, from_status, to_status):
    product = make_product(make_certified_village(), "tenun", review_status=from_status)
    office = make_user("verifier")
    allowed = LISTING_TRANSITIONS.get((from_status, to_status)) == "office"
    if allowed:
        decide_listing(product, to_status, office, "Alasan.")
        assert product.review_status == to_status
    else:
        with pytest.raises(ReviewError):
            decide_listing(product, to_status, office, "Alasan.")
        assert product.review_status == from_status


# --- a change to what an approved product is ---------------------------------------------------------

def test_a_renamed_and_recategorised_product_stays_on_sale_as_approved_until_the_office_decides(app, client):
    """The review's own case: certified coffee renamed "Madu Hutan" and moved to honey."""
    village = make_certified_village()
    coffee = make_sellable_food(village, name="Kopi Arabika Bajawa", description="Kopi sangrai.",
                                price_idr=85000, stock=10)
    member = member_client(app, village)
    answer = post_edit(member, coffee.id, name="Madu Hutan", category=str(category("gula-madu").id),
                       description="Madu hutan asli.", price_idr="90000", stock="7")
    assert answer.status_code == 303
    assert "wait for the office's review" in text(member.get(answer.headers["Location"]))
    now = fresh(coffee.id)
    # Price and stock are the village's own: at once. What the product is: not yet.
    assert (now.price_idr, now.stock) == (90000, 7)
    assert (now.name, now.category_id, now.description) == ("Kopi Arabika Bajawa", category("kopi").id, "Kopi sangrai.")
    page = text(client.get(f"/produk/{coffee.slug}"))
    assert "Kopi Arabika Bajawa" in page and "Madu Hutan" not in page and "Rp 90.000" in page
    assert not where_visible(client, coffee.slug, coffee.sku, village.slug, "Madu Hutan")["search"]
    assert "Madu Hutan" not in text(client.get("/produk?kategori=gula-madu"))
    assert "Madu Hutan" not in text(client.get("/api/v1/products.csv"))

    # The office sees both side by side.
    office = office_client(app)
    review = text(office.get(f"/kantor/produk/{coffee.id}"))
    assert "Kopi Arabika Bajawa" in review and "Madu Hutan" in review and "Madu hutan asli." in review
    assert "P-IRT" in review  # the papers it would keep
    office_approves(app, coffee, reason="Izin P-IRT ini untuk kopi, bukan madu. Ajukan madu sebagai produk baru.")
    after = fresh(coffee.id)
    assert (after.name, after.category_id) == ("Kopi Arabika Bajawa", category("kopi").id)
    assert is_sellable(coffee.id)
    edit = text(member.get(f"/portal/produk/{coffee.id}/ubah"))
    assert "Izin P-IRT ini untuk kopi, bukan madu." in edit


def test_an_approved_change_is_applied_as_the_village_asked(app, client):
    village = make_certified_village()
    coffee = make_sellable_food(village, name="Kopi Bajawa 250 g", weight_grams=250)
    member = member_client(app, village)
    post_edit(member, coffee.id, name="Kopi Arabika Bajawa 500 g", weight_grams="500",
              photos=[(jpeg((90, 60, 30)), "kopi.jpg")])
    revision = db.session.scalars(select(ProductRevision)).one()
    new_key = revision.photo_keys.strip('[]"')
    # The new photo is stored but shown nowhere public before approval.
    assert new_key not in text(client.get(f"/produk/{coffee.slug}"))
    office_approves(app, coffee)
    after = fresh(coffee.id)
    assert (after.name, after.weight_grams) == ("Kopi Arabika Bajawa 500 g", 500)
    assert db.session.scalars(select(ProductPhoto.key).where(ProductPhoto.product_id == coffee.id)).all() == [new_key]
    page = text(client.get(f"/produk/{coffee.slug}"))
    assert "Kopi Arabika Bajawa 500 g" in page and new_key in page
    assert fresh(coffee.id) and db.session.get(ProductRevision, revision.id).status == "approved"


def test_price_stock_and_showing_change_at_once_without_review(app, client):
    village = make_certified_village()
    coffee = make_sellable_food(village, price_idr=85000, stock=10)
    member = member_client(app, village)
    assert post_edit(member, coffee.id, price_idr="79.000", stock="3").status_code == 303
    assert (fresh(coffee.id).price_idr, fresh(coffee.id).stock) == (79000, 3)
    assert db.session.scalar(select(func.count()).select_from(ProductRevision)) == 0
    assert "Rp 79.000" in text(client.get(f"/produk/{coffee.slug}"))
    assert post_edit(member, coffee.id, published=None).status_code == 303
    assert client.get(f"/produk/{coffee.slug}").status_code == 404


def test_removing_a_photo_of_an_approved_product_waits_and_can_be_withdrawn(app, client):
    village = make_certified_village()
    craft = make_product(village, "tenun", name="Selendang Ikat")
    make_certificate(village, "nib")
    db.session.add(ProductPhoto(product_id=craft.id, position=0, key="selendang-0000aaaa"))
    db.session.commit()
    member = member_client(app, village)
    page = text(member.get(f"/portal/produk/{craft.id}/ubah"))
    assert member.post(f"/portal/produk/{craft.id}/foto/selendang-0000aaaa/hapus",
                       data={"csrf_token": csrf_token(page)}).status_code == 303
    assert db.session.scalar(select(func.count()).select_from(ProductPhoto)) == 1  # still shown
    page = text(member.get(f"/portal/produk/{craft.id}/ubah"))
    assert "waits for the office" in page
    assert member.post(f"/portal/produk/{craft.id}/usulan/tarik",
                       data={"csrf_token": csrf_token(page)}).status_code == 303
    assert db.session.scalars(select(ProductRevision.status)).all() == ["withdrawn"]
    assert "Nothing" in text(office_client(app).get("/kantor/produk"))


def test_a_newer_proposal_is_never_decided_unseen(app):
    village = make_certified_village()
    coffee = make_sellable_food(village, name="Kopi Bajawa")
    member = member_client(app, village)
    post_edit(member, coffee.id, name="Kopi Bajawa Premium")
    office = office_client(app)
    page = text(office.get(f"/kantor/produk/{coffee.id}"))  # the office reads "Premium"
    post_edit(member, coffee.id, name="Madu Bajawa")          # ... the village changes its mind
    seen = db.session.scalars(select(ProductRevision.id).where(ProductRevision.status == "superseded")).one()
    answer = office.post(f"/kantor/produk/{coffee.id}/setujui",
                         data={"csrf_token": csrf_token(page), "revision_id": str(seen)})
    assert answer.status_code == 303
    assert fresh(coffee.id).name == "Kopi Bajawa"
    assert db.session.scalars(select(ProductRevision.status).order_by(ProductRevision.id)).all() == \
        ["superseded", "pending"]


def test_proposing_back_what_is_approved_ends_the_waiting_proposal(app):
    village = make_certified_village()
    coffee = make_sellable_food(village, name="Kopi Bajawa")
    member = member_client(app, village)
    post_edit(member, coffee.id, name="Kopi Bajawa Baru")
    post_edit(member, coffee.id, name="Kopi Bajawa")
    assert db.session.scalars(select(ProductRevision.status)).all() == ["superseded"]
    assert "Nothing" in text(office_client(app).get("/kantor/produk"))


def test_only_the_office_decides_and_one_proposal_waits_at_a_time(app):
    village = make_certified_village()
    coffee = make_sellable_food(village)
    loaded = db.session.scalars(select(Product).where(Product.id == coffee.id)
                                .options(selectinload(Product.photos))).one()
    first, _ = propose_change(loaded, {"name": "Satu"}, None)
    second, _ = propose_change(loaded, {"name": "Dua"}, None)
    db.session.commit()
    assert (first.status, second.status) == ("superseded", "pending")
    db.session.add(ProductRevision(product_id=coffee.id, name="Tiga", category_id=coffee.category_id,
                                   description="", weight_grams=250, non_halal=False, photo_keys="[]"))
    with pytest.raises(Exception):  # the partial unique index: never two waiting proposals
        db.session.commit()
    db.session.rollback()


def test_imported_products_are_the_offices_own_and_count_as_approved(app, client):
    document = {
        "villages": [{"slug": "desa-impor", "name": "Desa Impor", "regency": "Sikka", "district": "Nita",
                      "group_name": "Kelompok Tenun", "group_type": "kelompok_wanita", "story": "",
                      "phone": "+6281234567890", "email": "tenun@desa.example.id"}],
        "products": [{"sku": "IMP-TENUN-1", "slug": "tenun-impor", "village": "desa-impor", "name": "Tenun Impor",
                      "category": "tenun", "description": "", "price_idr": 450000, "weight_grams": 400,
                      "stock": 2}],
        "certificates": [{"kind": "nib", "number": "1234567890123", "village": "desa-impor",
                          "issued_on": "2024-01-01", "expires_on": None, "status": "verified"}],
    }
    report = import_catalog(document, actor_name="Dinas (impor)")
    assert report.committed, report.rejected
    product = db.session.scalars(select(Product).where(Product.sku == "IMP-TENUN-1")).one()
    assert product.review_status == "approved"
    assert_visible(client, product, "desa-impor")
    # A product waiting for review that the office then imports is approved by the import.
    product.review_status = "pending"
    db.session.commit()
    assert_hidden(client, product, "desa-impor")
    assert import_catalog(document, actor_name="Dinas (impor)").committed
    assert fresh(product.id).review_status == "approved"
