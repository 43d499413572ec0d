"""The demo catalogue that ``make run`` loads: a real-looking shop with the rule at work.

Loading draws ~100 photos, so each database sees one load and one skipped second load.
"""
import os
import re
import sqlite3
import subprocess
import sys
from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.orm import selectinload

from storefront import ROOT
from storefront.accounts.models import User
from storefront.extensions import db
from storefront.legality.models import Certificate
from storefront.listing.rule import sellable_product_ids
from storefront.orders.models import Order
from storefront.outbox.models import OutboxMessage
from storefront.products.models import Category, Product, ProductPhoto
from storefront.settlement.ledger import balance, entry_sums
from storefront.settlement.models import Payout
from storefront.villages.models import Village

CATEGORY_CODES = {"kopi", "teh-herbal", "camilan", "pangan-pokok", "gula-madu", "rempah",
                  "olahan-laut", "olahan-daging", "tenun", "kerajinan"}


def _load_demo(runner):
    result = runner.invoke(args=["catalog", "demo"])
    assert result.exit_code == 0, result.output + repr(result.exception)
    return result.output


def _sellable_ids():
    return set(db.session.scalars(sellable_product_ids()))


def _counts(media_root):
    def count(model):
        return db.session.scalar(select(func.count()).select_from(model))

    files = sorted(p.name for p in Path(media_root).iterdir()) if Path(media_root).exists() else []
    return {"villages": count(Village), "products": count(Product), "certificates": count(Certificate),
            "photos": count(ProductPhoto), "files": files,
            "village_photos": db.session.scalar(select(func.count()).where(Village.photo.is_not(None)))}


def test_demo_fills_a_shop_with_products_on_sale_and_some_hidden_and_loads_once(app, client, runner):
    assert db.session.scalar(select(func.count()).select_from(Village)) == 0
    output = _load_demo(runner)
    assert "skipped" not in output.lower()

    sellable = _sellable_ids()
    assert len(sellable) >= 40
    # The API agrees with the rule.
    api = client.get("/api/v1/products?per_page=100").get_json()
    assert api["total"] == len(sellable)
    assert {item["sku"] for item in api["items"]} == set(
        db.session.scalars(select(Product.sku).where(Product.id.in_(sellable))))

    # Spread over the province: villages with goods on sale, in many regencies.
    selling = db.session.execute(
        select(Village.slug, Village.regency_code)
        .where(Village.id.in_(select(Product.village_id).where(Product.id.in_(sellable))))
    ).all()
    assert len(selling) >= 12
    assert len({regency for _, regency in selling}) >= 8

    # Every category has something on sale.
    on_sale = set(db.session.scalars(
        select(Category.code).join(Product, Product.category_id == Category.id)
        .where(Product.id.in_(sellable))))
    assert on_sale == CATEGORY_CODES

    # Some products are hidden on purpose, and they really are hidden.
    hidden = db.session.scalars(select(Product.slug).where(Product.id.not_in(sellable))).all()
    assert len(hidden) >= 5
    for slug in hidden:
        assert client.get(f"/produk/{slug}").status_code == 404, slug
    assert not set(hidden) & {item["slug"] for item in api["items"]}
    # Among them the unpublished product and every product of the suspended village.
    must_hide = set(db.session.scalars(
        select(Product.slug).join(Village, Village.id == Product.village_id)
        .where((Product.published.is_(False)) | (Village.active.is_(False)))))
    assert must_hide and must_hide <= set(hidden)

    # The suspended village is a 404; an active one with goods on sale is not.
    inactive = db.session.scalars(select(Village.slug).where(Village.active.is_(False))).all()
    assert inactive
    for slug in inactive:
        assert client.get(f"/desa/{slug}").status_code == 404, slug
    assert client.get(f"/desa/{selling[0][0]}").status_code == 200

    _photos_are_served(client)
    _history_fills_the_money_pages(client)
    _a_second_load_is_skipped(app, runner)


def _photos_are_served(client):
    products = db.session.scalars(
        select(Product).where(Product.id.in_(sellable_product_ids()))
        .options(selectinload(Product.photos)).order_by(Product.id)).all()
    assert len(products) >= 40
    for product in products:
        keys = [photo.key for photo in product.photos]
        assert keys, f"{product.slug} has no photo"
        html = client.get(f"/produk/{product.slug}").get_data(as_text=True)
        # The page shows the product's own photo (large); both sizes are served.
        shown = set(re.findall(r'/media/([a-z0-9-]+)-[sl]\.jpg', html))
        assert keys[0] in shown, product.slug
        for size in ("s", "l"):
            image = client.get(f"/media/{keys[0]}-{size}.jpg")
            assert image.status_code == 200, (product.slug, size)
            assert image.mimetype == "image/jpeg"
            assert image.data[:3] == b"\xff\xd8\xff"  # a JPEG, not an error page


def _history_fills_the_money_pages(client):
    """Months of orders and payouts, through the real services: the impact page shows what
    was paid to villages, a demo member's village has money, and the months differ."""
    html = client.get("/dampak").get_data(as_text=True)
    total = re.search(r"<dt>Dibayarkan ke desa</dt><dd><strong>Rp ([\d.]+)</strong>", html)
    assert total and int(total.group(1).replace(".", "")) > 0, "nothing paid to villages on /dampak"
    paid = db.session.execute(select(Payout.paid_on, Payout.amount_idr).where(Payout.status == "paid")).all()
    assert sum(amount for _day, amount in paid) == int(total.group(1).replace(".", ""))
    assert len({(day.year, day.month) for day, _amount in paid}) >= 3
    assert len({(o.year, o.month) for o in db.session.scalars(select(Order.paid_at))}) >= 5
    # What waits: parcels still on their way (pending), earnings not yet paid out.
    pending, available = entry_sums()
    assert pending > 0 and available > 0
    member = db.session.scalars(select(User).where(User.role == "village_member")).first()
    assert balance(member.village_id) != (0, 0)
    assert db.session.scalar(select(func.count()).select_from(OutboxMessage)) == 0  # the past is told to nobody


def _a_second_load_is_skipped(app, runner):
    media_root = app.config["MEDIA_ROOT"]
    before = _counts(media_root)
    db.session.remove()
    output = _load_demo(runner)
    assert "skipped" in output.lower()
    db.session.remove()
    assert _counts(media_root) == before


def test_make_run_steps_on_a_fresh_instance(tmp_path):
    """``make run`` minus the server: migrate, load the demo, load it again.

    Runs once (SQLite in a temp folder), not once per backend: it uses no database fixture.
    """
    flask = Path(sys.executable).parent / "flask"
    env = {k: v for k, v in os.environ.items() if k not in {"STOREFRONT_ENV", "FLASK_APP"}}
    env.update(DATABASE_URL=f"sqlite:///{tmp_path / 'x.db'}", MEDIA_ROOT=str(tmp_path / "media"))

    def run(*args):
        done = subprocess.run([str(flask), "--app", "wsgi:app", *args], cwd=ROOT, env=env,
                              capture_output=True, text=True, timeout=120)
        assert done.returncode == 0, f"flask {' '.join(args)}:\n{done.stdout}\n{done.stderr}"
        return done.stdout + done.stderr

    run("db", "upgrade")
    first = run("catalog", "demo")
    assert "skipped" not in first.lower()

    def snapshot():
        with sqlite3.connect(tmp_path / "x.db") as conn:
            counts = tuple(conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
                           for table in ("villages", "products", "certificates", "product_photos"))
        return counts, sorted(p.name for p in (tmp_path / "media").iterdir())

    loaded = snapshot()
    villages, products, certificates, photos = loaded[0]
    assert villages >= 12 and products >= 40 and certificates > 0 and photos >= products
    assert len(loaded[1]) >= 2 * photos  # a small and a large file per photo

    second = run("catalog", "demo")
    assert "skipped" in second.lower()
    assert snapshot() == loaded
