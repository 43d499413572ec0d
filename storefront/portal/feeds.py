"""Village portal: the village's order feed addresses, and the button that makes new ones."""
from flask import flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user

from ..access import member_required
from ..feeds.forms import RotateFeedTokenForm
from ..feeds.services import rotate_feed_token
from ..unit_of_work import unit_of_work
from ..urls import external_url
from .blueprint import bp, own_village

FEED_FORMATS = (("atom", "feeds.orders_atom"), ("json", "feeds.orders_json"), ("csv", "feeds.orders_csv"))


@bp.get("/umpan")
@member_required
def feeds():
    """The three feed addresses (when there are any), what they are for, and how to renew them."""
    village = own_village()
    links = ({kind: external_url(endpoint, token=village.feed_token)
              for kind, endpoint in FEED_FORMATS} if village.feed_token else None)
    response = render_template("portal/feeds.html", village=village, links=links,
                               form=RotateFeedTokenForm())
    # The page shows a secret: no copy in any cache.
    return response, 200, {"Cache-Control": "no-store"}


@bp.post("/umpan/token-baru", endpoint="rotate_feed_token")
@member_required
def rotate_feed_token_view():
    """Make new feed addresses for the member's own village; the old ones stop working."""
    form = RotateFeedTokenForm()
    if not form.validate_on_submit():
        flash(_("The form expired. Please try again."), "warning")
        return redirect(url_for("portal.feeds"), code=303)
    had_links = own_village().feed_token is not None
    if had_links and not form.confirm.data:
        flash(_("Nothing changed: tick the box to confirm that the old addresses may stop working."),
              "warning")
        return redirect(url_for("portal.feeds"), code=303)
    with unit_of_work():
        rotate_feed_token(current_user.village_id)
    if had_links:
        flash(_("New feed addresses are ready. The old addresses no longer work: update every "
                "program or spreadsheet that used them."), "success")
    else:
        flash(_("Your feed addresses are ready."), "success")
    return redirect(url_for("portal.feeds"), code=303)
