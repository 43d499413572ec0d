"""Work started at the same moment in real threads, each with its own app context, session and
unit of work: how the tests race two people (or a person and a webhook) against each other."""
import threading

from storefront.extensions import db
from storefront.unit_of_work import unit_of_work


def in_threads(app, works):
    """Run each callable in its own thread, all released at once; returns what each raised
    (None where it succeeded)."""
    barrier = threading.Barrier(len(works))
    outcomes = [None] * len(works)

    def run(index, work):
        with app.app_context():
            barrier.wait(timeout=30)
            try:
                with unit_of_work():
                    work()
            except Exception as exc:  # noqa: BLE001 - the outcome is what the test checks
                outcomes[index] = exc
            finally:
                db.session.remove()

    threads = [threading.Thread(target=run, args=(i, work)) for i, work in enumerate(works)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    return outcomes
