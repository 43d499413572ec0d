"""In-process figures: SQL statements and server time per page, through the Flask test client.

Run by ``bench/run.py`` with ``DATABASE_URL`` set; prints one JSON object. The page cache is off
here, so the figures are the cost of really rendering a page (what a cache miss costs).
"""
import json
import statistics
import sys
import time

from sqlalchemy import event

from storefront import create_app
from storefront.extensions import db


def measure(paths, runs):
    app = create_app({"PAGE_CACHE": False, "SERVER_NAME": None})
    result = {}
    with app.app_context():
        engine = db.engine
    counter = {"n": 0}

    def count(*_args):
        counter["n"] += 1

    event.listen(engine, "before_cursor_execute", count)
    client = app.test_client()
    for name, path in paths.items():
        for _ in range(2):  # warm up
            client.get(path)
        times, queries = [], []
        for _ in range(runs):
            counter["n"] = 0
            start = time.perf_counter()
            response = client.get(path)
            times.append((time.perf_counter() - start) * 1000)
            queries.append(counter["n"])
            if response.status_code != 200:
                raise SystemExit(f"{path} answered {response.status_code}")
        result[name] = {"ms": statistics.median(times), "queries": max(queries),
                        "queries_min": min(queries)}
    return result


if __name__ == "__main__":
    paths = json.loads(sys.argv[1])
    runs = int(sys.argv[2]) if len(sys.argv) > 2 else 15
    print(json.dumps(measure(paths, runs)))
