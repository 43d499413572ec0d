"""The form of an Indonesian address (checkout and saved addresses), checked by ``addresses``.

The places are chosen without JavaScript: province -> regency/city -> district -> village/ward,
each list narrowed by the server to what lies in the choice above it. A "Choose" button beside
each list (``name="pick"``) sends the whole form back to be shown again, narrowed, with everything
typed kept and nothing checked nor saved (``AddressForm.picking``); a search box finds a village
by part of its name across the chosen regency (or province). The pages draw it with
templates/_address_picker.html.
"""
from functools import cache

from flask_babel import get_locale, gettext as _, lazy_gettext as _l, ngettext
from wtforms import BooleanField, SelectField, StringField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length, Optional, Regexp, ValidationError
from wtforms.widgets import Select

from .addresses import postal_code_problem, regency_problem
from .contact import ContactError, normalise_phone
from .forms import ShopForm
from .indonesia import regions

#: The values of the "Choose"/"Search" buttons (``name="pick"``). ``enter`` is the form's first
#: (hidden) button, the one the Enter key presses: a search when the search box holds words and
#: no village is chosen, else the form's own submit.
PICKS = ("province", "regency", "district", "village_ward", "search", "enter")
#: At most this many villages found by a search are listed.
SEARCH_LIMIT = 50


def _strip(value):
    return " ".join(value.split()) if isinstance(value, str) else value


def _phone(form, field):
    try:
        field.data = normalise_phone(field.data)
    except ContactError:
        raise ValidationError(_l("Enter an Indonesian phone number, e.g. 0812 3456 7890.")) from None


def _within(find, code, place):
    """``find(code)`` if the code lies inside ``place`` (a Regency or Province), else None: only
    the province a request is about is ever read from disk."""
    if place is None or not isinstance(code, str) or not code.startswith(place.code + "."):
        return None
    return find(code)


def _choose():
    return SelectChoice("", _l("Choose…"))


@cache
def _province_choices():
    return [_choose()] + [SelectChoice(p.name, p.name) for p in regions.provinces()]


@cache
def _all_regency_choices():
    """Every regency and city, in an <optgroup> per province: before a province is chosen."""
    return [_choose()] + [SelectChoice(r.code, r.name, optgroup=r.province.name) for r in regions.regencies()]


class _RegencySelect(Select):
    """The list of every regency and city is 27 KB of options that took 12 ms to draw on each
    checkout page: while none is chosen it is the same each time, so it is drawn once per language
    and set of attributes."""

    _drawn = {}

    def __call__(self, field, **kwargs):
        if field.data or field.choices is not _all_regency_choices():
            return super().__call__(field, **kwargs)
        key = (str(get_locale()), field.id, field.name, field.flags.required, tuple(sorted(kwargs.items())))
        if key not in self._drawn:
            self._drawn[key] = super().__call__(field, **kwargs)
        return self._drawn[key]


class AddressForm(ShopForm):
    """The fields of an Indonesian address; checkout and saved addresses both use it.

    After it is made, ``place`` holds what the choices resolve to (Province, Regency, District,
    Village or None each), and the lists hold what the choice above allows.
    """

    name = StringField(_l("Recipient's name"), filters=[_strip], validators=[
        DataRequired(_l("Enter the recipient's name.")), Length(max=120)])
    phone = StringField(_l("Phone / WhatsApp"), filters=[_strip], validators=[
        DataRequired(_l("Enter a phone number.")), Length(max=30), _phone],
        render_kw={"autocomplete": "tel", "inputmode": "tel"})
    province = SelectField(_l("Province"), choices=_province_choices,
                           validators=[DataRequired(_l("Choose the province."))])
    # The lists below are filled per form (``_narrow``); what was sent is checked by the
    # validate_* methods, which say why a choice does not fit rather than "not a valid choice".
    regency = SelectField(_l("Regency or city"), choices=[], validate_choice=False, widget=_RegencySelect(),
                          validators=[DataRequired(_l("Choose the regency or city."))])
    district = SelectField(_l("District (kecamatan)"), choices=[], validate_choice=False,
                           validators=[DataRequired(_l("Choose the district."))])
    village_search = StringField(_l("Find the village or ward by name"), filters=[_strip],
                                 validators=[Optional(), Length(max=60)],
                                 render_kw={"autocomplete": "off", "type": "search"})
    village_ward = SelectField(_l("Village or ward (desa/kelurahan)"), choices=[], validate_choice=False,
                               validators=[DataRequired(_l("Choose the village or ward."))])
    postal_code = StringField(_l("Postal code"), filters=[_strip], validators=[
        DataRequired(_l("Enter the postal code.")),
        Regexp(r"^\d{5}$", message=_l("A postal code has 5 digits."))],
        render_kw={"inputmode": "numeric", "autocomplete": "postal-code", "maxlength": 5})
    street = TextAreaField(_l("Street, house number, RT/RW, landmarks"), filters=[_strip], validators=[
        DataRequired(_l("Enter the street and house details.")), Length(max=500)])
    #: Which "Choose"/"Search" button was pressed (one of ``PICKS``), if any: not drawn as a field.
    pick = StringField()

    ADDRESS_FIELDS = ("name", "phone", "province", "regency", "district", "village_ward",
                      "postal_code", "street")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        pick = self.pick.data if self.is_submitted() and self.pick.data in PICKS else None
        if pick == "enter":
            pick = "search" if self.village_search.data and not self.village_ward.data else None
        #: The button pressed, if the form is only to be shown again, narrowed; else None.
        self.picked = pick
        #: What the search box found: ``(villages, how_many_matched)``, or None.
        self.found = None
        #: What to say beside the search box (how many were found, or why nothing was).
        self.search_note = None
        self._narrow()

    @property
    def picking(self):
        """Whether a "Choose"/"Search" button sent the form: show it again, check nothing."""
        return self.picked is not None

    def _narrow(self):
        """Resolve the choices; drop those below the one just changed that no longer lie in it;
        on a "Choose", fill an empty postal code from the village; fill each list."""
        pick = self.picked
        province = regions.province_named(self.province.data)
        regency = regions.regency(self.regency.data)
        if regency is not None and province is not None and regency.province != province and pick == "province":
            regency = None
        if pick in ("province", "regency", "district"):
            self.village_search.data = ""  # a new list to choose from: the old search is done
        scope = regency or province
        if self.village_search.data and scope is not None:
            self.found = regions.search_villages(self.village_search.data, scope, SEARCH_LIMIT)
        listed = self.found[0] if self.found else ()
        district = village = None
        if regency is not None:
            district = _within(regions.district, self.district.data, regency) \
                or regions.district_named(regency, self.district.data)
        village = _within(regions.village, self.village_ward.data, scope)
        if village is None and district is not None:  # a name (an older page, or another client)
            village = regions.village_named(district, self.village_ward.data, self.postal_code.data)
        if village is not None:
            # A village chosen from a search (across the regency, or the province) brings its
            # district and regency; one left from the list of another district goes.
            chosen_last = pick == "village_ward" or village in listed
            home = village.district
            if pick == "search" and village not in listed:
                village = None
            elif home == district:
                pass
            elif home.regency == regency and (district is None or chosen_last):
                district = home
            elif regency is None and chosen_last and home.regency.province == province:
                regency, district = home.regency, home
            else:
                village = None
        if regency is not None and province is None and pick is not None:
            province = regency.province  # chosen from the whole list: its province goes with it
        if province is not None:
            self.province.data = province.name  # also turns an old name ("DKI Jakarta") into the list's
        self._keep(self.regency, regency, pick == "province")
        self._keep(self.district, district, pick in ("province", "regency"))
        self._keep(self.village_ward, village, pick in ("province", "regency", "district", "search"))
        if village is not None and not self.postal_code.data and pick is not None:
            self.postal_code.data = village.postal_code  # shown to the buyer, who sends it
        self.place = (province, regency, district, village)
        if self.found is not None and village is not None and village not in listed:
            self.found = None  # the chosen village's own list, not a search it is not in
        self._search_note(pick, scope)
        self._fill_lists()

    @staticmethod
    def _keep(field, found, cleared):
        """The field holds the code of what it resolved to; what did not resolve stays as sent
        (so that its message can say so), unless the choice above it changed."""
        if found is not None:
            field.data = found.code
        elif cleared or not isinstance(field.data, str):
            field.data = ""

    def _search_note(self, pick, scope):
        query = self.village_search.data
        if pick == "search" and not query:
            self.search_note = _("Type part of the name of the village or ward, then search.")
        elif pick == "search" and scope is None:
            self.search_note = _("Choose the province first: the search looks in it.")
        elif self.found is not None and pick == "search":
            count = self.found[1]
            if count == 0:
                self.search_note = _("No village or ward of %(place)s has “%(query)s” in its name.",
                                     place=scope.name, query=query)
            elif count > len(self.found[0]):
                self.search_note = _("%(count)d villages and wards match “%(query)s”; the first %(shown)d "
                                     "are in the list. Type more of the name to find yours.",
                                     count=count, query=query, shown=len(self.found[0]))
            else:
                self.search_note = ngettext("%(num)d village or ward matches “%(query)s”: choose it in the list.",
                                            "%(num)d villages and wards match “%(query)s”: choose yours in the list.",
                                            count, query=query)

    def _fill_lists(self):
        province, regency, district, village = self.place
        if province is None:
            self.regency.choices = _all_regency_choices()
        else:
            self.regency.choices = [_choose()] + [
                SelectChoice(r.code, r.name) for r in regions.regencies() if r.province == province]
        if regency is None:
            self.district.choices = [SelectChoice("", _l("Choose the regency or city first"))]
        else:
            self.district.choices = [_choose()] + [SelectChoice(d.code, d.name) for d in regions.districts(regency)]
        if self.found and self.found[0]:
            across = regency is None  # a search across the province: say which regency too
            self.village_ward.choices = [_choose()] + [SelectChoice(
                v.code, v.label, optgroup=f"{v.district.name}, {v.district.regency.name}" if across else v.district.name)
                for v in self.found[0]]
        elif district is not None:
            self.village_ward.choices = [_choose()] + [
                SelectChoice(v.code, v.label) for v in regions.villages(district)]
        else:
            self.village_ward.choices = [SelectChoice("", _l("Choose the district first, or search"))]

    def validate(self, extra_validators=None):
        valid = super().validate(extra_validators)
        village = self.place[3]
        if village is not None and not self.postal_code.data and self.postal_code.errors:
            # Nothing is filled in behind the buyer's back: the message says what to type.
            self.postal_code.errors = [_("Enter the postal code: that of %(village)s, %(district)s is %(code)s.",
                                         village=village.name, district=village.district.name,
                                         code=village.postal_code)]
        return valid

    def validate_regency(self, field):
        if field.errors or self.province.errors or not field.data:
            return
        problem = regency_problem(self.province.data, field.data)
        if problem:
            raise ValidationError(problem)

    def validate_district(self, field):
        regency, district = self.place[1], self.place[2]
        if field.errors or self.regency.errors or regency is None or not field.data or district is not None:
            return
        raise ValidationError(_("Choose the district of %(regency)s from the list.", regency=regency.name))

    def validate_village_ward(self, field):
        district, village = self.place[2], self.place[3]
        if field.errors or self.district.errors or district is None or not field.data or village is not None:
            return
        raise ValidationError(_("Choose the village or ward of %(district)s from the list.",
                                district=district.name))

    def validate_postal_code(self, field):
        if field.errors or self.regency.errors or not self.regency.data:
            return
        problem = postal_code_problem(self.regency.data, field.data, self.place[3])
        if problem:
            raise ValidationError(problem)

    def address(self):
        """The address as orders and saved addresses store it: names to read, and the regency's code."""
        data = {name: getattr(self, name).data for name in self.ADDRESS_FIELDS}
        _province, regency, district, village = self.place
        data.update(regency=regency.name, regency_code=regency.code, district=district.name,
                    village_ward=village.name)
        return data


class SavedAddressForm(AddressForm):
    """An address a signed-in buyer keeps in their account (added or edited there)."""

    is_default = BooleanField(_l("Use this address at checkout (my default address)"))
