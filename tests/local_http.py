"""Local HTTP servers on a thread (the fake Stripe, village receivers, the app on a socket)."""
import threading

#: How often ``serve_forever`` looks for ``shutdown()``; the default half second made every
#: test with a server wait that long at its end.
POLL_SECONDS = 0.01


def serve_in_thread(server, name=None):
    """Start ``server.serve_forever`` on a daemon thread and return the thread."""
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": POLL_SECONDS},
                              name=name, daemon=True)
    thread.start()
    return thread
