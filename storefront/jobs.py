"""What the outbox worker does once a minute besides delivering, so that no cron is needed: an
explicit list (a job renamed or removed breaks an import here, never silently at run time)."""
from .legality.held_scans import expire_held_scans
from .orders.deadlines import flag_overdue_parcels
from .orders.fulfilment import deliver_unconfirmed_parcels
from .orders.reminders import remind_unpaid_orders
from .orders.services import expire_unpaid_orders
from .partners.sync import announce_catalogue_changes

#: Each runs in a unit of work of its own (``outbox.worker.housekeeping``).
HOUSEKEEPING = (remind_unpaid_orders, expire_unpaid_orders, flag_overdue_parcels,
                deliver_unconfirmed_parcels, expire_held_scans,
                # Partners hear within a minute what left, joined or changed in the catalogue,
                # also what a date alone changed (a paper that expired at midnight WITA).
                announce_catalogue_changes)
