"""Forms of the village portal's listings: a product and its photos.

Each number field says exactly one thing when what was typed cannot be taken: that it cannot be
read, that it is negative, or the range it must be in; never two messages for one mistake.
"""
import re

from flask_babel import gettext as _, lazy_gettext as _l
from flask_wtf.file import MultipleFileField
from wtforms import BooleanField, HiddenField, IntegerField, SelectField, StringField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, InputRequired, Length, Optional, StopValidation, ValidationError
from wtforms.widgets import TextInput

from ..money import RupiahError, read_rupiah
from ..numbers import whole_number
from ..products.categories import category_choice_label
from ..products.listings import MAX_PHOTO_BYTES, MAX_PHOTOS, ProductData
from ..upload_forms import MB, UploadForm, request_limit_mb

#: Whole numbers as people type them: ``85000``, ``85.000``, ``85,000``, ``Rp 85.000``.
_GROUPED = re.compile(r"^\d{1,3}(?:([.,])\d{3})(?:\1\d{3})*$")
_PLAIN = re.compile(r"^\d{1,12}$")
#: A leading minus sign: ``-5``, ``- 5``, ``−5`` (U+2212, as some keyboards write it).
_MINUS = re.compile(r"^[-\u2212]\s*")


class WholeNumberField(IntegerField):
    """An integer typed with or without thousands separators (and an optional ``Rp``).

    A text box with a numeric keyboard rather than ``type=number``, so that ``85.000`` can be typed.
    Given ``minimum`` and ``maximum`` it checks the range itself, with ``out_of_range`` as its
    message (``negative`` for a number typed with a minus sign, if given); what it could not read
    is said once, by ``invalid``, and no other check of the field runs after it.
    """

    widget = TextInput()

    def __init__(self, label=None, validators=None, invalid=None, *, minimum=None, maximum=None,
                 out_of_range=None, negative=None, **kwargs):
        kwargs.setdefault("render_kw", {"inputmode": "numeric", "autocomplete": "off"})
        super().__init__(label, validators, **kwargs)
        self.invalid = invalid
        self.minimum, self.maximum = minimum, maximum
        self.out_of_range, self.negative = out_of_range, negative

    def process_formdata(self, valuelist):
        if not valuelist:
            return
        text = valuelist[0].strip()
        if not text:
            self.data = None
            self.raw_data = [""]  # spaces alone are nothing typed: ``InputRequired`` says so
            return
        self.data = self.read(text)

    def read(self, text):
        """The number in ``text`` (not blank), else ValueError with the one message to show."""
        raw = re.sub(r"^rp\.?", "", text, flags=re.IGNORECASE).replace(" ", "")
        unsigned = _MINUS.sub("", raw, count=1)
        if _PLAIN.match(unsigned) or _GROUPED.match(unsigned):
            if unsigned != raw and self.minimum is not None and self.minimum >= 0:
                raise ValueError(self.negative_message())
            if unsigned == raw:
                return int(re.sub(r"[.,]", "", raw))
        raise ValueError(self.invalid or self.gettext("Enter a whole number."))

    def negative_message(self):
        return self.negative or self.out_of_range or _("The number cannot be negative.")

    def pre_validate(self, form):
        if self.process_errors:
            raise StopValidation()  # said once already, by process_formdata
        if self.data is not None and self.out_of_range and not (
                (self.minimum is None or self.data >= self.minimum)
                and (self.maximum is None or self.data <= self.maximum)):
            raise StopValidation(self.out_of_range)

    def _value(self):
        if self.raw_data:
            return self.raw_data[0]
        return "" if self.data is None else str(self.data)


class RupiahField(WholeNumberField):
    """Whole rupiah as Indonesians write them (``money.read_rupiah``): ``85000``, ``85.000``,
    ``Rp 85.000``, ``Rp85.000``, ``85rb``, ``85 ribu``, ``1,5jt``. A part of a rupiah
    (``85.000,50``) is refused with ``fraction``. A full keyboard, since "rb" and "Rp" are typed."""

    def __init__(self, label=None, validators=None, invalid=None, *, fraction=None, **kwargs):
        kwargs.setdefault("render_kw", {"autocomplete": "off", "spellcheck": "false"})
        super().__init__(label, validators, invalid, **kwargs)
        self.fraction = fraction

    def read(self, text):
        try:
            return read_rupiah(text)
        except RupiahError as exc:
            if exc.reason == "negative":
                raise ValueError(self.negative_message()) from None
            if exc.reason == "fraction":
                raise ValueError(self.fraction or self.invalid) from None
            if exc.reason == "too_large" and self.out_of_range:
                raise ValueError(self.out_of_range) from None
            raise ValueError(self.invalid or self.gettext("Enter a whole number.")) from None


class ProductForm(UploadForm):
    upload_field = "photos"

    name = StringField(_l("Product name"), filters=[lambda s: " ".join(s.split()) if s else s], validators=[
        DataRequired(_l("Enter the product's name.")),
        Length(min=3, max=160, message=_l("The name must be 3 to 160 characters long."))],
        render_kw={"maxlength": 160})
    category = SelectField(_l("Category"), validators=[InputRequired(_l("Choose a category."))])
    description = TextAreaField(_l("Description"), validators=[
        Optional(), Length(max=5000, message=_l("Keep the description under 5,000 characters."))],
        render_kw={"rows": 6})
    price_idr = RupiahField(_l("Price in rupiah"), validators=[
        InputRequired(_l("Enter the price in rupiah."))],
        minimum=1, maximum=100_000_000,
        out_of_range=_l("The price must be more than Rp 0 and at most Rp 100.000.000."),
        invalid=_l("Enter the price in rupiah, e.g. 85000, 85.000, Rp 85.000 or 85rb."),
        fraction=_l("Rupiah have no cents: enter the price in whole rupiah, e.g. 85.000 (not 85.000,50)."))
    weight_grams = WholeNumberField(_l("Weight in grams, packed"), validators=[
        InputRequired(_l("Enter the packed weight in grams."))],
        minimum=1, maximum=50_000,
        out_of_range=_l("The weight must be more than 0 g and at most 50.000 g (50 kg)."),
        invalid=_l("Enter the weight in whole grams, e.g. 250."))
    stock = WholeNumberField(_l("Stock (how many you can send now)"), validators=[
        InputRequired(_l("Enter the stock; 0 means sold out."))],
        minimum=0, maximum=100_000, out_of_range=_l("The stock must be between 0 and 100.000."),
        negative=_l("The stock cannot be negative; 0 means sold out."),
        invalid=_l("Enter the stock as a whole number, e.g. 12."))
    non_halal = BooleanField(_l("Non-halal (for example pork se'i): it is labelled so and needs no halal certificate"))
    published = BooleanField(_l("Show in the shop when its papers allow"), default=True)
    photos = MultipleFileField(
        _l("Add photos (JPEG, PNG or WebP, up to 20 MB each)"),
        render_kw={"accept": "image/jpeg,image/png,image/webp", "multiple": True})

    def __init__(self, *args, categories=(), locale="id", **kwargs):
        super().__init__(*args, **kwargs)
        self._food = {str(c.id): c.is_food for c in categories}
        self.category.choices = [SelectChoice("", _l("Choose…"))] + [
            SelectChoice(str(c.id), category_choice_label(c, locale)) for c in categories]

    def too_large_message(self):
        return _("Nothing was saved: the photos you chose add up to more than %(total)s MB, more than one "
                 "save can take. Fill in the form again and choose fewer photos at a time (each may be up "
                 "to %(each)s MB); you can add more photos after saving.",
                 total=request_limit_mb(), each=MAX_PHOTO_BYTES // MB)

    def validate_category(self, field):
        if field.data not in self._food:
            raise ValidationError(_l("Choose a category."))

    def uploads(self):
        """The files actually chosen (a browser sends one empty part when none is)."""
        files = [f for f in (self.photos.data or []) if getattr(f, "filename", "")]
        if len(files) > MAX_PHOTOS:
            self.photos.errors.append(_l("Choose at most %(n)s photos at a time.", n=MAX_PHOTOS))
        return files

    def product_data(self):
        return ProductData(
            name=self.name.data, category_id=int(self.category.data),
            description=(self.description.data or "").strip(), price_idr=self.price_idr.data,
            weight_grams=self.weight_grams.data, stock=self.stock.data,
            published=bool(self.published.data), non_halal=bool(self.non_halal.data),
            sku=(self.sku.data or "") if hasattr(self, "sku") else "")


class NewProductForm(ProductForm):
    sku = StringField(_l("SKU (your own product code; leave empty and the shop makes one)"), validators=[
        Optional(), Length(max=40, message=_l("The SKU can be at most 40 characters."))],
        render_kw={"maxlength": 40, "autocapitalize": "characters"})


class EditProductForm(ProductForm):
    #: The stock shown when the form was opened: a sale in between is never overwritten.
    stock_seen = HiddenField()

    def validate_stock_seen(self, field):
        if whole_number(field.data) is None:
            raise ValidationError(_l("The form is incomplete. Open the product again."))
