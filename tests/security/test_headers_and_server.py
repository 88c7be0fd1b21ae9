"""Issue 13: a Content-Security-Policy without inline scripts on the admin, the portal and the
API docs (and no page relies on one), and gunicorn, the production extra's WSGI server, serves
the app as the production commands in docs/operations.md start it."""

import os
import re
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from django.db import connection

pytestmark = pytest.mark.django_db
ROOT = Path(__file__).resolve().parents[2]
# A script element with code in it; a JSON data block (type="application/json") is not run.
INLINE_SCRIPT = re.compile(r"<script(?![^>]*\b(?:src=|type=\"application/json\"))[^>]*>\s*\S", re.I)


@pytest.mark.parametrize("url", ["/accounts/login/", "/admin/login/", "/api/v1/docs",
                                 "/admin/", "/portal/", "/admin/core/batch/queue/"])
def test_every_page_has_a_csp_and_no_inline_script(client, root_user, url):
    client.force_login(root_user)
    response = client.get(url, follow=True)
    policy = response["Content-Security-Policy"]
    directives = dict(d.strip().split(" ", 1) for d in policy.split(";") if d.strip())
    assert directives["script-src"] == "'self'"
    assert directives["frame-ancestors"] == "'none'" and directives["object-src"] == "'none'"
    html = response.content.decode()
    assert not INLINE_SCRIPT.search(html), INLINE_SCRIPT.search(html).group(0)


@pytest.fixture
def root_user(seeded, carl):
    from django.contrib.auth.models import User

    return User.objects.create_superuser("root", "root@outbound.test", "pw")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_gunicorn_serves_the_login_page(settings):
    gunicorn = Path(sys.executable).with_name("gunicorn")
    assert gunicorn.exists(), "the production extra (gunicorn) is not installed"
    port = _free_port()
    db = connection.settings_dict
    env = {**os.environ, "DATABASE_URL": f"postgres://{db['USER']}@{db['HOST']}:{db['PORT']}/{db['NAME']}"}
    server = subprocess.Popen(
        [str(gunicorn), "config.wsgi", "--bind", f"127.0.0.1:{port}", "--workers", "1"],
        cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
    )
    try:
        body, deadline = b"", time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(
                    f"http://127.0.0.1:{port}/accounts/login/", timeout=5
                ) as r:
                    body, headers = r.read(), r.headers
                    break
            except OSError:
                assert server.poll() is None, server.stdout.read().decode()
                time.sleep(0.3)
        assert b"Log in" in body
        assert "script-src 'self'" in headers["Content-Security-Policy"]
    finally:
        server.terminate()
        server.wait(timeout=30)
