"""Issue an API token for a client and print it (it is shown this once)."""

from django.core.management.base import BaseCommand

from apps.core.cli import client_argument, text_argument
from apps.portal.models import ApiToken
from apps.portal.services import token_issue


class Command(BaseCommand):
    help = "Issue an API token for CLIENT (its name or id) and print it once."

    def add_arguments(self, parser):
        parser.add_argument("client", help="the client's name or id")
        parser.add_argument("--label", default="created from the command line")

    def handle(self, *args, client, label, **options):
        found = client_argument(client)
        text_argument(label, "--label", max_length=ApiToken._meta.get_field("label").max_length)
        token, raw = token_issue(client=found, label=label, actor=None)
        self.stdout.write(raw)
        self.stderr.write(
            f"Token {token.prefix}… for {found.name}: store it now, it is not shown again."
        )
