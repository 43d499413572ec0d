"""A real SMTP server on loopback for the tests that send mail.

The project standards want mail tested against a real server rather than a mocked sender, so
these tests run aiosmtpd on 127.0.0.1; the ``smtp`` fixture in conftest.py starts one per test.
"""
import email
import socket
from email import policy


class Mailbox:
    """An aiosmtpd handler keeping every message it is given.

    Addresses put in ``refuse`` are answered with "550", as a server does for an unknown mailbox.
    """

    def __init__(self):
        self.envelopes = []
        self.refuse = set()  # lowercase addresses answered with "550"

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address.lower() in self.refuse:
            return "550 5.1.1 Mailbox unavailable"
        envelope.rcpt_tos.append(address)
        envelope.rcpt_options.extend(rcpt_options)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        self.envelopes.append(envelope)
        return "250 Message accepted for delivery"

    @property
    def messages(self):
        """Every message so far: recipients (sorted, lowercase), subject, Message-ID, plain body."""
        out = []
        for envelope in list(self.envelopes):  # the server thread may append meanwhile
            message = email.message_from_bytes(envelope.content, policy=policy.default)
            out.append({"to": sorted(a.lower() for a in envelope.rcpt_tos),
                        "subject": str(message["Subject"]),
                        "message_id": str(message["Message-ID"]),
                        "body": message.get_body(preferencelist=("plain",)).get_content()})
        return out

    def to(self, address):
        """The messages sent to ``address`` (in any case)."""
        return [m for m in self.messages if address.lower() in m["to"]]


def free_port():
    """A loopback port nothing listens on right now: for a server to start, or to find nobody."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]
