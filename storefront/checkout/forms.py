from flask_babel import lazy_gettext as _l
from wtforms import BooleanField, EmailField, HiddenField, RadioField, StringField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Email, Length

from ..address_forms import AddressForm
from ..forms import ShopForm
from ..payments.methods import LABELS

#: Each payment method's name (``payments.methods``), as checkout offers it.
PAYMENT_LABELS = LABELS


class CheckoutForm(AddressForm):
    email = EmailField(_l("E-mail (for the confirmation)"), filters=[lambda v: v.strip() if v else v],
                       validators=[DataRequired(_l("Enter your e-mail address.")),
                                   Email(_l("Enter a valid e-mail address, e.g. nama@contoh.id.")),
                                   Length(max=254)], render_kw={"autocomplete": "email"})
    payment_method = RadioField(_l("Payment"), validators=[DataRequired(_l("Choose how to pay."))])
    save_address = BooleanField(_l("Save this address in my account"))
    #: Made when the page is first shown: the same checkout sent twice makes one order.
    idempotency_key = HiddenField()
    #: The total the buyer was shown; if the server's total differs, they confirm again.
    expected_total = HiddenField()

    def __init__(self, *args, methods=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.payment_method.choices = [SelectChoice(m, PAYMENT_LABELS[m]) for m in methods]


class FindOrderForm(ShopForm):
    """A buyer who lost the private link: the order number and the e-mail it was placed with."""

    number = StringField(_l("Order number"), filters=[lambda v: "".join(v.split()).upper() if v else v],
                         validators=[DataRequired(_l("Type the order number, e.g. NTT-261203-7K3M2A.")),
                                     Length(max=40)],
                         render_kw={"autocomplete": "off", "autocapitalize": "characters"})
    email = EmailField(_l("E-mail address of the order"), filters=[lambda v: v.strip() if v else v],
                       validators=[DataRequired(_l("Enter your e-mail address.")),
                                   Email(_l("Enter a valid e-mail address, e.g. nama@contoh.id.")),
                                   Length(max=254)], render_kw={"autocomplete": "email"})
