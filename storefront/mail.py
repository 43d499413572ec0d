"""Outgoing e-mail over SMTP; without SMTP settings, mail goes to the log, clearly marked."""
import smtplib
from email.message import EmailMessage
from email.utils import formatdate, make_msgid

from flask import current_app


def send_mail(to, subject, body, message_id=None, html=None):
    """Send a message (plain text, and ``html`` as an alternative part when given) to the
    addresses in ``to``; True if handed to an SMTP server. Only the outbox worker calls this:
    everything else queues its mail (``outbox.queue.enqueue_mail``).

    ``message_id``: a fixed Message-ID, so a message sent again after a crash is one message
    to mail programs that de-duplicate."""
    cfg = current_app.config
    recipients = [address for address in to if address]
    if not recipients:
        return False
    message = EmailMessage()
    message["From"] = cfg["MAIL_FROM"]
    message["To"] = ", ".join(recipients)
    message["Subject"] = subject
    message["Date"] = formatdate(localtime=False)
    domain = cfg["MAIL_FROM"].rpartition("@")[2].strip(">") or "localhost"
    message["Message-ID"] = f"<{message_id}@{domain}>" if message_id else make_msgid(domain=domain)
    message.set_content(body)
    if html:
        message.add_alternative(html, subtype="html")
    if not cfg.get("MAIL_SERVER"):
        current_app.logger.warning(
            "=== MAIL NOT SENT (MAIL_SERVER is not set); it would have been: ===\n%s\n"
            "=== END OF UNSENT MAIL ===", message.as_string())
        return False
    with smtplib.SMTP(cfg["MAIL_SERVER"], cfg["MAIL_PORT"], timeout=cfg["MAIL_TIMEOUT"]) as smtp:
        if cfg["MAIL_STARTTLS"]:
            smtp.starttls()
        if cfg.get("MAIL_USERNAME"):
            smtp.login(cfg["MAIL_USERNAME"], cfg.get("MAIL_PASSWORD") or "")
        smtp.send_message(message)
    return True
