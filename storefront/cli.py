"""Command-line verbs: ``flask catalog ...`` and ``flask user ...``."""
import json
import sys

import click
from flask import current_app
from flask.cli import AppGroup
from sqlalchemy import select

from .extensions import db
from .unit_of_work import unit_of_work

catalog_cli = AppGroup("catalog", help="Import and demo catalogue.")
user_cli = AppGroup("user", help="Accounts for villages, verifiers and admins.")
legality_cli = AppGroup("legality", help="Legality papers: reminders and notices.")
orders_cli = AppGroup("orders", help="Orders: release the stock of unpaid orders, flag parcels not accepted in time.")


@orders_cli.command("expire")
def expire_command():
    """End unpaid orders whose payment time ran out and return their stock (run every few minutes)."""
    from .orders.services import expire_unpaid_orders

    with unit_of_work():
        numbers = expire_unpaid_orders()
    click.echo(f"expired {len(numbers)} order(s)" + (": " + ", ".join(numbers) if numbers else ""))


#: Length of the columns that keep a verifier's name (``verified_by_name``, ``actor_name``).
ACTOR_NAME_MAX = 160


@orders_cli.command("overdue")
def overdue_command():
    """Flag paid parcels a village has not accepted within ACK_DEADLINE_HOURS; tell their buyers."""
    from .orders.deadlines import flag_overdue_parcels

    with unit_of_work():
        flagged = flag_overdue_parcels()
    for number, village in flagged:
        click.echo(f"overdue: {number} ({village})")


def _office_actor(verifier_email):
    """How the import is signed in the audit trail and on public pages."""
    office = current_app.config["OFFICE_NAME"]
    if not verifier_email:
        return f"{office} (impor katalog)"[:ACTOR_NAME_MAX]
    from .accounts.models import User

    user = db.session.scalars(
        select(User).where(User.email == verifier_email.strip().lower())).one_or_none()
    if user is None or not user.active or user.role not in ("verifier", "admin"):
        raise click.UsageError(f"{verifier_email} is not an active verifier or admin account")
    return f"{user.name}, {office}"[:ACTOR_NAME_MAX]


@catalog_cli.command("import")
@click.argument("file", type=click.File("r", encoding="utf-8"))
@click.option("--dry-run", is_flag=True, help="Validate and report; write nothing.")
@click.option("--verifier", metavar="EMAIL", help="Office account recorded as verifier.")
def import_command(file, dry_run, verifier):
    """Create or update villages, products and certificates from a JSON FILE (all or nothing)."""
    from .onboarding.importer import run_import

    try:
        document = json.load(file)
    except json.JSONDecodeError as exc:
        raise click.ClickException(f"{file.name} is not valid JSON: {exc}") from exc
    report = run_import(document, dry_run=dry_run, actor_name=_office_actor(verifier))
    for line in report.lines():
        click.echo(line)
    if not report.ok:
        sys.exit(1)


@catalog_cli.command("demo")
@click.option("--force", is_flag=True, help="Load even if the database already has villages.")
def demo_command(force):
    """Load the demo catalogue of NTT villages once (skipped when villages exist)."""
    from .onboarding.demo import load_demo

    with unit_of_work():
        lines = load_demo(force=force)
    for line in lines:
        click.echo(line)


@catalog_cli.command("generate")
@click.option("--villages", default=3000, show_default=True, type=click.IntRange(1))
@click.option("--products", default=100000, show_default=True, type=click.IntRange(0))
@click.option("--orders", default=1000000, show_default=True, type=click.IntRange(0),
              help="Order lines to write (spread over orders of one to three parcels).")
@click.option("--seed", default=7, show_default=True, help="Random seed: same seed, same data.")
@click.option("--force", is_flag=True, help="Add generated data even where real villages exist.")
def generate_command(villages, products, orders, seed, force):
    """Bulk-load a synthetic catalogue (benchmarks): villages, products, papers, past orders."""
    import time

    from .benchdata.generate import GenerateRefused, generate_catalog

    started = time.monotonic()
    try:
        with unit_of_work():
            counts = generate_catalog(villages, products, orders, seed=seed, force=force)
    except GenerateRefused as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(f"generated {counts.villages} villages, {counts.products} products, "
               f"{counts.certificates} certificates, {counts.orders} orders, "
               f"{counts.village_orders} parcels, {counts.order_lines} order lines "
               f"in {time.monotonic() - started:.1f} s")


@user_cli.command("create")
@click.option("--email", required=True)
@click.option("--name", required=True)
@click.option("--role", type=click.Choice(["customer", "village_member", "verifier", "admin"]),
              default="customer", show_default=True)
@click.option("--village", "village_slug", help="Village slug (village members only).")
@click.password_option(help="At least 12 characters; prompted when left out.")
def create_user_command(email, name, role, village_slug, password):
    """Create an account."""
    from .accounts.services import AccountError, create_user
    from .contact import ContactError
    from .villages.models import Village

    village_id = None
    if village_slug:
        village = db.session.scalars(select(Village).where(Village.slug == village_slug)).one_or_none()
        if village is None:
            raise click.UsageError(f"unknown village {village_slug!r}")
        village_id = village.id
    try:
        with unit_of_work():
            user = create_user(email=email, name=name, password=password, role=role, village_id=village_id)
    except (AccountError, ContactError) as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(f"Created {user.role} {user.email}.")


@legality_cli.command("remind")
def remind_command():
    """E-mail villages about papers expiring in 60, 30 and 7 days (once each), and the office
    about products that became hidden. Meant for a daily timer."""
    from .clock import today_wita
    from .legality.reminders import send_expiry_reminders
    from .listing.notices import notify_hidden_products

    today = today_wita()
    with unit_of_work():
        lines = send_expiry_reminders(today) + notify_hidden_products(today)
    for line in lines or ["nothing to send"]:
        click.echo(line)


def init_app(app):
    app.cli.add_command(catalog_cli)
    app.cli.add_command(user_cli)
    app.cli.add_command(legality_cli)
    app.cli.add_command(orders_cli)

    from .outbox.cli import outbox_cli

    app.cli.add_command(outbox_cli)
    from .backup.cli import backup_command, restore_command

    app.cli.add_command(backup_command)
    app.cli.add_command(restore_command)
