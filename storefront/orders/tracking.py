"""How a parcel travels, and where its buyer follows it.

A village sends a parcel with one of the listed couriers (their receipt's tracking number is
required), with another courier it names (a tracking number if there is one), or carries it
itself (common within the regency: no tracking number). A parcel's ``courier`` holds the listed
courier's name, the other courier's name as typed, or ``VILLAGE_DELIVERY``.

A listed courier may have a public tracking page. Only Ninja Xpress and Lion Parcel are known
to open a parcel from a link that carries its number; the others' pages (JNE, J&T Express,
SiCepat, POS Indonesia, TIKI, AnterAja) ask for the number, so the link goes to the page and the
number is shown beside it to copy. No page is linked where its address is not certain (Wahana,
ID Express).
"""
from dataclasses import dataclass
from urllib.parse import quote

from flask_babel import gettext as _, lazy_gettext as _l

#: ``courier`` of a parcel the village carries itself.
VILLAGE_DELIVERY = "village"
#: The form's choice of a courier that is not listed (its name is typed).
OTHER_COURIER = "other"


class ShipmentError(ValueError):
    """A shipment that cannot be recorded as given; the message is for the village, and ``field``
    names what it is about (``courier``, ``courier_name`` or ``tracking_number``)."""

    def __init__(self, message, field=None):
        super().__init__(message)
        self.field = field


@dataclass(frozen=True)
class Courier:
    #: As stored on the parcel and shown.
    name: str
    #: Other ways people write it (lower case).
    aliases: tuple = ()
    #: The public tracking page.
    page: str | None = None
    #: Appended to ``page`` when the page opens the parcel from its number (``{number}``).
    query: str | None = None

    def url(self, number):
        if self.page is None:
            return None
        if self.query is None:
            return self.page
        return self.page + self.query.format(number=quote(number, safe=""))


#: The couriers a village chooses from, in the order the form lists them: those that serve NTT
#: (docs/domain.md) first, then other national couriers.
COURIERS = (
    Courier("JNE", ("jne express",), "https://www.jne.co.id/tracking-package"),
    Courier("J&T Express", ("j&t", "jnt", "j&t express indonesia"), "https://jet.co.id/track"),
    Courier("SiCepat", ("sicepat ekspres", "sicepat express"), "https://www.sicepat.com/checkAwb"),
    Courier("POS Indonesia", ("pos", "pos indonesia", "kantor pos"), "https://www.posindonesia.co.id/id/tracking"),
    Courier("TIKI", ("citra van titipan kilat",), "https://www.tiki.id/id/tracking"),
    Courier("AnterAja", ("anter aja",), "https://anteraja.id/tracking"),
    Courier("Ninja Xpress", ("ninja", "ninja express", "ninja van"), "https://www.ninjaxpress.co/id-id/tracking",
            "?id={number}"),
    Courier("Lion Parcel", ("lion",), "https://lionparcel.com/track/stt", "?q={number}"),
    Courier("Wahana", ("wahana express", "wahana prestasi logistik")),
    Courier("ID Express", ("idexpress", "id express indonesia")),
)
LISTED = tuple(c.name for c in COURIERS)
_BY_NAME = {key: c for c in COURIERS for key in (c.name.lower(),) + c.aliases}


def listed_courier(name):
    """The listed ``Courier`` called ``name`` (any case, or a known other spelling), or None."""
    return _BY_NAME.get(" ".join((name or "").split()).lower())


def tracking_url(courier, number):
    """The courier's public tracking page for the parcel ``number``, opened at the parcel where
    the page allows it; None without a number, for an unlisted courier, or one without a page."""
    listed = listed_courier(courier)
    number = (number or "").strip()
    if listed is None or not number:
        return None
    return listed.url(number)


def opens_parcel(courier):
    """Whether the courier's tracking link opens the parcel itself (else the number is typed there)."""
    listed = listed_courier(courier)
    return bool(listed and listed.page and listed.query)


def courier_label(courier):
    """The courier as a person reads it."""
    if courier == VILLAGE_DELIVERY:
        return _l("delivered by the village itself")
    return courier or ""


def shipment(courier, tracking_number):
    """The parcel's ``courier`` and ``tracking_number`` as stored, from what the village gave:
    a listed courier needs its tracking number; another courier needs its name; a village
    that carries the parcel itself needs neither (a number given is dropped). Raises
    ShipmentError."""
    courier = " ".join((courier or "").split())
    number = (tracking_number or "").strip() or None
    if courier == VILLAGE_DELIVERY:
        return {"courier": VILLAGE_DELIVERY, "tracking_number": None}
    if not courier:
        raise ShipmentError(_("Choose the courier, or say that your village carries the parcel itself."),
                            field="courier")
    if courier == OTHER_COURIER:
        raise ShipmentError(_("Type the name of the courier."), field="courier_name")
    listed = listed_courier(courier)
    if listed is not None and number is None:
        raise ShipmentError(_("Type the tracking number from the %(courier)s receipt.", courier=listed.name),
                            field="tracking_number")
    name = listed.name if listed is not None else courier[:40]
    return {"courier": name, "tracking_number": number[:60] if number else None}


def constraint_sql(listed=LISTED):
    """The CHECK that a shipped parcel has a courier, and a tracking number if its courier is
    listed (never one when the village carried it)."""
    names = ", ".join("'" + name.replace("'", "''") + "'" for name in listed)
    return (f"status <> 'shipped' OR (courier IS NOT NULL AND (tracking_number IS NOT NULL OR courier NOT IN "
            f"({names})) AND (courier <> '{VILLAGE_DELIVERY}' OR tracking_number IS NULL))")
