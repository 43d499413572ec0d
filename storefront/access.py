"""Who may do what: role checks for views, and the village scope of a signed-in member."""
from functools import wraps

from flask import abort
from flask_login import current_user, login_required

OFFICE_ROLES = ("verifier", "admin")


def roles_required(*roles):
    """Signed in (else to the sign-in page) and holding one of ``roles`` (else 403)."""

    def decorator(view):
        @wraps(view)
        @login_required
        def wrapped(*args, **kwargs):
            if current_user.role not in roles:
                abort(403)
            return view(*args, **kwargs)

        return wrapped

    return decorator


office_required = roles_required(*OFFICE_ROLES)
admin_required = roles_required("admin")
member_required = roles_required("village_member")


def is_office(user):
    return user.is_authenticated and user.role in OFFICE_ROLES


def may_see_village_papers(user, village_id):
    """The office sees every village's papers; a member only their own village's."""
    if not user.is_authenticated:
        return False
    if user.role in OFFICE_ROLES:
        return True
    return user.role == "village_member" and user.village_id == village_id
