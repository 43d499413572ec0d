"""One unit of work: the one place where the shop commits.

Services change the session and flush; they never commit or roll back. A view (or a CLI
command, or a worker job) wraps the services it calls in ``unit_of_work()``: everything in the
block is committed together when the block ends, or rolled back together when anything in it
raises. The error goes on up, so the view can turn a domain error into a message on the form::

    try:
        with unit_of_work():
            product = create_product(village_id=..., data=..., actor=current_user)
    except ListingError as exc:
        form.form_errors.append(str(exc))
    else:
        return redirect(...)

Work that must only happen once the change is saved (deleting a photo file the change made
useless) is registered with ``after_commit`` and runs after the commit, never after a rollback.
"""
from contextlib import contextmanager

from .extensions import db

_CALLBACKS = "storefront.after_commit"


def after_commit(callback, *args):
    """Run ``callback(*args)`` after the current unit of work commits (dropped if it rolls back)."""
    db.session.info.setdefault(_CALLBACKS, []).append((callback, args))


@contextmanager
def unit_of_work():
    """Commit the block's work at its end; roll all of it back if the block raises."""
    session = db.session
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        session.info.pop(_CALLBACKS, None)
        raise
    for callback, args in session.info.pop(_CALLBACKS, []):
        callback(*args)
