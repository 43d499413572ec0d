"""Password hashes: Werkzeug's scrypt at its default cost for every real account.

The method is the ``PASSWORD_HASH_METHOD`` setting, which is not read from the environment: it
exists so that the test suite can hash its thousands of passwords cheaply, and a production
start refuses any other method (config.py). A stored hash names its own method, so checking
works whatever the setting.
"""
import secrets
from functools import lru_cache

from flask import current_app
from werkzeug.security import check_password_hash, generate_password_hash


def hash_password(password):
    return generate_password_hash(password, method=current_app.config["PASSWORD_HASH_METHOD"])


def password_matches(password_hash, password):
    return check_password_hash(password_hash, password)


def check_against_nobody(password):
    """Check ``password`` against a hash of the same method and cost as a real account's, of a
    random password nobody knows: the same work when there is no account to check against."""
    check_password_hash(_dummy_hash(current_app.config["PASSWORD_HASH_METHOD"]), password)


@lru_cache(maxsize=4)
def _dummy_hash(method):
    return generate_password_hash(secrets.token_urlsafe(32), method=method)
