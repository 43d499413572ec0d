from flask_babel import gettext as _, lazy_gettext as _l
from flask_wtf.file import FileField
from wtforms import (BooleanField, DateField, HiddenField, SelectField, SelectMultipleField, StringField,
                     TextAreaField, widgets)
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, InputRequired, Length, Optional

from ..forms import ShopForm
from ..numbers import row_id
from ..upload_forms import MB, UploadForm
from .papers import KIND_INFO
from .scans import MAX_PDF_BYTES, MAX_SCAN_BYTES


class CheckboxList(SelectMultipleField):
    """Checkboxes rather than a multi-select: easier on a phone, works without JavaScript."""

    widget = widgets.ListWidget(prefix_label=False)
    option_widget = widgets.CheckboxInput()


class PaperForm(UploadForm):
    upload_field = "scan"

    kind = SelectField(_l("Kind of paper"), validators=[InputRequired(_l("Choose the kind of paper."))])
    number = StringField(_l("Number, exactly as printed"), validators=[
        DataRequired(_l("Enter the number exactly as printed on the paper.")),
        Length(max=60, message=_l("The number is too long."))])
    issued_on = DateField(_l("Issued on"), validators=[InputRequired(_l("Enter the issue date."))])
    expires_on = DateField(_l("Valid until (leave empty if it has no end)"), validators=[Optional()])
    products = CheckboxList(_l("Products this paper covers"), coerce=row_id, validate_choice=False)
    scan = FileField(_l("Scan or photo of the paper (JPEG or PNG up to 20 MB, PDF up to 5 MB)"),
                     render_kw={"accept": "application/pdf,image/jpeg,image/png"})
    #: The token of a scan kept from a refused submit (``held_scans``): used when no file is chosen.
    held_scan = HiddenField()
    #: Shown only when the number does not match its kind's usual format.
    confirm_number = BooleanField(_l("The number is written exactly like this on the paper"))
    #: The number the village was warned about: a tick confirms that number, not a later one.
    warned_number = HiddenField()

    def __init__(self, *args, products=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.kind.choices = [SelectChoice("", _l("Choose…"))] + [
            SelectChoice(k, info[0]) for k, info in KIND_INFO.items()]
        self.products.choices = [SelectChoice(p.id, f"{p.name} ({p.sku})") for p in products]

    def too_large_message(self):
        return _("Nothing was saved: the file is too large to send. A photo or scan of the paper may be up to "
                 "%(image)s MB, a PDF up to %(pdf)s MB. Fill in the form again and choose a smaller file, or "
                 "take a photo of the paper with your phone's camera.",
                 image=MAX_SCAN_BYTES // MB, pdf=MAX_PDF_BYTES // MB)


class ReasonForm(ShopForm):
    reason = TextAreaField(_l("Reason (the village will see it)"), validators=[
        DataRequired(_l("Give the reason, so the village knows what to fix.")),
        Length(max=2000, message=_l("Keep the reason under 2,000 characters."))])
