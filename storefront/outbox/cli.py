"""``flask outbox ...``: run the delivery worker, see what waits."""
from datetime import timedelta

import click
from flask.cli import AppGroup
from sqlalchemy import func, select

from ..extensions import db
from .models import OutboxMessage
from .worker import LEASE, POLL_SECONDS, Worker, deliver_due, housekeeping

outbox_cli = AppGroup("outbox", help="Deliver village webhooks and queued e-mails.")


@outbox_cli.command("work")
@click.option("--once", is_flag=True, help="Deliver what is due now, then exit (tests, cron).")
@click.option("--poll", type=click.FloatRange(min=0.05), default=POLL_SECONDS, show_default=True,
              help="Seconds to wait when nothing is due.")
@click.option("--lease", type=click.IntRange(min=1), default=int(LEASE.total_seconds()), show_default=True,
              help="Seconds a claimed message is held before another worker may retry it.")
def work_command(once, poll, lease):
    """Deliver the outbox: runs until SIGTERM/SIGINT (the message in hand is finished first).

    Also ends unpaid orders whose time ran out and flags overdue parcels, once a minute."""
    if once:
        housekeeping()
        done = deliver_due(lease=timedelta(seconds=lease))
        click.echo("outbox: " + (", ".join(f"{n} {s}" for s, n in sorted(done.items())) or "nothing due"))
        return
    worker = Worker(poll=poll, lease=timedelta(seconds=lease), echo=click.echo)
    worker.install_signal_handlers()
    worker.run()


@outbox_cli.command("status")
def status_command():
    """How many messages are pending, delivered and failed."""
    counts = dict(db.session.execute(
        select(OutboxMessage.status, func.count()).group_by(OutboxMessage.status)).all())
    for status in ("pending", "delivered", "failed"):
        click.echo(f"{status}: {counts.get(status, 0)}")
