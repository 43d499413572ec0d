"""A name server and an internet of our own, for the webhook SSRF tests.

``FakeDNS`` answers chosen names through ``socket.getaddrinfo`` (and counts the lookups), so a
name can answer a public address first and 127.0.0.1 the next time (DNS rebinding). ``Network``
watches ``socket.create_connection``: it records every address the code connects to, connects a
"public" address to a local server standing in for it, lets loopback through, and refuses the
rest, so that no test ever reaches a real outside address. ``Listener`` is a bare TCP server on
loopback that records each connection made to it. ``self_signed_certificate`` makes a
certificate for a test name with the ``openssl`` command.
"""
import ipaddress
import shutil
import socket
import subprocess
import threading
from collections import Counter

import pytest

REAL_GETADDRINFO = socket.getaddrinfo
REAL_CREATE_CONNECTION = socket.create_connection


def _is_literal(host):
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


class FakeDNS:
    """``zone[name]`` is a list of answers, one per lookup (the last one repeats), each a list of
    addresses. Names outside the zone and IP literals go to the real resolver."""

    def __init__(self, monkeypatch):
        self.zone = {}
        self.lookups = Counter()
        monkeypatch.setattr(socket, "getaddrinfo", self.getaddrinfo)

    def getaddrinfo(self, host, port, family=0, type=0, proto=0, flags=0):
        name = (host.decode() if isinstance(host, bytes) else host or "").lower().rstrip(".")
        if name not in self.zone:
            return REAL_GETADDRINFO(host, port, family, type, proto, flags)
        if flags & socket.AI_NUMERICHOST:
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        self.lookups[name] += 1
        answers = self.zone[name]
        answer = answers[min(self.lookups[name], len(answers)) - 1]
        port = int(port or 0)
        infos = []
        for text in answer:
            address = ipaddress.ip_address(text)
            if address.version == 6:
                infos.append((socket.AF_INET6, socket.SOCK_STREAM, socket.IPPROTO_TCP, "", (text, port, 0, 0)))
            else:
                infos.append((socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP, "", (text, port)))
        return infos


class Network:
    """``connects``: every ``(host, port)`` passed to ``socket.create_connection``, as given (a name
    or an address). ``routes[(address, port)] = (local address, port)``: where a public address
    really goes. A name is resolved (through FakeDNS when installed) and each answer handled like
    an address; a loopback address is connected to for real, anything else is refused."""

    def __init__(self, monkeypatch):
        self.connects = []
        self.routes = {}
        monkeypatch.setattr(socket, "create_connection", self.create_connection)

    def create_connection(self, address, timeout=socket._GLOBAL_DEFAULT_TIMEOUT, source_address=None, **kwargs):
        host, port = address[0], int(address[1])
        self.connects.append((host, port))
        candidates = [host] if _is_literal(host) else [
            info[4][0] for info in socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)]
        for candidate in candidates:
            if (candidate, port) in self.routes:
                return REAL_CREATE_CONNECTION(self.routes[(candidate, port)], timeout)
            if ipaddress.ip_address(candidate).is_loopback:
                return REAL_CREATE_CONNECTION((candidate, port), timeout)
        raise ConnectionRefusedError(f"the tests reach no outside address ({host}:{port})")


class Listener:
    """A TCP server on 127.0.0.1 that accepts, records the peer and hangs up."""

    def __init__(self):
        self.connections = []
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(8)
        self.port = self.sock.getsockname()[1]
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self):
        while True:
            try:
                conn, peer = self.sock.accept()
            except OSError:
                return
            self.connections.append(peer)
            conn.close()

    def close(self):
        try:
            self.sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self.sock.close()
        self.thread.join(5)


def self_signed_certificate(directory, name):
    """``(certificate path, key path)`` of a new self-signed certificate for DNS name ``name``."""
    openssl = shutil.which("openssl")
    if openssl is None:
        pytest.skip("the openssl command is needed to make a test certificate")
    cert, key = directory / f"{name}.pem", directory / f"{name}.key"
    subprocess.run([openssl, "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
                    "-nodes", "-days", "2", "-subj", f"/CN={name}", "-addext", f"subjectAltName=DNS:{name}",
                    "-keyout", str(key), "-out", str(cert)], check=True, capture_output=True)
    return cert, key
