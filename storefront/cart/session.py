"""Which cart belongs to this request: the account's, or the guest's from the cart cookie."""
from flask import after_this_request, current_app, request
from flask_login import current_user, user_logged_in

from .services import guest_cart, merge_carts, new_guest_cart, user_cart

COOKIE = "keranjang"


def current_cart(create=False):
    if current_user.is_authenticated:
        return user_cart(current_user.id, create=create)
    cart = guest_cart(request.cookies.get(COOKIE))
    if cart is None and create:
        cart, token = new_guest_cart()

        @after_this_request
        def remember(response):
            response.set_cookie(COOKIE, token, max_age=60 * 24 * 3600, httponly=True, samesite="Lax",
                                secure=current_app.config.get("SESSION_COOKIE_SECURE", False))
            return response
    return cart


@user_logged_in.connect
def _merge_guest_cart(app, user, **extra):
    """Signing in keeps what the guest put in the cart (in the sign-in's unit of work)."""
    guest = guest_cart(request.cookies.get(COOKIE)) if request else None
    if guest is None:
        return
    merge_carts(guest, user_cart(user.id, create=True))
