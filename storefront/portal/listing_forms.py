"""Forms of the village portal's listings: a product and its photos."""
import re

from flask_babel import lazy_gettext as _l
from flask_wtf.file import MultipleFileField
from wtforms import BooleanField, HiddenField, IntegerField, SelectField, StringField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional, ValidationError
from wtforms.widgets import TextInput

from ..forms import ShopForm
from ..numbers import whole_number
from ..products.listings import MAX_PHOTOS, ProductData

#: Whole numbers as people type them: ``85000``, ``85.000``, ``85,000``, ``Rp 85.000``.
_GROUPED = re.compile(r"^\d{1,3}(?:([.,])\d{3})(?:\1\d{3})*$")
_PLAIN = re.compile(r"^\d{1,12}$")


class WholeNumberField(IntegerField):
    """An integer typed with or without thousands separators (and an optional ``Rp``).

    A text box with a numeric keyboard rather than ``type=number``, so that ``85.000`` can be typed.
    """

    widget = TextInput()

    def __init__(self, label=None, validators=None, invalid=None, **kwargs):
        kwargs.setdefault("render_kw", {"inputmode": "numeric", "autocomplete": "off"})
        super().__init__(label, validators, **kwargs)
        self.invalid = invalid

    def process_formdata(self, valuelist):
        if not valuelist:
            return
        raw = re.sub(r"^rp\.?", "", valuelist[0].strip(), flags=re.IGNORECASE).replace(" ", "")
        if not raw:
            self.data = None
            return
        if _PLAIN.match(raw) or _GROUPED.match(raw):
            self.data = int(re.sub(r"[.,]", "", raw))
            return
        self.data = None
        raise ValueError(self.invalid or self.gettext("Enter a whole number."))

    def _value(self):
        if self.raw_data:
            return self.raw_data[0]
        return "" if self.data is None else str(self.data)


class ProductForm(ShopForm):
    name = StringField(_l("Product name"), filters=[lambda s: " ".join(s.split()) if s else s], validators=[
        DataRequired(_l("Enter the product's name.")),
        Length(min=3, max=160, message=_l("The name must be 3 to 160 characters long."))],
        render_kw={"maxlength": 160})
    category = SelectField(_l("Category"), validators=[InputRequired(_l("Choose a category."))])
    description = TextAreaField(_l("Description"), validators=[
        Optional(), Length(max=5000, message=_l("Keep the description under 5,000 characters."))],
        render_kw={"rows": 6})
    price_idr = WholeNumberField(_l("Price in rupiah"), validators=[
        InputRequired(_l("Enter the price in rupiah.")),
        NumberRange(min=1, max=100_000_000, message=_l("The price must be between Rp 1 and Rp 100.000.000."))],
        invalid=_l("Enter the price in whole rupiah, e.g. 85000 or 85.000."))
    weight_grams = WholeNumberField(_l("Weight in grams, packed"), validators=[
        InputRequired(_l("Enter the packed weight in grams.")),
        NumberRange(min=1, max=50_000, message=_l("The weight must be between 1 g and 50.000 g (50 kg)."))],
        invalid=_l("Enter the weight in whole grams, e.g. 250."))
    stock = WholeNumberField(_l("Stock (how many you can send now)"), validators=[
        InputRequired(_l("Enter the stock; 0 means sold out.")),
        NumberRange(min=0, max=100_000, message=_l("The stock must be between 0 and 100.000."))],
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
            SelectChoice(str(c.id), c.name(locale) + ("" if c.is_food else f" ({_l('not food')})"))
            for c in categories]

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
