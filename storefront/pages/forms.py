from flask_babel import lazy_gettext as _l
from wtforms import HiddenField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length

from ..forms import ShopForm
from .markup import MAX_BODY
from .services import MAX_TITLE

_TITLE = [DataRequired(_l("Give the page a title.")),
          Length(max=MAX_TITLE, message=_l("Keep the title under %(max)d characters."))]
_BODY = [DataRequired(_l("Write the page's text.")),
         Length(max=MAX_BODY, message=_l("Keep the text under %(max)d characters."))]


class PageForm(ShopForm):
    """The office edits a page's title and text in both languages, in Markdown."""

    title_id = StringField(_l("Title in Indonesian"), validators=_TITLE)
    body_id = TextAreaField(_l("Text in Indonesian"), validators=_BODY, render_kw={"rows": 18})
    title_en = StringField(_l("Title in English"), validators=_TITLE)
    body_en = TextAreaField(_l("Text in English"), validators=_BODY, render_kw={"rows": 18})
    #: The revision the editor started from (0: the default text): an edit never overwrites
    #: another one saved meanwhile.
    replaces = HiddenField()
