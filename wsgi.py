"""Production entry point: ``gunicorn wsgi:app`` (settings in gunicorn.conf.py)."""
from storefront import create_app

app = create_app()
