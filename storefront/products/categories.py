"""How a category is named where a village chooses one, in the reader's language."""
from flask_babel import gettext as _


def category_choice_label(category, locale):
    """The category as a form's list of categories names it: one that is not food says so, since
    its products need no food permit and no halal certificate (``legality/papers.py``)."""
    if category.is_food:
        return category.name(locale)
    # Not written inside an f-string: the message extractor cannot see a call in one, and the
    # words would stay English on Indonesian pages.
    return category.name(locale) + " (" + _("not food") + ")"
