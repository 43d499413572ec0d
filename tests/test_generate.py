"""``flask catalog generate``: a synthetic catalogue, bulk-loaded, that the listing rule reads as usual."""
import pytest
from sqlalchemy import func, select, text

from storefront.benchdata.generate import GenerateRefused, generate_catalog
from storefront.catalog.browse import Filters, catalog_statement
from storefront.extensions import db
from storefront.legality.models import Certificate
from storefront.listing.rule import explain_listing, sellable_product_ids
from storefront.onboarding.importer import run_import as import_catalog
from storefront.orders.models import Order, OrderLine, VillageOrder
from storefront.products.models import Product
from storefront.unit_of_work import unit_of_work
from storefront.villages.models import Village

from .factories import make_village


def generate(**counts):
    """``flask catalog generate``: the generator in one unit of work."""
    with unit_of_work():
        return generate_catalog(**counts)

def count(model):
    return db.session.scalar(select(func.count()).select_from(model))


def test_generates_counts_and_a_mostly_sellable_catalogue(app):
    counts = generate(villages=20, products=200, order_lines=500)
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
    generate(villages=5, products=30, order_lines=40, seed=3)
    names = db.session.scalars(select(Product.name).order_by(Product.id)).all()
    generate(villages=5, products=30, order_lines=40, seed=3)  # a second batch: new ids
    assert count(Product) == 60 and count(OrderLine) == 80
    assert db.session.scalars(select(Product.name).order_by(Product.id).limit(30)).all() == names
    # New rows keep getting ids from the database after the bulk load.
    village = make_village()
    assert village.id == 11


def test_refuses_a_database_with_real_villages(app, runner):
    make_village(slug="ratogesa-golewa")
    try:
        generate(villages=2, products=4, order_lines=4)
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


def _planner_rows(table):
    """How many rows PostgreSQL's planner believes ``table`` holds (-1 or 0: never analysed)."""
    return db.session.scalar(text("SELECT reltuples FROM pg_class WHERE relname = :name"), {"name": table})


def test_a_bulk_load_ends_with_fresh_planner_statistics(app, backend):
    """Issue 14: right after ``flask catalog generate`` pages took 0.2-1.4 s until autovacuum
    analysed the tables. The generator and the import now analyse what they loaded."""
    if backend != "postgresql":
        pytest.skip("SQLite keeps no planner statistics unless asked")
    from .test_import import ACTOR, _doc

    generate(villages=20, products=300, order_lines=400)
    assert _planner_rows("products") == 300 and _planner_rows("villages") == 20
    assert _planner_rows("order_lines") == 400
    db.session.execute(text("TRUNCATE products, villages, certificates, certificate_products CASCADE"))
    db.session.commit()
    assert _planner_rows("products") <= 0
    assert import_catalog(_doc(), actor_name=ACTOR).committed
    assert _planner_rows("products") == 2 and _planner_rows("villages") == 2


def test_the_filtered_catalogue_looks_up_papers_product_by_product(app, backend):
    """``/produk?kategori=kopi&kabupaten=53.09`` took 184 ms at national scale: PostgreSQL
    hashed every covered product of the shop to check the few hundred of one regency. With a
    regency or village, each product's papers are looked up on their own (an index probe)."""
    if backend != "postgresql":
        pytest.skip("the plan is PostgreSQL's")
    generate(villages=150, products=10000, order_lines=0)  # analysed at the end
    regency = db.session.scalar(select(Village.regency_code).group_by(Village.regency_code)
                                .order_by(func.count().desc()).limit(1))
    for filters in (Filters(category="kopi", regency=regency), Filters(regency=regency),
                    Filters(category="madu", village=db.session.scalar(select(Village.slug).limit(1)))):
        stmt = catalog_statement(filters).limit(24)
        sql = stmt.compile(dialect=db.engine.dialect, compile_kwargs={"literal_binds": True})
        plan = "\n".join(db.session.scalars(text(f"EXPLAIN {sql}")))
        assert "hashed SubPlan" not in plan, plan
        # The same products as the rule checked for the whole shop at once.
        whole = catalog_statement(Filters(category=filters.category)).where(
            Village.regency_code == regency if filters.regency else Village.slug == filters.village)
        assert db.session.scalars(stmt).unique().all() == db.session.scalars(whole.limit(24)).unique().all()
