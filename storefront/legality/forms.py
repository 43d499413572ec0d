from flask_babel import lazy_gettext as _l
from flask_wtf.file import FileField
from wtforms import DateField, SelectField, SelectMultipleField, StringField, TextAreaField, widgets
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, InputRequired, Length, Optional

from ..forms import ShopForm
from ..numbers import row_id
from .papers import KIND_INFO


class CheckboxList(SelectMultipleField):
    """Checkboxes rather than a multi-select: easier on a phone, works without JavaScript."""

    widget = widgets.ListWidget(prefix_label=False)
    option_widget = widgets.CheckboxInput()


class PaperForm(ShopForm):
    kind = SelectField(_l("Kind of paper"), validators=[InputRequired(_l("Choose the kind of paper."))])
    number = StringField(_l("Number, exactly as printed"), validators=[
        DataRequired(_l("Enter the number exactly as printed on the paper.")),
        Length(max=60, message=_l("The number is too long."))])
    issued_on = DateField(_l("Issued on"), validators=[InputRequired(_l("Enter the issue date."))])
    expires_on = DateField(_l("Valid until (leave empty if it has no end)"), validators=[Optional()])
    products = CheckboxList(_l("Products this paper covers"), coerce=row_id, validate_choice=False)
    scan = FileField(_l("Scan or photo of the paper (JPEG or PNG up to 20 MB, PDF up to 5 MB)"),
                     render_kw={"accept": "application/pdf,image/jpeg,image/png"})

    def __init__(self, *args, products=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.kind.choices = [SelectChoice("", _l("Choose…"))] + [
            SelectChoice(k, info[0]) for k, info in KIND_INFO.items()]
        self.products.choices = [SelectChoice(p.id, f"{p.name} ({p.sku})") for p in products]


class ReasonForm(ShopForm):
    reason = TextAreaField(_l("Reason (the village will see it)"), validators=[
        DataRequired(_l("Give the reason, so the village knows what to fix.")),
        Length(max=2000, message=_l("Keep the reason under 2,000 characters."))])
