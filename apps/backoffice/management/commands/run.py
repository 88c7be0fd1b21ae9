"""The demo in one command: migrate, seed on first run, then the embedded Redis, an SMTP sink,
an RQ worker on every stage's queue and the web server, until Ctrl-C."""

import os
import signal
import socket
import subprocess
import sys
import time

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand

from apps.backoffice.demo import DEMO_PASSWORD, DEMO_USERS
from apps.core.cli import port_argument, text_argument
from apps.core.embedded_redis import ensure_embedded_redis, stop_embedded_redis
from apps.core.models import Client


def served_url(host: str, port: int) -> str:
    """The address this demo answers on, for links in e-mails. A wildcard host answers on
    loopback too, which is the one address certain to reach it."""
    if host in ("0.0.0.0", "::", ""):
        host = "127.0.0.1"
    if ":" in host and not host.startswith("["):
        host = f"[{host}]"  # an IPv6 literal in a URL
    return f"http://{host}:{port}"


def _port_free(host: str, port: int) -> bool:
    with socket.socket() as probe:
        return probe.connect_ex((host, port)) != 0


class Command(BaseCommand):
    help = "Run the whole product locally: Redis, SMTP sink, worker and web server."
    requires_system_checks = []  # `check` runs below, after migrate, with its output shown

    def add_arguments(self, parser):
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=8000)

    def handle(self, *args, host, port, **options):
        text_argument(host, "--host")
        port_argument(port)
        call_command("check")
        call_command("migrate", verbosity=0)
        if not Client.objects.exists():
            self.stdout.write("First run: seeding the demo.")
            call_command("seed_demo", stdout=self.stdout)
        ensure_embedded_redis()
        children = self._start_children(host, port)
        url = f"http://{host}:{port}/"
        self._announce(url)
        stopping = []
        signal.signal(signal.SIGTERM, lambda *_: stopping.append(True))
        try:
            while not stopping:
                for name, child in children.items():
                    if child.poll() is not None:
                        self.stderr.write(f"{name} exited with {child.returncode}; stopping.")
                        stopping.append(True)
                time.sleep(0.5)
        except KeyboardInterrupt:
            pass
        finally:
            for child in children.values():
                if child.poll() is None:
                    child.terminate()
            for child in children.values():
                try:
                    child.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    child.kill()
            stop_embedded_redis()
            self.stdout.write("Stopped.")

    def _start_children(self, host: str, port: int) -> dict[str, subprocess.Popen]:
        manage = [sys.executable, str(settings.BASE_DIR / "manage.py")]
        # A demo approval waits a minute (the recall window) instead of production's five.
        os.environ.setdefault("REVIEW_GRACE_SECONDS", "60")
        # Links in e-mails (unsubscribe, portal notifications, SLA notices) point where this
        # demo is served, unless SITE_URL names another address.
        os.environ.setdefault("SITE_URL", served_url(host, port))
        children = {}
        local_mail = settings.EMAIL_HOST in ("127.0.0.1", "localhost")
        if local_mail and _port_free(settings.EMAIL_HOST, settings.EMAIL_PORT):
            children["smtp sink"] = subprocess.Popen(
                manage
                + ["smtp_sink", "--host", settings.EMAIL_HOST, "--port", str(settings.EMAIL_PORT)]
            )
        children["worker"] = subprocess.Popen(manage + ["worker"])
        # The periodic jobs: the sweeper (nothing lost), SLA alerts, client notifications.
        children["scheduler"] = subprocess.Popen(manage + ["rqcron", "config.cron"])
        children["web"] = subprocess.Popen(
            manage + ["runserver", f"{host}:{port}", "--noreload", "--skip-checks"]
        )
        return children

    def _announce(self, url: str) -> None:
        lines = [
            "",
            f"Outbound review is running at {url}",
            f"  reviewers and operators: {url}admin/   clients: {url}portal/   "
            f"health: {url}healthz",
            f"  logins (password {DEMO_PASSWORD}): "
            + ", ".join(f"{name} ({role})" for name, role, _ in DEMO_USERS),
            f"  mail 'sent' lands in the SMTP sink: {settings.VAR_DIR / 'mail'}",
            f"  links in e-mails point to {os.environ['SITE_URL']} (SITE_URL)",
            f"  approved batches wait {os.environ['REVIEW_GRACE_SECONDS']} s before sending "
            "(the window in which they can be recalled)",
            "  Ctrl-C stops everything.",
            "",
        ]
        self.stdout.write("\n".join(lines))
        self.stdout.flush()
