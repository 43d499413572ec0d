"""An example receiver of the shop's catalogue webhooks, for partners (standard library only).

Run it behind your HTTPS proxy with the secret the office gave you:

    PARTNER_WEBHOOK_SECRET=whsec_... python3 partner_receiver.py 8080

It checks each call's signature (``X-Desa-Signature: t=<unix>,v1=<hex>``: HMAC-SHA256 with the
secret over ``"<t>.<raw body>"``), refuses calls older than five minutes, skips an event id it
has handled already (a call may come twice), ignores an event older than the last one it
applied to that product (compare ``cursor``), and keeps the products it may sell in memory.
A real receiver writes them to its own database and answers 2xx only once they are stored.
The shop's test suite runs this file against real signed calls (tests/test_partner_webhooks.py).
"""
import hashlib
import hmac
import json
import os
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

TOLERANCE_SECONDS = 300


def verify(body, header, secret, tolerance=TOLERANCE_SECONDS, now=None):
    """True when ``header`` (the value of X-Desa-Signature) signs ``body`` (raw bytes) with
    ``secret`` and is at most ``tolerance`` seconds old."""
    try:
        items = dict(part.strip().split("=", 1) for part in (header or "").split(",") if "=" in part)
        timestamp = int(items["t"])
    except (KeyError, ValueError):
        return False
    expected = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    if not hmac.compare_digest(expected, items.get("v1", "")):
        return False
    return abs((time.time() if now is None else now) - timestamp) <= tolerance


class Catalogue:
    """What this partner may sell: product id -> the shop's document of it."""

    def __init__(self):
        self.products = {}
        self.cursors = {}       # product id -> cursor of the last event applied
        self.handled = set()    # event ids already handled
        self.lock = threading.Lock()

    def apply(self, event):
        """Apply one event; False when it was a repeat or older than what is known."""
        data = event["data"]
        product_id, cursor = data["id"], int(data["cursor"])
        with self.lock:
            if event["id"] in self.handled or cursor <= self.cursors.get(product_id, -1):
                self.handled.add(event["id"])
                return False
            self.handled.add(event["id"])
            self.cursors[product_id] = cursor
            if event["type"] == "product.delisted":
                self.products.pop(product_id, None)   # take it off the shelf now
            else:                                      # product.listed, product.changed
                self.products[product_id] = data
            return True


def make_server(port, secret, catalogue=None, host="127.0.0.1"):
    """An HTTP server (put it behind HTTPS) that applies signed events to ``catalogue``."""
    catalogue = catalogue if catalogue is not None else Catalogue()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            if not verify(body, self.headers.get("X-Desa-Signature"), secret):
                self.send_response(400)
                self.end_headers()
                return
            catalogue.apply(json.loads(body))
            self.send_response(204)
            self.end_headers()

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer((host, port), Handler)
    server.catalogue = catalogue
    return server


if __name__ == "__main__":
    server = make_server(int(sys.argv[1]) if len(sys.argv) > 1 else 8080, os.environ["PARTNER_WEBHOOK_SECRET"])
    print(f"listening on {server.server_address[0]}:{server.server_address[1]}")
    server.serve_forever()
