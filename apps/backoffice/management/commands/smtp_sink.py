"""A local SMTP server that keeps what it receives: the demo's stand-in for the outside world.

Each message is written to var/mail/ as an .eml file and announced on stdout, so a person
running the demo sees exactly what would have left.
"""

import logging
import time
from email import message_from_bytes
from pathlib import Path

from aiosmtpd.controller import Controller
from django.conf import settings
from django.core.management.base import BaseCommand

from apps.core.cli import port_argument, text_argument


class MailDirHandler:
    def __init__(self, directory: Path, stdout):
        self.directory = directory
        self.stdout = stdout
        self.received = 0

    async def handle_DATA(self, server, session, envelope):
        self.received += 1
        message = message_from_bytes(envelope.original_content or envelope.content)
        name = f"{time.time_ns()}-{self.received}.eml"
        (self.directory / name).write_bytes(envelope.original_content or envelope.content)
        self.stdout.write(
            f"[smtp sink] {message.get('Message-ID')} to {', '.join(envelope.rcpt_tos)}: "
            f"{message.get('Subject')}"
        )
        self.stdout.flush()
        return "250 Message accepted for delivery"


class Command(BaseCommand):
    help = "Run a local SMTP server that stores received messages under var/mail/."

    def add_arguments(self, parser):
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=settings.EMAIL_PORT)

    def handle(self, *args, host, port, **options):
        text_argument(host, "--host")
        port_argument(port)
        directory = settings.VAR_DIR / "mail"
        directory.mkdir(parents=True, exist_ok=True)
        logging.getLogger("mail.log").setLevel(logging.WARNING)  # aiosmtpd's per-connection chatter
        handler = MailDirHandler(directory, self.stdout)
        controller = Controller(handler, hostname=host, port=port)
        controller.start()
        self.stdout.write(f"SMTP sink on {host}:{port}, storing messages in {directory}")
        self.stdout.flush()
        try:
            while True:
                time.sleep(3600)
        except KeyboardInterrupt:
            pass
        finally:
            controller.stop()
