"""Local HTTP servers on a thread (the fake Stripe, village receivers, the app on a socket)."""
import threading
from contextlib import contextmanager

from werkzeug.serving import make_server

#: How often ``serve_forever`` looks for ``shutdown()``; the default half second made every
#: test with a server wait that long at its end.
POLL_SECONDS = 0.01


def serve_in_thread(server, name=None):
    """Start ``server.serve_forever`` on a daemon thread and return the thread."""
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": POLL_SECONDS},
                              name=name, daemon=True)
    thread.start()
    return thread


@contextmanager
def app_on_socket(app, name=None, join_seconds=60):
    """``app`` served by a threaded Werkzeug server on a free loopback port, for requests that
    must really arrive at the same moment; yields its base URL and stops it after."""
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = serve_in_thread(server, name=name)
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join(join_seconds)
        server.server_close()
