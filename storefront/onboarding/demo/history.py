"""Six months of demo history, so that the impact report, the office's finance pages and a
village's "Keuangan" page show numbers after ``make run``.

It happens through the shop's own services, as it would have: orders (written to the tables
as the checkout leaves them, stock held) are marked paid (``orders.services.mark_paid``); their
parcels are accepted, packed, shipped and delivered, or declined and the money returned
(``orders.fulfilment.change_parcel``); villages name bank accounts that the office verifies;
the office builds payout batches and marks the payouts paid (``settlement.payouts``). The
ledger books all of it as it does every day.

Each step is dated in the past: while a step runs, the rows it adds are dated at its moment
(``_story_clock``; the ledger is append-only, so its entries must be born with their date), and
the times a step writes with an UPDATE (paid, shipped, delivered, reviewed, closed) are set
back to that moment after it. Steps whose moment is still to come are left undone, so the
newest parcels are still on their way. Nobody is told about the past: the e-mails the steps
queue are dropped.
"""
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta, timezone

from flask import current_app
from sqlalchemy import delete, event, func, select, update

from ...checkout.services import new_order_number
from ...checkout.shipping import chargeable_kg, rates, zone_for
from ...clock import WITA, now_utc, today_wita
from ...extensions import db
from ...orders.fulfilment import BUYER, VILLAGE, Change, change_parcel
from ...orders.links import access_token_hash
from ...orders.models import Order, OrderLine, VillageOrder
from ...orders.services import mark_paid, mark_refunded
from ...outbox.models import OutboxMessage
from ...products.models import Product
from ...settlement.ledger import set_fee_basis_points
from ...settlement.models import BankAccount, Payout
from ...settlement.payouts import build_batch, mark_payout_paid, review_account, submit_account
from ...villages.models import Village

KEY_PREFIX = "demo-history-"
#: The shop's fee in the story: 2.5 % of the goods.
FEE_BASIS_POINTS = 250

#: Invented buyers (the .example domain is reserved: no mail can reach it).
BUYERS = (
    dict(name="Maria Goreti Lake", email="maria.lake@pembeli.example", phone="+6281237000101",
         province="Nusa Tenggara Timur", regency="Kota Kupang", regency_code="53.71", district="Oebobo",
         village_ward="Oebobo", postal_code="85111", street="Jl. Frans Seda No. 12"),
    dict(name="Budi Santoso", email="budi.santoso@pembeli.example", phone="+6281237000102",
         province="Daerah Khusus Ibukota Jakarta", regency="Kota Administrasi Jakarta Selatan",
         regency_code="31.74", district="Kebayoran Baru", village_ward="Senayan", postal_code="12190",
         street="Jl. Senopati No. 8"),
    dict(name="Ni Luh Ayu Lestari", email="ayu.lestari@pembeli.example", phone="+6281237000103",
         province="Bali", regency="Kota Denpasar", regency_code="51.71", district="Denpasar Barat",
         village_ward="Pemecutan", postal_code="80119", street="Jl. Gajah Mada No. 21"),
)

#: The villages of the story, and whether the office has verified their bank account yet.
VILLAGES = {
    "ratogesa-golewa": True, "watublapi-hewokloang": True, "fatumonas-amfoang-tengah": True,
    "oelua-rote-barat-laut": True, "alor-kecil-alor-barat-laut": True,
    "lambanapu-kambera": False,  # its account waits for the office: its money waits too
}

#: (days ago, buyer, {village: [(sku, quantity)]}, what the villages do).
ORDERS = (
    (172, 0, {"ratogesa-golewa": [("NGD-KOPI-001", 2)]}, "deliver"),
    (165, 1, {"watublapi-hewokloang": [("SKA-TNN-002", 1)], "ratogesa-golewa": [("NGD-KOPI-002", 1)]},
     "deliver"),
    (150, 2, {"fatumonas-amfoang-tengah": [("KPG-MADU-001", 2)]}, "deliver"),
    (141, 1, {"oelua-rote-barat-laut": [("RND-GULA-001", 4), ("RND-KRJ-002", 1)]}, "deliver"),
    (133, 0, {"ratogesa-golewa": [("NGD-KOPI-001", 3)]}, "deliver"),
    (120, 2, {"lambanapu-kambera": [("STM-KRJ-001", 1)]}, "deliver"),
    (112, 1, {"alor-kecil-alor-barat-laut": [("ALR-LAUT-001", 3), ("ALR-CML-001", 1)]}, "deliver"),
    (104, 0, {"watublapi-hewokloang": [("SKA-TNN-002", 2)]}, "deliver"),
    (96, 2, {"ratogesa-golewa": [("NGD-KOPI-002", 2)], "fatumonas-amfoang-tengah": [("KPG-MADU-001", 1)]},
     "deliver"),
    (88, 1, {"oelua-rote-barat-laut": [("RND-GULA-001", 2)]}, "decline"),
    (75, 0, {"alor-kecil-alor-barat-laut": [("ALR-CML-001", 2)]}, "deliver"),
    (68, 2, {"ratogesa-golewa": [("NGD-KOPI-001", 2)]}, "deliver"),
    (60, 1, {"lambanapu-kambera": [("STM-KRJ-001", 1)], "watublapi-hewokloang": [("SKA-TNN-002", 1)]},
     "deliver"),
    (52, 0, {"fatumonas-amfoang-tengah": [("KPG-MADU-001", 3)]}, "deliver"),
    (44, 2, {"oelua-rote-barat-laut": [("RND-KRJ-002", 2)]}, "deliver"),
    (36, 1, {"ratogesa-golewa": [("NGD-KOPI-001", 1), ("NGD-KOPI-002", 1)]}, "deliver"),
    (27, 0, {"alor-kecil-alor-barat-laut": [("ALR-LAUT-001", 4)]}, "deliver"),
    (20, 2, {"watublapi-hewokloang": [("SKA-TNN-002", 1)]}, "deliver"),
    (12, 1, {"ratogesa-golewa": [("NGD-KOPI-001", 2)]}, "deliver"),
    (6, 0, {"fatumonas-amfoang-tengah": [("KPG-MADU-001", 2)]}, "deliver"),
    (3, 2, {"ratogesa-golewa": [("NGD-KOPI-002", 1)], "alor-kecil-alor-barat-laut": [("ALR-CML-001", 1)]},
     "deliver"),
    (1, 1, {"watublapi-hewokloang": [("SKA-TNN-002", 1)]}, "deliver"),
)
#: A parcel's days from payment: accepted, packed, shipped, delivered (or declined).
PARCEL_STEPS = (("accepted", 0.8), ("packed", 1.2), ("shipped", 2), ("delivered", 5))
DECLINE_AFTER, REFUND_AFTER = 0.5, 2
#: (days ago the office builds a batch, days later it confirms the transfers).
BATCHES = ((125, 2), (70, 2), (25, 3))


@dataclass
class _Clock:
    """The story's present moment (UTC)."""

    moment: datetime = None


@contextmanager
def _story_clock():
    """While the story is told, every row a service adds is dated at ``clock.moment``."""
    clock = _Clock()

    def date_it(mapper, connection, target):
        for name in ("created_at", "submitted_at", "updated_at"):
            if name in mapper.columns and getattr(target, name, None) is None:
                setattr(target, name, clock.moment)

    event.listen(db.Model, "before_insert", date_it, propagate=True)
    try:
        yield clock
    finally:
        event.remove(db.Model, "before_insert", date_it)


@dataclass
class _Story:
    """What happened when: ``at(moment, step, *args)`` plans ``step(story, moment, *args)``;
    ``tell`` runs the steps in the order of their moments, up to now."""

    office: str
    villages: dict
    products: dict
    rates: dict
    steps: list = field(default_factory=list)
    orders: int = 0
    payouts: int = 0

    def at(self, moment, step, *args):
        self.steps.append((moment, len(self.steps), step, args))

    def tell(self, now):
        with _story_clock() as clock:
            while self.steps:
                self.steps.sort(key=lambda planned: planned[:2], reverse=True)
                moment, _n, step, args = self.steps.pop()
                if moment > now:
                    continue  # still to come: the newest parcels are on their way
                clock.moment = moment
                step(self, moment, *args)
                db.session.flush()


def add_history():
    """Tell the story once (skipped when it was told); returns report lines."""
    if db.session.scalar(select(func.count()).where(Order.idempotency_key.startswith(KEY_PREFIX))):
        return []
    villages = {village.slug: village for village in db.session.scalars(
        select(Village).where(Village.slug.in_(VILLAGES)))}
    skus = {sku for _days, _buyer, parts, _fate in ORDERS for lines in parts.values() for sku, _q in lines}
    products = {product.sku: product for product in db.session.scalars(
        select(Product).where(Product.sku.in_(skus)))}
    if len(villages) < len(VILLAGES) or len(products) < len(skus):
        return ["Demo history skipped: its villages or products are not in the catalogue."]
    story = _Story(office=f"{current_app.config['OFFICE_NAME']} (data demo)", villages=villages,
                   products=products, rates=rates())
    start = _moment(180, 9)
    story.at(start, _fee)
    for n, slug in enumerate(VILLAGES):
        story.at(start + timedelta(hours=1 + n), _bank_account, villages[slug], VILLAGES[slug])
    for n, (days, buyer, parts, fate) in enumerate(ORDERS, 1):
        story.at(_moment(days, 9 + n % 9), _order, n, BUYERS[buyer], parts, fate)
    for days, confirm_after in BATCHES:
        story.at(_moment(days, 14), _batch, confirm_after)
    before = db.session.scalar(select(func.coalesce(func.max(OutboxMessage.id), 0)))
    story.tell(now_utc())
    # The past is told to nobody: the mails and webhook calls its steps queued go.
    db.session.execute(delete(OutboxMessage).where(OutboxMessage.id > before))
    db.session.flush()
    return [f"Demo history: {story.orders} orders over six months, {story.payouts} payouts paid."]


def _moment(days_ago, hour):
    """``hour`` o'clock WITA, ``days_ago`` days before today, as a UTC instant."""
    day = today_wita() - timedelta(days=days_ago)
    return datetime.combine(day, time(hour), tzinfo=WITA).astimezone(timezone.utc)


def _set(model, row_id, **values):
    db.session.execute(update(model).where(model.id == row_id).values(**values))


def _fee(story, moment):
    set_fee_basis_points(FEE_BASIS_POINTS, story.office)


def _bank_account(story, moment, village, verified):
    account = submit_account(village.id, bank_code="130", account_number=f"0057{village.id:04d}2611",
                             holder_name=village.group_name[:120], actor_name=f"{village.name} (data demo)")
    if verified:
        story.at(moment + timedelta(days=1), _review, account.id)


def _review(story, moment, account_id):
    review_account(account_id, verified=True, actor_name=story.office)
    _set(BankAccount, account_id, reviewed_at=moment)


def _order(story, moment, n, buyer, parts, fate):
    """An order as the checkout leaves it (stock held), paid by bank transfer at ``moment``."""
    lines = {story.villages[slug]: [(story.products[sku], quantity) for sku, quantity in wanted]
             for slug, wanted in parts.items()}
    parcels = []
    for village, bought in lines.items():
        weight = sum(product.weight_grams * quantity for product, quantity in bought)
        zone = zone_for(village, buyer["regency_code"])
        parcels.append((village, bought, weight, story.rates[zone] * chargeable_kg(weight), zone))
    subtotal = sum(p.price_idr * q for _village, bought, *_rest in parcels for p, q in bought)
    shipping = sum(cost for *_rest, cost, _zone in parcels)
    placed = moment - timedelta(minutes=25)
    order = Order(number=new_order_number(placed.astimezone(WITA).date()), idempotency_key=f"{KEY_PREFIX}{n}",
                  access_token_hash=access_token_hash(f"{KEY_PREFIX}{n}"), **buyer,
                  payment_method="bank_transfer", lang="id", status="awaiting_payment", subtotal_idr=subtotal,
                  shipping_idr=shipping, total_idr=subtotal + shipping, created_at=placed, updated_at=placed)
    db.session.add(order)
    db.session.flush()
    for village, bought, weight, cost, zone in parcels:
        parcel = VillageOrder(order_id=order.id, village_id=village.id, village_name=village.name,
                              status="awaiting_payment", weight_grams=weight,
                              chargeable_kg=chargeable_kg(weight), zone=zone,
                              subtotal_idr=sum(p.price_idr * q for p, q in bought), shipping_idr=cost,
                              created_at=placed, updated_at=placed)
        db.session.add(parcel)
        db.session.flush()
        for product, quantity in bought:
            db.session.add(OrderLine(village_order_id=parcel.id, product_id=product.id, sku=product.sku,
                                     name=product.name, village_name=village.name,
                                     price_idr=product.price_idr, quantity=quantity,
                                     weight_grams=product.weight_grams))
            db.session.execute(update(Product).where(Product.id == product.id)
                               .values(stock=Product.stock - quantity))
        if fate == "decline":
            story.at(moment + timedelta(days=DECLINE_AFTER), _decline, parcel.id, village)
        else:
            for status, days in PARCEL_STEPS:
                # The village moves its parcel; the buyer confirms it arrived.
                actor = (BUYER, buyer["name"]) if status == "delivered" else (VILLAGE, village.name)
                story.at(moment + timedelta(days=days), _move, parcel.id, actor, status)
    mark_paid(order.id, story.office, "bank transfer received")
    _set(Order, order.id, paid_at=moment, updated_at=moment)
    story.orders += 1


def _move(story, moment, parcel_id, actor, status):
    shipped = status == "shipped"
    change = Change(status, courier="JNE" if shipped else "",
                    tracking_number=f"JNE{parcel_id:010d}" if shipped else "")
    side, name = actor
    change_parcel(parcel_id, change, side=side, actor_name=name)
    stamp = {"accepted": "accepted_at", "shipped": "shipped_at", "delivered": "delivered_at"}.get(status)
    _set(VillageOrder, parcel_id, updated_at=moment, **({stamp: moment} if stamp else {}))


def _decline(story, moment, parcel_id, village):
    change_parcel(parcel_id, Change("declined", reason="Stok sedang habis, maaf."), side=VILLAGE,
                  actor_name=village.name)
    _set(VillageOrder, parcel_id, updated_at=moment)
    story.at(moment + timedelta(days=REFUND_AFTER), _refunded, parcel_id)


def _refunded(story, moment, parcel_id):
    mark_refunded(parcel_id, story.office)
    _set(VillageOrder, parcel_id, updated_at=moment)


def _batch(story, moment, confirm_after):
    # The batches come after deliveries (BATCHES, ORDERS): someone always has enough.
    batch = build_batch(current_app.config["PAYOUT_MINIMUM_IDR"], story.office)
    payouts = db.session.scalars(select(Payout.id).where(Payout.batch_id == batch.id).order_by(Payout.id))
    for payout_id in payouts:
        story.at(moment + timedelta(days=confirm_after), _paid, payout_id)


def _paid(story, moment, payout_id):
    day = moment.astimezone(WITA).date()
    mark_payout_paid(payout_id, bank_reference=f"NTT{day:%y%m%d}{payout_id:05d}", paid_on=day,
                     actor_name=story.office)
    _set(Payout, payout_id, closed_at=moment)
    story.payouts += 1
