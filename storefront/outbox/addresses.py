"""Where a village's webhook may be sent: the address rules, and HTTP connections pinned to an
address that passed them.

A webhook names a host; what that name resolves to is up to whoever runs its DNS, and may change
between two lookups (DNS rebinding). So the worker looks the name up once, checks every address
it got (:func:`resolve_destination`), and opens the TCP connection to one of those very addresses
(:class:`PinnedHTTPSConnection`): the name is only used for TLS (SNI and the certificate check)
and the ``Host`` header, never looked up again.

The rules (:func:`is_public_address`) refuse everything that is not an ordinary address on the
public internet: private networks, loopback, link-local (and with it the cloud metadata address
169.254.169.254), carrier-grade NAT, multicast, reserved and unspecified addresses, and the IPv6
ranges that carry an IPv4 address inside them (IPv4-mapped and -compatible, NAT64, 6to4, Teredo):
``64:ff9b::a9fe:a9fe`` is 169.254.169.254 to a host behind a NAT64 gateway, whatever
``ipaddress`` says of the IPv6 address itself.
"""
import http.client
import ipaddress
import socket
import time

#: IPv6 ranges that hand the connection on to an IPv4 address written inside the IPv6 one
#: (RFC 4291 mapped and compatible, RFC 6052 and 8215 NAT64, RFC 3056 6to4, RFC 4380 Teredo).
#: A webhook never needs them, and the IPv4 address inside may be a private one.
TRANSLATION_NETWORKS = tuple(ipaddress.ip_network(net) for net in (
    "::ffff:0:0/96", "::/96", "64:ff9b::/96", "64:ff9b:1::/48", "2002::/16", "2001::/32"))
#: IPv4 ranges that ``ipaddress`` (Python 3.11) still calls global but that are not on the public
#: internet: carrier-grade NAT (RFC 6598) and the IETF protocol assignments (RFC 6890), where
#: Oracle Cloud's metadata service lives.
NON_PUBLIC_NETWORKS = tuple(ipaddress.ip_network(net) for net in ("100.64.0.0/10", "192.0.0.0/24"))
#: Cloud metadata services (AWS/GCP/Azure, AWS over IPv6, Alibaba, Oracle). Each is already in a
#: range refused above; named here so that no change to those ranges lets one through.
METADATA_ADDRESSES = frozenset(ipaddress.ip_address(address) for address in (
    "169.254.169.254", "fd00:ec2::254", "100.100.100.200", "192.0.0.192"))


class DestinationRefused(Exception):
    """The host may not be called: it resolves to an address the rules refuse."""


def is_public_address(address):
    """True if ``address`` (an ``ipaddress`` object) is an ordinary public internet address."""
    if address in METADATA_ADDRESSES:
        return False
    if (not address.is_global or address.is_private or address.is_loopback or address.is_link_local
            or address.is_multicast or address.is_reserved or address.is_unspecified):
        return False
    if address.version == 6:
        return not address.is_site_local and not any(address in net for net in TRANSLATION_NETWORKS)
    return not any(address in net for net in NON_PUBLIC_NETWORKS)


def is_loopback_address(address):
    """True if ``address`` is this machine (127.0.0.0/8 or ::1)."""
    return address.is_loopback


def literal_address(host):
    """The IP address ``host`` spells, in any form the system accepts (``127.1``, ``0x7f000001``,
    ``[::1]`` without brackets), or None for a name. Never asks DNS."""
    try:
        infos = socket.getaddrinfo(host, None, type=socket.SOCK_STREAM, flags=socket.AI_NUMERICHOST)
    except (OSError, UnicodeError, ValueError):
        return None
    return ipaddress.ip_address(infos[0][4][0]) if infos else None


def resolve_destination(host, allow_loopback=False):
    """Look ``host`` up once and return its addresses, each checked, in the order given.

    Every address must be public (one private address among public ones refuses the host: the
    connection could go to any of them); with ``allow_loopback``, every address must be this
    machine instead (plain http for local trials). Raises DestinationRefused, or OSError when
    the lookup fails."""
    try:
        infos = socket.getaddrinfo(host, None, type=socket.SOCK_STREAM)
    except UnicodeError:
        raise OSError(f"{host!r} is not a name that can be looked up") from None
    addresses = list(dict.fromkeys(ipaddress.ip_address(info[4][0]) for info in infos))
    if not addresses:
        raise OSError(f"{host} has no address")
    allowed = is_loopback_address if allow_loopback else is_public_address
    if not all(allowed(address) for address in addresses):
        raise DestinationRefused(host)
    return addresses


def open_tcp(addresses, port, timeout):
    """A TCP connection to the first of ``addresses`` that answers, within ``timeout`` seconds in
    all. Each address is an IP literal, so ``create_connection`` does not look anything up."""
    deadline = time.monotonic() + timeout
    error = None
    for address in addresses:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            break
        try:
            sock = socket.create_connection((str(address), port), timeout=remaining)
        except OSError as exc:
            error = exc
            continue
        sock.settimeout(timeout)
        try:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        except OSError:
            pass
        return sock
    raise error or TimeoutError("timed out")


class PinnedHTTPConnection(http.client.HTTPConnection):
    """HTTP to ``host`` over a TCP connection to one of ``addresses`` (already checked); the
    ``Host`` header names ``host``."""

    def __init__(self, host, port, addresses, timeout):
        super().__init__(host, port, timeout=timeout)
        self.addresses = addresses

    def connect(self):
        self.sock = open_tcp(self.addresses, self.port, self.timeout)


class PinnedHTTPSConnection(http.client.HTTPSConnection):
    """HTTPS to ``host`` over a TCP connection to one of ``addresses`` (already checked). TLS
    sends ``host`` as SNI and checks the certificate against it (``context`` must check host
    names); the ``Host`` header names ``host``."""

    def __init__(self, host, port, addresses, timeout, context):
        super().__init__(host, port, timeout=timeout, context=context)
        self.addresses = addresses
        self.tls = context

    def connect(self):
        sock = open_tcp(self.addresses, self.port, self.timeout)
        try:
            self.sock = self.tls.wrap_socket(sock, server_hostname=self.host)
        except BaseException:
            sock.close()
            raise
