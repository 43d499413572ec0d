"""Shipping: each village ships its own parcel, priced per chargeable kilogram by zone."""
import math
from dataclasses import dataclass

from sqlalchemy import select

from ..extensions import db
from ..indonesia import regions
from .models import ShippingRate


@dataclass
class Parcel:
    village: object
    lines: list
    weight_grams: int
    chargeable_kg: int
    zone: str
    shipping_idr: int

    @property
    def subtotal_idr(self):
        return sum(line.total_idr for line in self.lines)


def chargeable_kg(weight_grams):
    """Whole kilograms, rounded up, at least one (couriers charge a started kilogram)."""
    return max(1, math.ceil(weight_grams / 1000))


def zone_for(village, regency_code):
    """The zone from the destination regency's Kemendagri code, never from typed names.

    ``same_regency`` only when the code is the village's own; a code that is not in the data
    (or none) is ``indonesia``.
    """
    destination = regions.regency(regency_code)
    if destination is None or not destination.in_ntt:
        return "indonesia"
    return "same_regency" if destination.code == village.regency_code else "ntt"


def rates():
    return dict(db.session.execute(select(ShippingRate.zone, ShippingRate.rate_per_kg_idr)).all())


def quote_parcels(view, regency_code):
    """One parcel per village in the cart view, with its weight, zone and shipping cost.

    ``regency_code`` is the destination's, from an address whose postal code was checked
    against it (``addresses.address_problem``).
    """
    table = rates()
    parcels = []
    for village, lines in view.villages.items():
        lines = [line for line in lines if line.sellable]
        if not lines:
            continue
        grams = sum(line.product.weight_grams * line.item.quantity for line in lines)
        kg = chargeable_kg(grams)
        zone = zone_for(village, regency_code)
        parcels.append(Parcel(village, lines, grams, kg, zone, kg * table[zone]))
    return parcels


def set_rates(rates_per_kg):
    """The office sets the rate per kilogram of each zone (``{zone: whole rupiah}``)."""
    for rate in db.session.scalars(select(ShippingRate)):
        if rate.zone in rates_per_kg:
            rate.rate_per_kg_idr = rates_per_kg[rate.zone]
    db.session.flush()
