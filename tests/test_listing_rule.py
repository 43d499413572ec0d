"""The listing rule, clause by clause, through every public page and the API."""
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import select

from storefront import clock
from storefront.clock import today_wita
from storefront.extensions import db
from storefront.legality.models import Certificate

from .factories import (make_certificate, make_certified_village, make_product, make_sellable_food,
                        make_village)
from .visibility import assert_hidden, assert_visible

NOT_VERIFIED = ["pending", "rejected", "revoked"]


def _food(village=None, category_code="kopi", **fields):
    """A food product of ``village`` (certified NIB) with no food papers yet."""
    village = village or make_certified_village()
    return village, make_product(village, category_code, **fields)


def test_fully_certified_food_is_visible_everywhere(client):
    product = make_sellable_food()
    assert_visible(client, product, db.session.get(type(product), product.id).village_id and
                   _slug_of(product))


def _slug_of(product):
    from storefront.villages.models import Village

    return db.session.get(Village, product.village_id).slug


@pytest.mark.parametrize("category_code", ["kopi", "teh-herbal", "camilan", "pangan-pokok",
                                           "gula-madu", "rempah", "olahan-laut", "olahan-daging"])
def test_every_food_category_needs_a_food_permit(client, category_code):
    village, product = _food(category_code=category_code)
    make_certificate(village, "halal", [product])
    assert_hidden(client, product, village.slug)
    make_certificate(village, "pirt", [product])
    assert_visible(client, product, village.slug)


@pytest.mark.parametrize("category_code", ["tenun", "kerajinan"])
def test_non_food_needs_only_the_village_nib(client, category_code):
    village = make_village()
    product = make_product(village, category_code)
    assert_hidden(client, product, village.slug)
    make_certificate(village, "nib")
    assert_visible(client, product, village.slug)


def test_unpublished_product_is_hidden(client):
    product = make_sellable_food(published=False)
    assert_hidden(client, product, _slug_of(product))


def test_inactive_village_hides_its_products_and_profile(client):
    village = make_certified_village(active=False)
    product = make_product(village, "tenun")
    assert_hidden(client, product, village.slug)
    assert client.get(f"/desa/{village.slug}").status_code == 404
    assert f'href="/desa/{village.slug}"' not in client.get("/desa").get_data(as_text=True)


@pytest.mark.parametrize("status", NOT_VERIFIED)
def test_nib_must_be_verified(client, status):
    village = make_village()
    make_certificate(village, "nib", status=status)
    product = make_product(village, "tenun")
    assert_hidden(client, product, village.slug)


@pytest.mark.parametrize("days, visible", [(0, True), (-1, False), (1, True)])
def test_nib_expiry_counts_in_wita_days(client, days, visible):
    village = make_village()
    make_certificate(village, "nib", expires_on=today_wita() + timedelta(days=days))
    product = make_product(village, "kerajinan")
    (assert_visible if visible else assert_hidden)(client, product, village.slug)


def test_nib_of_another_village_does_not_count(client):
    other = make_certified_village()
    village = make_village()
    product = make_product(village, "tenun")
    assert other.id != village.id
    assert_hidden(client, product, village.slug)


@pytest.mark.parametrize("kind", ["pirt", "bpom_md"])
def test_either_food_permit_is_enough(client, kind):
    village, product = _food()
    make_certificate(village, "halal", [product])
    make_certificate(village, kind, [product])
    assert_visible(client, product, village.slug)


@pytest.mark.parametrize("kind", ["pirt", "bpom_md"])
@pytest.mark.parametrize("status", NOT_VERIFIED)
def test_food_permit_must_be_verified(client, kind, status):
    village, product = _food()
    make_certificate(village, "halal", [product])
    make_certificate(village, kind, [product], status=status)
    assert_hidden(client, product, village.slug)


@pytest.mark.parametrize("days, visible", [(0, True), (-1, False)])
def test_food_permit_expiring_today_counts_yesterday_does_not(client, days, visible):
    village, product = _food()
    make_certificate(village, "halal", [product])
    make_certificate(village, "pirt", [product], expires_on=today_wita() + timedelta(days=days))
    (assert_visible if visible else assert_hidden)(client, product, village.slug)


def test_food_permit_must_cover_this_product(client):
    village, product = _food()
    _, sibling = _food(village)
    make_certificate(village, "halal", [product, sibling])
    make_certificate(village, "pirt", [sibling])
    assert_hidden(client, product, village.slug)
    assert_visible(client, sibling, village.slug)


def test_food_permit_of_another_village_never_counts(client):
    village, product = _food()
    other = make_certified_village()
    make_certificate(village, "halal", [product])
    make_certificate(other, "pirt", [product])  # lists our product, but is not ours
    assert_hidden(client, product, village.slug)


def test_halal_is_needed_for_food(client):
    village, product = _food()
    make_certificate(village, "pirt", [product])
    assert_hidden(client, product, village.slug)


@pytest.mark.parametrize("status", NOT_VERIFIED)
def test_halal_must_be_verified(client, status):
    village, product = _food()
    make_certificate(village, "pirt", [product])
    make_certificate(village, "halal", [product], status=status)
    assert_hidden(client, product, village.slug)


@pytest.mark.parametrize("days, visible", [(0, True), (-1, False)])
def test_halal_expiry(client, days, visible):
    village, product = _food()
    make_certificate(village, "pirt", [product])
    make_certificate(village, "halal", [product], expires_on=today_wita() + timedelta(days=days))
    (assert_visible if visible else assert_hidden)(client, product, village.slug)


def test_halal_of_another_village_never_counts(client):
    village, product = _food()
    other = make_certified_village()
    make_certificate(village, "pirt", [product])
    make_certificate(other, "halal", [product])
    assert_hidden(client, product, village.slug)


def test_declared_non_halal_food_needs_no_halal_and_says_so(client):
    village, product = _food(category_code="olahan-daging", non_halal=True, name="Se'i Babi Asap")
    make_certificate(village, "pirt", [product])
    assert_visible(client, product, village.slug)
    page = client.get(f"/produk/{product.slug}").get_data(as_text=True)
    card = client.get("/produk").get_data(as_text=True)
    assert "Non-halal" in page and "Non-halal" in card


def test_sold_out_is_shown_but_marked(client):
    product = make_sellable_food(stock=0)
    assert_visible(client, product, _slug_of(product))
    page = client.get(f"/produk/{product.slug}").get_data(as_text=True)
    assert "Habis" in page or "Sold out" in page
    assert client.get("/api/v1/products").json["items"][0]["in_stock"] is False


def test_expiry_uses_the_date_in_wita_not_utc(client, monkeypatch):
    """16:30 UTC on 29 Nov is already 30 Nov in NTT: a paper that ended on 29 Nov is expired."""
    monkeypatch.setattr(clock, "now_utc", lambda: datetime(2026, 11, 29, 16, 30, tzinfo=timezone.utc))
    village, product = _food()
    make_certificate(village, "halal", [product])
    make_certificate(village, "pirt", [product], expires_on=datetime(2026, 11, 29).date())
    assert today_wita().isoformat() == "2026-11-30"
    assert_hidden(client, product, village.slug)

    monkeypatch.setattr(clock, "now_utc", lambda: datetime(2026, 11, 29, 15, 30, tzinfo=timezone.utc))
    assert_visible(client, product, village.slug)


def test_product_page_shows_the_papers_that_make_it_sellable(client):
    village = make_certified_village(regency_code="53.09")
    product = make_product(village, "kopi", price_idr=85000, weight_grams=250)
    pirt = make_certificate(village, "pirt", [product], expires_on=today_wita() + timedelta(days=400))
    halal = make_certificate(village, "halal", [product])
    stale = make_certificate(village, "bpom_md", [product], status="revoked")
    gi = make_certificate(village, "geographical_indication", [product])
    page = client.get(f"/produk/{product.slug}").get_data(as_text=True)
    assert "Rp 85.000" in page
    for number in (pirt.number, halal.number, gi.number):
        assert number in page
    assert stale.number not in page
    assert "Pemerintah Kabupaten Ngada" in page  # P-IRT issuer: the regency
    assert "BPJPH" in page


def test_badges_show_only_when_current(client):
    village = make_certified_village()
    product = make_product(village, "tenun")
    current = make_certificate(village, "trademark", expires_on=today_wita() + timedelta(days=30))
    expired = make_certificate(village, "trademark", expires_on=today_wita() - timedelta(days=1))
    pending = make_certificate(village, "geographical_indication", [product], status="pending")
    page = client.get(f"/produk/{product.slug}").get_data(as_text=True)
    assert current.number in page
    assert expired.number not in page and pending.number not in page


@pytest.mark.parametrize("status", ["pending", "verified", "rejected", "revoked"])
@pytest.mark.parametrize("expires", [None, -1, 0, 1])
def test_a_loaded_paper_and_the_sql_agree_on_what_is_current(app, status, expires):
    """``Certificate.is_current`` is one hybrid: in Python for loaded papers, in SQL for the
    listing rule; for every status and expiry around today they give the same answer."""
    today = today_wita()
    village = make_certified_village()
    paper = make_certificate(village, "halal", status=status,
                             expires_on=None if expires is None else today + timedelta(days=expires))
    in_sql = db.session.scalar(select(Certificate.is_current(today)).where(Certificate.id == paper.id))
    assert bool(in_sql) == paper.is_current(today) == (status == "verified" and (expires is None or expires >= 0))
