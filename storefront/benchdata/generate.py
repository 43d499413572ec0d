"""A synthetic catalogue at provincial or national scale, for benchmarks: ``flask catalog generate``.

Villages, products, legality papers and past orders are written with bulk inserts (COPY on
PostgreSQL, Core ``executemany`` in batches elsewhere), with ids chosen here so that no row has
to be read back. Most products are sellable; some are not, on purpose (unpublished, a suspended
village, a pending or revoked NIB, an expired P-IRT, a missing halal certificate), so that the
listing rule does real work.

Generated villages have slugs starting with ``gen-``: a database holding any other village is
refused unless ``force`` is given, so a real shop is never filled with made-up goods by mistake.
"""
import hashlib
import random
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone

from sqlalchemy import func, insert, select, text

from ..clock import today_wita
from ..extensions import db
from ..legality.models import Certificate, certificate_products
from ..orders.models import Order, OrderLine, VillageOrder
from ..planner import refresh_statistics
from ..products.models import Category, Product
from ..unit_of_work import after_commit
from ..villages.models import GROUP_TYPES, Village
from ..villages.regions import REGENCIES

#: Slug prefix that marks a generated village.
PREFIX = "gen-"
BATCH = 5000

#: Category code -> product names typical of NTT (docs/domain.md), and a price range in rupiah.
GOODS = {
    "kopi": (["Kopi Arabika Bajawa", "Kopi Robusta Manggarai", "Kopi Arabika Manggarai",
              "Kopi Bubuk Flores", "Kopi Sangrai Ngada"], (45000, 180000)),
    "teh-herbal": (["Teh Kelor", "Serbuk Kelor", "Teh Daun Sirsak", "Jahe Merah Instan"], (20000, 75000)),
    "camilan": (["Keripik Pisang", "Kacang Mete Goreng", "Kue Rambut", "Jagung Titi",
                 "Keripik Rumput Laut"], (15000, 90000)),
    "pangan-pokok": (["Beras Merah", "Sorgum Sosol", "Jagung Bose", "Kacang Hijau"], (18000, 60000)),
    "gula-madu": (["Gula Lontar Semut", "Sirup Gula Lontar", "Madu Hutan Amfoang",
                   "Madu Hutan Flores", "Gula Lontar Lempeng"], (25000, 150000)),
    "rempah": (["Minyak Kemiri", "Minyak Kelapa Murni", "Vanili Alor", "Garam SoE",
                "Kenari Alor"], (20000, 250000)),
    "olahan-laut": (["Abon Ikan Tuna", "Ikan Asin Kering", "Dodol Rumput Laut"], (30000, 120000)),
    "olahan-daging": (["Se'i Sapi", "Se'i Babi", "Abon Sapi", "Dendeng Sapi"], (70000, 220000)),
    "tenun": (["Tenun Ikat Sikka", "Selendang Tenun Alor", "Sarung Tenun Sumba",
               "Kain Songket Alor", "Tenun Ikat Ngada"], (250000, 3500000)),
    "kerajinan": (["Anyaman Lontar", "Tas Anyaman", "Topi Ti'i Langga", "Sasando Mini",
                   "Keranjang Bambu"], (35000, 450000)),
}
SYLLABLES = ["wa", "tu", "bla", "pi", "ra", "to", "ge", "sa", "no", "ka", "li", "mbu", "na", "lo",
             "de", "ma", "ru", "se", "ta", "be", "ko", "la", "fa", "ne", "o", "u", "le", "mo"]
PARCEL_DONE = ("delivered", "delivered", "delivered", "shipped", "accepted", "paid")


class GenerateRefused(RuntimeError):
    """The database holds data that was not generated, and ``force`` was not given."""


@dataclass
class Counts:
    villages: int = 0
    products: int = 0
    certificates: int = 0
    orders: int = 0
    village_orders: int = 0
    order_lines: int = 0


def real_villages():
    """How many villages in the database were not generated."""
    return db.session.scalar(
        select(func.count()).select_from(Village).where(Village.slug.not_like(f"{PREFIX}%")))


def _next_id(model):
    return (db.session.scalar(select(func.max(model.id))) or 0) + 1


class _Writer:
    """Bulk rows into tables: COPY on PostgreSQL, batched executemany elsewhere."""

    def __init__(self, connection):
        self.conn = connection
        self.postgres = connection.dialect.name == "postgresql"

    def write(self, table, rows):
        """Write an iterable of dicts (all with the same keys); return how many."""
        batch, total = [], 0
        for row in rows:
            batch.append(row)
            if len(batch) >= BATCH:
                total += self._flush(table, batch)
                batch = []
        if batch:
            total += self._flush(table, batch)
        return total

    def _flush(self, table, batch):
        if not self.postgres:
            self.conn.execute(insert(table), batch)
            return len(batch)
        columns = list(batch[0])
        raw = self.conn.connection.driver_connection
        with raw.cursor() as cursor:
            with cursor.copy(f'COPY {table.name} ({", ".join(columns)}) FROM STDIN') as copy:
                for row in batch:
                    copy.write_row([row[c] for c in columns])
        return len(batch)


def _village_name(rng):
    return "".join(rng.choice(SYLLABLES) for _ in range(rng.randint(2, 3))).capitalize()


def generate_catalog(villages, products, order_lines, seed=7, force=False, on=None):
    """Write ``villages`` villages, ``products`` products and about ``order_lines`` order lines.

    Returns ``Counts``. Raises ``GenerateRefused`` over a database with real villages unless
    ``force``. Runs in the caller's transaction (one unit of work: ``flask catalog generate``).
    """
    if not force and real_villages():
        raise GenerateRefused(
            "the database holds villages that were not generated: refusing to add generated data "
            "(use --force to add it anyway)")
    rng = random.Random(seed)
    today = on or today_wita()
    now = datetime.now(timezone.utc).replace(microsecond=0)
    categories = db.session.execute(select(Category.id, Category.code, Category.is_food)).all()
    by_code = {c.code: c for c in categories}
    first = {m: _next_id(m) for m in (Village, Product, Certificate, Order, VillageOrder, OrderLine)}
    counts = Counts()
    conn = db.session.connection()
    writer = _Writer(conn)

    regencies = list(REGENCIES)
    group_types = list(GROUP_TYPES)
    village_rows = []
    for i in range(villages):
        vid = first[Village] + i
        name = _village_name(rng)
        created = now - timedelta(days=rng.randint(30, 720))
        village_rows.append({
            "id": vid, "slug": f"{PREFIX}{vid}-{name.lower()}", "name": name,
            "regency_code": regencies[i % len(regencies)], "district": _village_name(rng),
            "group_name": f"Kelompok {name}", "group_type": rng.choice(group_types),
            "story": f"Kelompok {name} mengolah hasil desa untuk dijual ke seluruh Indonesia.",
            "phone": f"+62812{vid:08d}", "email": f"desa{vid}@gen.desa.example.id", "photo": None,
            "cod_allowed": rng.random() < 0.3,
            "active": rng.random() >= 0.02,  # about 2 in 100 suspended
            "feed_token": None, "created_at": created, "updated_at": created,
        })
    counts.villages = writer.write(Village.__table__, village_rows)

    # Products: spread over villages; each village makes goods of two or three categories.
    codes = list(GOODS)
    product_rows, village_of = [], {}
    village_ids = [v["id"] for v in village_rows]
    village_cats = {vid: rng.sample(codes, rng.randint(2, 3)) for vid in village_ids}
    for i in range(products):
        pid = first[Product] + i
        vid = village_ids[i % len(village_ids)]
        code = rng.choice(village_cats[vid])
        names, (low, high) = GOODS[code]
        base = rng.choice(names)
        created = now - timedelta(seconds=rng.randint(0, 365 * 86400))
        product_rows.append({
            "id": pid, "village_id": vid, "category_id": by_code[code].id,
            "slug": f"{PREFIX}{pid}-{base.lower().replace(' ', '-').replace(chr(39), '')}",
            "sku": f"GEN-{pid:07d}", "name": f"{base} {pid}",
            "description": f"{base} buatan kelompok desa, dikemas rapi dan siap dikirim.",
            "price_idr": rng.randrange(low, high, 500), "weight_grams": rng.choice((100, 250, 500, 1000)),
            "stock": rng.choice((0, 5, 10, 20, 50, 100)), "published": rng.random() >= 0.03,
            "non_halal": base == "Se'i Babi", "review_status": "approved",
            "verification_code": f"G{pid:07d}"[-8:] if pid < 10**7 else f"{pid:08d}"[-8:],
            "created_at": created, "updated_at": created,
        })
        village_of[pid] = vid
    counts.products = writer.write(Product.__table__, product_rows)

    # Papers: a NIB for every village (a few pending or revoked), one P-IRT (a few expired) and one
    # halal certificate per village covering its food products, some trademarks.
    food_by_village = {}
    for row in product_rows:
        cat = next(c for c in categories if c.id == row["category_id"])
        if cat.is_food:
            food_by_village.setdefault(row["village_id"], []).append(row)
    cert_rows, links = [], []
    cid = first[Certificate]
    issued = date(2024, 1, 15)

    def paper(kind, number, village_id, status="verified", expires=None):
        nonlocal cid
        row = {"id": cid, "kind": kind, "number": number, "village_id": village_id,
               "issued_on": issued, "expires_on": expires, "status": status,
               "verified_by_id": None,
               "verified_by_name": "Dinas Data Uji" if status in ("verified", "revoked") else None,
               "verified_at": now if status != "pending" else None,
               "created_at": now, "updated_at": now}
        cert_rows.append(row)
        cid += 1
        return row["id"]

    for vid in village_ids:
        roll = rng.random()
        paper("nib", f"9{vid:012d}", vid,
              status="pending" if roll < 0.02 else "revoked" if roll < 0.03 else "verified")
        food = food_by_village.get(vid)
        if food:
            expired = rng.random() < 0.04
            pirt = paper("pirt", f"P-IRT No. 2105301{vid:06d}-{(30 if not expired else 24)}", vid,
                         expires=today - timedelta(days=10) if expired else today + timedelta(days=900))
            links += [{"certificate_id": pirt, "product_id": p["id"]} for p in food]
            halal = paper("halal", f"ID539{vid:014d}", vid)
            # A few halal papers miss a product: that product stays hidden.
            links += [{"certificate_id": halal, "product_id": p["id"]} for p in food
                      if not p["non_halal"] and rng.random() >= 0.02]
        if rng.random() < 0.2:
            paper("trademark", f"IDM9{vid:08d}", vid)
    counts.certificates = writer.write(Certificate.__table__, cert_rows)
    writer.write(certificate_products, links)

    counts.orders, counts.village_orders, counts.order_lines = _orders(
        writer, rng, order_lines, product_rows, village_rows, first, now)
    if writer.postgres:
        for table in ("villages", "products", "certificates", "orders", "village_orders", "order_lines"):
            conn.execute(text(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                              f"(SELECT COALESCE(MAX(id), 1) FROM {table}))"))
    after_commit(refresh_statistics, Village.__table__, Product.__table__, Certificate.__table__,
                 certificate_products, Order.__table__, VillageOrder.__table__, OrderLine.__table__)
    return counts


def _orders(writer, rng, line_target, product_rows, village_rows, first, now):
    """Past orders: one to three parcels each, one to three lines per parcel."""
    if not line_target or not product_rows:
        return 0, 0, 0
    by_village = {}
    for p in product_rows:
        by_village.setdefault(p["village_id"], []).append(p)
    names = {v["id"]: v["name"] for v in village_rows}
    selling = list(by_village)
    state = {"order": first[Order], "parcel": first[VillageOrder], "line": first[OrderLine]}
    orders, parcels, lines = [], [], []
    made = [0, 0, 0]

    def flush(final=False):
        if final or len(lines) >= BATCH * 4:
            made[0] += writer.write(Order.__table__, orders)
            made[1] += writer.write(VillageOrder.__table__, parcels)
            made[2] += writer.write(OrderLine.__table__, lines)
            orders.clear(), parcels.clear(), lines.clear()

    written = 0
    while written < line_target:
        oid = state["order"]
        state["order"] += 1
        created = now - timedelta(seconds=rng.randint(3600, 365 * 86400))
        subtotal = shipping = 0
        for vid in rng.sample(selling, min(len(selling), rng.choice((1, 1, 2, 3)))):
            parcel_id = state["parcel"]
            state["parcel"] += 1
            goods = rng.sample(by_village[vid], min(len(by_village[vid]), rng.randint(1, 3)))
            goods = goods[: max(1, min(len(goods), line_target - written))]
            p_sub = weight = 0
            for p in goods:
                quantity = rng.randint(1, 3)
                lines.append({"id": state["line"], "village_order_id": parcel_id, "product_id": p["id"],
                              "sku": p["sku"], "name": p["name"], "village_name": names[vid],
                              "price_idr": p["price_idr"], "quantity": quantity,
                              "weight_grams": p["weight_grams"]})
                state["line"] += 1
                written += 1
                p_sub += p["price_idr"] * quantity
                weight += p["weight_grams"] * quantity
            kg = max(1, -(-weight // 1000))
            status = rng.choice(PARCEL_DONE)
            shipped = status in ("shipped", "delivered")
            parcels.append({
                "id": parcel_id, "order_id": oid, "village_id": vid, "village_name": names[vid],
                "status": status, "weight_grams": weight, "chargeable_kg": kg, "zone": "indonesia",
                "subtotal_idr": p_sub, "shipping_idr": kg * 55000, "status_reason": None,
                "courier": "JNE" if shipped else None,
                "tracking_number": f"GEN{parcel_id:010d}" if shipped else None,
                "accepted_at": created if status != "paid" else None,
                "shipped_at": created if shipped else None,
                "delivered_at": created if status == "delivered" else None,
                "overdue_flagged_at": None, "refund_state": None, "stripe_refund_id": None,
                "created_at": created, "updated_at": created,
            })
            subtotal += p_sub
            shipping += kg * 55000
            if written >= line_target:
                break
        token = hashlib.sha256(f"gen-order-{oid}".encode()).hexdigest()
        orders.append({
            "id": oid, "number": f"GEN-{oid:09d}", "idempotency_key": f"gen-{oid}",
            "user_id": None, "access_token_hash": token, "name": "Pembeli Uji",
            "email": f"pembeli{oid % 5000}@example.org", "phone": "+6281234567890",
            "province": "Jawa Timur", "regency": "Kota Surabaya", "regency_code": "35.78",
            "district": "Gubeng", "village_ward": "Airlangga", "postal_code": "60286",
            "street": "Jl. Airlangga 4",
            "payment_method": "bank_transfer", "status": "paid", "hold_reason": None,
            "subtotal_idr": subtotal, "shipping_idr": shipping, "total_idr": subtotal + shipping,
            "expires_at": None, "paid_at": created, "stripe_session_id": None,
            "stripe_payment_intent": None, "created_at": created, "updated_at": created,
        })
        flush()
    # Parents first: a batch of lines refers to parcels and orders of the same batch.
    flush(final=True)
    return tuple(made)
