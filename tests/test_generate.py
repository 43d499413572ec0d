"""``flask catalog generate``: a synthetic catalogue, bulk-loaded, that the listing rule reads as usual."""
from sqlalchemy import func, select

from storefront.benchdata.generate import GenerateRefused, generate_catalog
from storefront.products.models import Product
from storefront.listing.rule import explain_listing, sellable_product_ids
from storefront.extensions import db
from storefront.legality.models import Certificate
from storefront.orders.models import Order, OrderLine, VillageOrder
from storefront.villages.models import Village

from .factories import make_village


def count(model):
    return db.session.scalar(select(func.count()).select_from(model))


def test_generates_counts_and_a_mostly_sellable_catalogue(app):
    counts = generate_catalog(villages=20, products=200, order_lines=500)
    assert (count(Village), count(Product), count(OrderLine)) == (20, 200, 500)
    assert counts.order_lines == 500 and counts.orders == count(Order) > 100
    assert counts.village_orders == count(VillageOrder) >= counts.orders
    assert count(Certificate) == counts.certificates >= 20  # a NIB per village at least
    # Every order's total is the sum of its parcels.
    assert db.session.scalar(select(func.sum(Order.subtotal_idr))) == db.session.scalar(
        select(func.sum(VillageOrder.subtotal_idr)))

    sellable = db.session.scalar(select(func.count()).select_from(sellable_product_ids().subquery()))
    failing = {pid: clauses for pid, clauses in
               explain_listing(db.session.scalars(select(Product.id))).items() if clauses}
    # The rule, read clause by clause, and the rule as one query agree; most goods are on sale,
    # some are hidden on purpose.
    assert sellable == 200 - len(failing)
    assert 120 <= sellable < 200


def test_same_seed_same_catalogue_and_it_adds_up(app):
    generate_catalog(villages=5, products=30, order_lines=40, seed=3)
    names = db.session.scalars(select(Product.name).order_by(Product.id)).all()
    generate_catalog(villages=5, products=30, order_lines=40, seed=3)  # a second batch: new ids
    assert count(Product) == 60 and count(OrderLine) == 80
    assert db.session.scalars(select(Product.name).order_by(Product.id).limit(30)).all() == names
    # New rows keep getting ids from the database after the bulk load.
    village = make_village()
    assert village.id == 11


def test_refuses_a_database_with_real_villages(app, runner):
    make_village(slug="ratogesa-golewa")
    try:
        generate_catalog(villages=2, products=4, order_lines=4)
    except GenerateRefused:
        pass
    else:
        raise AssertionError("generated into a shop with real villages")
    assert count(Product) == 0
    result = runner.invoke(args=["catalog", "generate", "--villages", "2", "--products", "4",
                                 "--orders", "4"])
    assert result.exit_code != 0 and "--force" in result.output
    result = runner.invoke(args=["catalog", "generate", "--villages", "2", "--products", "4",
                                 "--orders", "4", "--force"])
    assert result.exit_code == 0, result.output
    assert "generated 2 villages, 4 products" in result.output
    assert count(Product) == 4
