"""The ceiling: the smallest Flask page, served by the same gunicorn settings as the shop."""
from flask import Flask

app = Flask(__name__)


@app.get("/")
def hello():
    """A constant page: what any Flask app on this machine can at best answer."""
    return "Hello, NTT!"
