"""Production settings (DEBUG off) pass `manage.py check --deploy`, and gunicorn serves the
portal's stylesheet and the API docs' Swagger UI from our own host through WhiteNoise, after
collectstatic, as docs/operations.md deploys it."""

import os
import re
import secrets
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection

pytestmark = pytest.mark.django_db
ROOT = Path(__file__).resolve().parents[2]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def production_env(tmp_path) -> dict[str, str]:
    db = connection.settings_dict
    env = {k: v for k, v in os.environ.items() if not k.startswith("DJANGO_")}
    env.update(
        DEBUG="false", SECRET_KEY=secrets.token_urlsafe(50), ALLOWED_HOSTS="outbound.example",
        DATABASE_URL=f"postgres://{db['USER']}@{db['HOST']}:{db['PORT']}/{db['NAME']}",
        REDIS_URL=settings.REDIS_URL, VAR_DIR=str(tmp_path),
    )
    return env


def _manage(env, *args) -> str:
    done = subprocess.run([sys.executable, "manage.py", *args], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout + done.stderr


def _get(port: int, path: str) -> tuple[bytes, dict]:
    request = urllib.request.Request(f"http://127.0.0.1:{port}{path}", headers={
        "Host": "outbound.example", "X-Forwarded-Proto": "https",  # as the TLS proxy says
    })
    with urllib.request.urlopen(request, timeout=10) as response:
        return response.read(), response.headers


def test_production_passes_check_deploy_and_serves_its_static_files(production_env):
    assert "no issues" in _manage(production_env, "check", "--deploy", "--fail-level", "WARNING")
    _manage(production_env, "collectstatic", "--noinput")
    gunicorn = Path(sys.executable).with_name("gunicorn")
    port = _free_port()
    server = subprocess.Popen(
        [str(gunicorn), "config.wsgi", "--bind", f"127.0.0.1:{port}", "--workers", "1"],
        cwd=ROOT, env=production_env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                login, _ = _get(port, "/accounts/login/")
                break
            except OSError:
                assert server.poll() is None, server.stdout.read().decode()
                assert time.monotonic() < deadline, "gunicorn did not answer within 60 s"
                time.sleep(0.3)
        # The stylesheet under its hashed name (WhiteNoise's manifest storage), cached for ever.
        [css_url] = re.findall(rb'href="(/static/portal/portal\.[0-9a-f]{12}\.css)"', login)
        css, headers = _get(port, css_url.decode())
        assert b"--accent" in css and headers["Content-Type"].startswith("text/css")
        assert "immutable" in headers["Cache-Control"]
        docs, _ = _get(port, "/api/v1/docs")
        scripts = re.findall(rb'src="(/static/ninja/[^"]+\.js)"', docs)
        assert len(scripts) == 2
        for script in scripts:
            body, _ = _get(port, script.decode())
            assert len(body) > 1000
    finally:
        server.terminate()
        server.wait(timeout=30)
