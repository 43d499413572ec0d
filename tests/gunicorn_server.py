"""The shop under a real gunicorn on loopback, for tests that need real processes and HTTP."""
import os
import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path

import pytest
import requests

ROOT = Path(__file__).resolve().parent.parent


@contextmanager
def gunicorn(env, port, log_path, tries=150):
    """Start ``gunicorn wsgi:app`` with ``env`` (over this process's environment, mail off) on
    ``port``; yields the process once ``/healthz`` answers, with its ``url``; stops it after."""
    env = {**os.environ, "PORT": str(port), "PUBLIC_URL": f"http://127.0.0.1:{port}",
           "ALLOW_PER_PROCESS_LIMITS": "1", **env}
    env.pop("MAIL_SERVER", None)
    with open(log_path, "w") as log:
        server = subprocess.Popen([sys.executable, "-m", "gunicorn", "wsgi:app"], cwd=ROOT, env=env,
                                  stdout=log, stderr=subprocess.STDOUT)
        server.url = f"http://127.0.0.1:{port}"
        for _ in range(tries):
            if server.poll() is not None:
                pytest.fail("gunicorn stopped: " + Path(log_path).read_text()[-2000:])
            try:
                if requests.get(server.url + "/healthz", timeout=1).status_code == 200:
                    break
            except requests.RequestException:
                pass
            time.sleep(0.1)
        else:
            server.kill()
            pytest.fail("gunicorn did not start: " + Path(log_path).read_text()[-2000:])
        try:
            yield server
        finally:
            server.terminate()
            try:
                server.wait(20)
            except subprocess.TimeoutExpired:
                server.kill()
