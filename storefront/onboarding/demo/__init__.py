"""The demo catalogue that ``make run`` loads once: real regencies, real kinds of goods.

Some products in it stay hidden on purpose (pending, rejected, revoked and expired papers,
a suspended village) so that a newcomer can see the listing rule at work.
"""
import json
from pathlib import Path

from flask import current_app
from sqlalchemy import func, select

from ...accounts.models import User
from ...accounts.services import create_user
from ...extensions import db
from ...media import save_image
from ...products.models import Category, Product, ProductPhoto
from ...villages.models import Village
from ..importer import import_catalog
from .history import add_history
from .images import product_picture, village_picture

CATALOG_FILE = Path(__file__).with_name("catalog.json")


def load_demo(force=False):
    """Import ``catalog.json``, draw photos, add the demo accounts and some months of orders and
    payouts (``history.py``); returns report lines. Skips a non-empty shop. The caller commits
    (one unit: the demo is there whole or not at all); the photo files of a demo that was not
    committed are left behind, unreferenced."""
    if not force and db.session.scalar(select(func.count()).select_from(Village)):
        return ["Demo catalogue skipped: the database already has villages."]
    document = json.loads(CATALOG_FILE.read_text(encoding="utf-8"))
    actor = f"{current_app.config['OFFICE_NAME']} (data demo)"
    report = import_catalog(document, actor_name=actor)
    if not report.ok:
        raise RuntimeError("the demo catalogue does not import cleanly:\n" + "\n".join(report.lines()))
    report.committed = True  # by the caller's unit of work, with the rest
    return [*report.lines(), f"Photos drawn: {add_missing_photos()}", *add_demo_accounts(),
            *add_history()]


#: Demo sign-ins, printed by ``make run`` and listed in the README. Demo data only.
DEMO_PASSWORD = "desa-demo-ntt"
DEMO_ACCOUNTS = (
    ("admin@demo.produkdesa-ntt.example", "Admin Demo", "admin", None),
    ("verifikator@demo.produkdesa-ntt.example", "Maria Verifikator", "verifier", None),
    ("ratogesa@demo.produkdesa-ntt.example", "Yohanes (Ratogesa)", "village_member", "ratogesa-golewa"),
    ("watublapi@demo.produkdesa-ntt.example", "Ina (Watublapi)", "village_member", "watublapi-hewokloang"),
)


def add_demo_accounts():
    """Accounts to try the office and village sides with; skipped where they exist."""
    for email, name, role, village_slug in DEMO_ACCOUNTS:
        if db.session.scalar(select(func.count()).where(User.email == email)):
            continue
        village_id = None
        if village_slug:
            village_id = db.session.scalar(select(Village.id).where(Village.slug == village_slug))
        create_user(email=email, name=name, password=DEMO_PASSWORD, role=role, village_id=village_id)
        yield f"Demo account: {email} / {DEMO_PASSWORD} ({role}{', ' + village_slug if village_slug else ''})"


def add_missing_photos():
    """Give every village and product without a photo a generated one."""
    count = 0
    for village in db.session.scalars(select(Village).where(Village.photo.is_(None))):
        village.photo = save_image(village_picture(village.name, village.regency_name), village.slug)
        count += 1
    has_photo = select(ProductPhoto.product_id)
    rows = db.session.execute(
        select(Product, Village.name, Category.code)
        .join(Village, Village.id == Product.village_id)
        .join(Category, Category.id == Product.category_id)
        .where(Product.id.not_in(has_photo))
    ).all()
    for product, village_name, category_code in rows:
        key = save_image(product_picture(product.name, village_name, category_code), product.slug)
        db.session.add(ProductPhoto(product_id=product.id, position=0, key=key,
                                    alt=f"{product.name} — {village_name}"))
        count += 1
    db.session.flush()
    return count
