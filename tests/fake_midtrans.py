"""A stand-in for Midtrans' servers on loopback, answering as Midtrans documents its APIs.

- ``POST /snap/v1/transactions`` (Snap): Basic auth with the server key; ``transaction_details``
  with a unique ``order_id`` and an integer ``gross_amount`` equal to the sum of
  ``item_details`` (names of at most 50 characters); ``expiry.start_time`` as
  ``yyyy-MM-dd HH:mm:ss +0700``; answers ``201 {"token", "redirect_url"}``, and ``400
  {"error_messages": [...]}`` for what it refuses (an order id used before among them).
- ``GET /v2/<order_id>/status`` (Core API): the transaction as it stands (``status_code``,
  ``transaction_status``, ``fraud_status``, ``gross_amount`` as ``"85000.00"``, ``currency``,
  ``refunds``...), or ``404`` while nobody has paid on the page.
- ``POST /v2/<order_id>/refund``: a settled transaction of a refundable payment type, at most
  what is left, each ``refund_key`` once.

A test moves a transaction with ``pay``/``set_status`` and gets the notification Midtrans would
send, signed as Midtrans signs it (``signature_key`` = SHA-512 of order id, status code, gross
amount and server key). Every request is kept in ``requests``.
"""
import base64
import hashlib
import json
import re
import secrets
import threading
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from .local_http import serve_in_thread

SERVER_KEY = "SB-Mid-server-TEST0123456789abcdef"
#: The status code Midtrans gives each transaction status (capture under review is 201).
STATUS_CODES = {"capture": "200", "settlement": "200", "pending": "201", "deny": "202", "cancel": "200",
                "expire": "407", "failure": "202", "refund": "200", "partial_refund": "200"}
REFUNDABLE = {"credit_card", "gopay", "shopeepay", "qris", "dana", "ovo", "kredivo", "akulaku"}
START_TIME = re.compile(r"\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2} \+0700")


def sign(order_id, status_code, gross_amount, server_key=SERVER_KEY):
    return hashlib.sha512(f"{order_id}{status_code}{gross_amount}{server_key}".encode()).hexdigest()


def _amount(value):
    return f"{int(value)}.00"


class FakeMidtrans:
    def __init__(self):
        self.requests = []      # {"method", "path", "headers", "body"}
        self.snaps = {}         # order_id -> {"params", "token", "redirect_url"}
        self.transactions = {}  # order_id -> the status API's answer
        self.refunds = []
        self.down = False       # answer 503 to everything
        self.lock = threading.Lock()

    # --- what tests do on Midtrans' side --------------------------------------------------------

    def pay(self, order_id, payment_type="qris", status="settlement", fraud_status=None, gross_amount=None,
            currency="IDR"):
        """The buyer paid (or started paying) on the Snap page; returns the notification."""
        snap = self.snaps[order_id]
        gross = gross_amount if gross_amount is not None else snap["params"]["transaction_details"]["gross_amount"]
        transaction = self.transactions.get(order_id)
        if transaction is None:
            transaction = {
                "transaction_id": secrets.token_hex(4) + "-" + secrets.token_hex(2) + "-4" + secrets.token_hex(2)[1:]
                + "-a" + secrets.token_hex(2)[1:] + "-" + secrets.token_hex(6),
                "order_id": order_id, "merchant_id": "G141532850", "currency": currency,
                "transaction_time": datetime.now().strftime("%Y-%m-%d %H:%M:%S"),
            }
            self.transactions[order_id] = transaction
        transaction.update(payment_type=payment_type, gross_amount=_amount(gross), currency=currency)
        return self.set_status(order_id, status, fraud_status)

    def set_status(self, order_id, status, fraud_status=None):
        transaction = self.transactions[order_id]
        transaction.update(transaction_status=status, status_code=STATUS_CODES[status],
                           status_message=f"Success, transaction is {status}")
        if fraud_status or status in ("capture", "settlement"):
            transaction["fraud_status"] = fraud_status or "accept"
        if status == "settlement":
            transaction["settlement_time"] = datetime.now().strftime("%Y-%m-%d %H:%M:%S")
        return self.notification(order_id)

    def refund_in_dashboard(self, order_id, amount):
        """Somebody refunded in Midtrans' dashboard (no refund key of the shop's)."""
        return self._refund(order_id, {"amount": amount, "refund_key": "dashboard-" + secrets.token_hex(4),
                                       "reason": "refund from dashboard"})[1] and self.notification(order_id)

    def notification(self, order_id, **changes):
        """The HTTP notification Midtrans sends for the transaction as it stands, signed."""
        transaction = self.transactions[order_id]
        body = {name: transaction[name] for name in (
            "transaction_time", "transaction_status", "transaction_id", "status_message", "status_code",
            "payment_type", "order_id", "merchant_id", "gross_amount", "currency") if name in transaction}
        if "fraud_status" in transaction:
            body["fraud_status"] = transaction["fraud_status"]
        body.update(changes)
        body["signature_key"] = sign(body["order_id"], body["status_code"], body["gross_amount"])
        return body

    # --- the HTTP side ---------------------------------------------------------------------------

    def handle(self, method, path, headers, raw):
        try:
            body = json.loads(raw) if raw else {}
        except ValueError:
            return 400, {"error_messages": ["body is not JSON"]}
        with self.lock:
            self.requests.append({"method": method, "path": path, "headers": headers, "body": body})
            if self.down:
                return 503, {"status_code": "503", "status_message": "Midtrans is under maintenance"}
            expected = "Basic " + base64.b64encode(f"{SERVER_KEY}:".encode()).decode()
            if headers.get("authorization") != expected:
                return 401, {"status_code": "401", "status_message": "Unknown Merchant server_key/id",
                             "error_messages": ["Access denied due to unauthorized transaction"]}
            if (method, path) == ("POST", "/snap/v1/transactions"):
                return self._snap(body)
            match = re.fullmatch(r"/v2/([^/]+)/(status|refund)", path)
            if match and (method, match.group(2)) == ("GET", "status"):
                transaction = self.transactions.get(match.group(1))
                if transaction is None:
                    return 404, {"status_code": "404", "status_message": "Transaction doesn't exist."}
                return 200, transaction
            if match and (method, match.group(2)) == ("POST", "refund"):
                return self._refund(match.group(1), body)
            return 404, {"status_code": "404", "status_message": "The requested resource is not found"}

    def _snap(self, params):
        details = params.get("transaction_details") or {}
        order_id, gross = details.get("order_id"), details.get("gross_amount")
        problems = []
        if not isinstance(order_id, str) or not order_id:
            problems.append("transaction_details.order_id is required")
        elif order_id in self.snaps:
            problems.append("transaction_details.order_id sudah digunakan")
        if not isinstance(gross, int) or gross < 1:
            problems.append("transaction_details.gross_amount must be an integer of at least 1")
        items = params.get("item_details") or []
        for item in items:
            if len(item.get("name", "")) > 50:
                problems.append("item_details.name is too long (maximum 50 characters)")
            if not isinstance(item.get("price"), int) or not isinstance(item.get("quantity"), int):
                problems.append("item_details price and quantity must be integers")
        if items and sum(i.get("price", 0) * i.get("quantity", 0) for i in items) != gross:
            problems.append("transaction_details.gross_amount is not equal to the sum of item_details")
        expiry = params.get("expiry")
        if expiry is not None and not (START_TIME.fullmatch(str(expiry.get("start_time", "")))
                                       and expiry.get("unit") in ("minute", "minutes", "hour", "day")
                                       and isinstance(expiry.get("duration"), int)):
            problems.append("expiry is not valid")
        if problems:
            return 400, {"error_messages": problems}
        token = secrets.token_hex(18)
        url = f"https://app.sandbox.midtrans.com/snap/v4/redirection/{token}"
        self.snaps[order_id] = {"params": params, "token": token, "redirect_url": url}
        return 201, {"token": token, "redirect_url": url}

    def _refund(self, order_id, body):
        transaction = self.transactions.get(order_id)
        if transaction is None:
            return 404, {"status_code": "404", "status_message": "Transaction doesn't exist."}
        if transaction["transaction_status"] not in ("settlement", "partial_refund") \
                or transaction["payment_type"] not in REFUNDABLE:
            return 412, {"status_code": "412", "status_message": "Merchant cannot modify the status of the transaction"}
        gross = int(float(transaction["gross_amount"]))
        done = sum(r["amount"] for r in transaction.get("refunds_raw", []))
        amount = int(body.get("amount") or gross - done)
        key = body.get("refund_key") or secrets.token_hex(6)
        if any(r["refund_key"] == key for r in self.refunds):
            return 406, {"status_code": "406", "status_message": "Duplicate refund_key"}
        if amount < 1 or done + amount > gross:
            return 413, {"status_code": "413", "status_message": "The refund amount is more than what is left"}
        refund = {"refund_key": key, "amount": amount, "order_id": order_id, "reason": body.get("reason")}
        self.refunds.append(refund)
        transaction.setdefault("refunds_raw", []).append(refund)
        total = done + amount
        status = "refund" if total == gross else "partial_refund"
        transaction.update(
            transaction_status=status, status_code="200", refund_amount=_amount(total),
            refunds=[{"refund_chargeback_id": i + 1, "refund_amount": _amount(r["amount"]),
                      "created_at": transaction["transaction_time"], "reason": r["reason"],
                      "refund_key": r["refund_key"], "refund_method": ""}
                     for i, r in enumerate(transaction["refunds_raw"])])
        return 200, {"status_code": "200", "status_message": "Success, refund request is approved",
                     "transaction_id": transaction["transaction_id"], "order_id": order_id,
                     "payment_type": transaction["payment_type"], "transaction_status": status,
                     "gross_amount": transaction["gross_amount"], "refund_chargeback_id": len(transaction["refunds"]),
                     "refund_amount": _amount(amount), "refund_key": key}

    @property
    def snap_requests(self):
        return [r for r in self.requests if r["path"] == "/snap/v1/transactions"]

    @property
    def status_requests(self):
        return [r for r in self.requests if r["path"].endswith("/status")]


def serve(fake):
    """Serve ``fake`` on 127.0.0.1; returns ``(server, thread)``; sets ``fake.url``."""

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def _answer(self):
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length).decode() if length else ""
            path = self.path.partition("?")[0]
            headers = {k.lower(): v for k, v in self.headers.items()}
            status, reply = fake.handle(self.command, path, headers, raw)
            data = json.dumps({k: v for k, v in reply.items() if k != "refunds_raw"}).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        do_GET = do_POST = _answer

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = serve_in_thread(server)
    fake.url = f"http://127.0.0.1:{server.server_port}"
    return server, thread
