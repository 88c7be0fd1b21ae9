"""Links in e-mails point where the demo is served: `./run --port N` gives links on port N.

The demo is started as a newcomer starts it (`manage.py run`, the embedded SQLite and Redis in
a folder of its own); a reviewer rejects Acme's batch, and the e-mail the demo's worker sends
carl, caught by the demo's own SMTP sink, links to the batch on that port."""

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from apps.backoffice.management.commands.run import served_url

ROOT = Path(__file__).resolve().parents[2]
REJECT_THE_DEMO_BATCH = """
import time
from django.contrib.auth.models import User
from apps.core.models import Batch
from apps.review.services import batch_reject
for _ in range(240):
    batch = Batch.objects.filter(client__name="Acme Outreach", status="in_review").first()
    if batch:
        break
    time.sleep(0.5)
batch_reject(batch_id=batch.pk, actor=User.objects.get(username="rita"), reason="not this week")
print("rejected", batch.pk)
"""


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def demo(tmp_path):
    """`manage.py run --port <free port>` on the embedded default, stopped as Ctrl-C stops it."""
    port, smtp_port = _free_port(), _free_port()
    env = {k: v for k, v in os.environ.items()
           if k not in ("DATABASE_URL", "REDIS_URL", "SITE_URL") and not k.startswith("DJANGO_")}
    env.update(
        VAR_DIR=str(tmp_path), EMAIL_PORT=str(smtp_port), CLIENT_NOTIFY_INTERVAL_SECONDS="10"
    )
    log = (tmp_path / "run.log").open("w")
    process = subprocess.Popen([sys.executable, "manage.py", "run", "--port", str(port)],
                               cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        yield {"port": port, "env": env, "var": tmp_path, "log": tmp_path / "run.log"}
    finally:
        process.send_signal(signal.SIGTERM)  # the command stops its children and Redis
        try:
            process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            process.kill()
        log.close()


def _wait_for(condition, ceiling: float, what: str):
    deadline = time.monotonic() + ceiling
    while time.monotonic() < deadline:
        found = condition()
        if found:
            return found
        time.sleep(0.5)
    raise AssertionError(f"no {what} within {ceiling} s")


def test_demo_on_port_8123_style_links_to_its_own_port(demo):
    port = demo["port"]
    _wait_for(lambda: "Outbound review is running" in demo["log"].read_text(), 180, "demo")
    assert f"links in e-mails point to http://127.0.0.1:{port} " in demo["log"].read_text()
    rejected = subprocess.run(
        [sys.executable, "manage.py", "shell", "-c", REJECT_THE_DEMO_BATCH], cwd=ROOT,
        env=demo["env"], capture_output=True, text=True, timeout=180,
    )
    assert rejected.returncode == 0, rejected.stderr
    batch_id = int(rejected.stdout.split()[-1])

    def carls_mail():
        for path in (demo["var"] / "mail").glob("*"):
            raw = path.read_bytes()
            if b"To: carl@outbound.localhost" in raw and b"rejected" in raw:
                return raw
        return None

    mail = _wait_for(carls_mail, 120, "notification to carl")
    assert f"http://127.0.0.1:{port}/portal/batches/{batch_id}/".encode() in mail
    assert b":8000/" not in mail


@pytest.mark.parametrize(("host", "url"), [
    ("127.0.0.1", "http://127.0.0.1:8123"),
    ("localhost", "http://localhost:8123"),
    ("0.0.0.0", "http://127.0.0.1:8123"),  # a wildcard answers on loopback too
    ("::1", "http://[::1]:8123"),
])
def test_the_served_url_is_a_valid_base_for_links(host, url):
    assert served_url(host, 8123) == url
