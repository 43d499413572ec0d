from flask_babel import lazy_gettext as _l
from wtforms import HiddenField, IntegerField
from wtforms.validators import InputRequired, NumberRange

from ..forms import ShopForm


class CartLineForm(ShopForm):
    """Add a product, or set a line's quantity. Only ids and counts come from the client."""

    product_id = HiddenField(validators=[InputRequired()])
    quantity = IntegerField(_l("Quantity"), default=1, validators=[
        InputRequired(_l("Enter a quantity.")),
        NumberRange(min=0, max=999, message=_l("Choose a quantity from 0 to 999."))],
        render_kw={"inputmode": "numeric", "min": 0, "max": 999})


class CartRemoveForm(ShopForm):
    """Take a line out of the cart: only the product's id comes from the client."""

    product_id = HiddenField(validators=[InputRequired()])
