"""Where a page's time goes under load: py-spy samples the gunicorn workers while wrk runs.

    .venv/bin/python -m bench.profile [demo|national] [PATH] [SECONDS]

Needs the databases ``make bench`` prepared, ``wrk`` and ``py-spy`` (requirements-dev.txt; it
reads other processes' memory, so run as root or with ptrace allowed). Starts the shop as
``make bench`` does (gunicorn.conf.py, production settings, Redis), loads PATH with wrk, samples
every worker for SECONDS and prints the share of CPU samples per library (own time) and of the
request's steps (inclusive), and writes the raw stacks to ``bench/results/profile-*.txt``.
"""
import collections
import re
import subprocess
import sys
import threading
import time
from pathlib import Path

from bench.run import BIN, CONNECTIONS, PG, RESULTS, Server, get

#: Libraries by the path of their frames ("own" time is charged to the innermost frame's).
LIBRARIES = [
    ("gunicorn (HTTP parsing, sockets, worker loop)", "gunicorn/"),
    ("access log (gunicorn's and ours)", "logging/"),
    ("SQLAlchemy", "sqlalchemy/"), ("psycopg (PostgreSQL driver)", "psycopg"),
    ("redis client", "redis/"), ("cachelib / Flask-Caching", "cachelib/"), ("", "flask_caching/"),
    ("Flask-Limiter / limits", "flask_limiter/"), ("", "limits/"),
    ("Flask-Login", "flask_login/"), ("Flask-Babel / Babel", "flask_babel/"), ("", "babel/"),
    ("Flask-WTF", "flask_wtf/"), ("Jinja", "jinja2/"), ("itsdangerous", "itsdangerous/"),
    ("Werkzeug", "werkzeug/"), ("Flask", "flask/"), ("the shop (storefront/)", "storefront/"),
]
#: What no library above claims: the standard library (threads, selectors, sockets, pickle).
OTHER = "standard library (threads, selectors, sockets, pickle)"
#: Steps of a request (inclusive time: the frame anywhere on the stack), as py-spy names frames.
STEPS = [
    ("whole request in Flask (Flask.wsgi_app)", r"Flask\.wsgi_app \("),
    ("  before-request hooks (limits, timeouts, input checks)", r"Flask\.preprocess_request \("),
    ("  the view", r"Flask\.dispatch_request \("),
    ("    catalogue version query (pool checkout and ping, SQLAlchemy, psycopg)",
     r"catalogue_version \(storefront/catalog/caching\.py"),
    ("    shared cache read (Redis)", r"_shared_get \(storefront/catalog/caching\.py"),
    ("    template rendering (on a miss)", r"render_template \(flask/templating\.py"),
    ("  after-request hooks and session save", r"Flask\.process_response \("),
    ("  request context (session open, URL matching, app context, teardown)",
     r"RequestContext\.(__init__|push|pop) \("),
    ("gunicorn's access log line", r"Logger\.access \(gunicorn/glogging\.py"),
]


def _library_label(frame):
    last = ""
    for name, marker in LIBRARIES:
        last = name or last
        if marker in frame:
            return last
    return OTHER


def summarise_stacks(raw_path):
    own = collections.Counter()
    steps = collections.Counter()
    total = 0
    for line in raw_path.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        if not count.isdigit():
            continue
        n = int(count)
        total += n
        frames = stack.split(";")
        own[_library_label(frames[-1])] += n
        joined = ";".join(frames)
        for name, pattern in STEPS:
            if re.search(pattern, joined):
                steps[name] += n
    return total, own, steps


def report(raw, title):
    total, own, steps = summarise_stacks(raw)
    print(f"### Profile: {title}, {total} samples of the gunicorn workers holding the GIL "
          "(py-spy --gil, 250 Hz: Python CPU time)\n")
    print("| own time in | share |\n|---|---|")
    for name, n in own.most_common():
        print(f"| {name} | {n / total:.0%} |")
    print("\n| step of the request (inclusive) | share |\n|---|---|")
    for name, _ in STEPS:
        print(f"| {name.strip()} | {steps[name] / total:.0%} |")


def main():
    if len(sys.argv) > 1 and sys.argv[1].endswith(".txt"):  # summarise a raw file again
        return report(Path(sys.argv[1]), sys.argv[1])
    scale = sys.argv[1] if len(sys.argv) > 1 else "national"
    path = sys.argv[2] if len(sys.argv) > 2 else "/produk"
    seconds = int(sys.argv[3]) if len(sys.argv) > 3 else 10
    url = f"{PG}/bench_{scale}"
    port = 8197
    slug = re.sub(r"[^a-z0-9]+", "-", path.lower()).strip("-") or "home"
    raw = RESULTS / f"profile-{scale}-{slug}.txt"
    with Server("wsgi:app", port, url) as server:
        get(port, path)
        load = threading.Thread(target=subprocess.run, args=(
            ["wrk", "-t2", f"-c{CONNECTIONS}", f"-d{seconds + 4}s", f"http://127.0.0.1:{port}{path}"],),
            kwargs={"capture_output": True})
        load.start()
        time.sleep(2)
        subprocess.run([str(BIN / "py-spy"), "record", "--pid", str(server.proc.pid), "--subprocesses", "--nonblocking", "--gil",
                        "--duration", str(seconds), "--rate", "250", "--format", "raw", "--output", str(raw)],
                       check=True, capture_output=True)
        load.join()
    report(raw, f"{path} on {scale} data, {seconds} s under wrk -c{CONNECTIONS}")
    print(f"\nraw stacks: {raw.relative_to(RESULTS.parent.parent)}")


if __name__ == "__main__":
    main()
