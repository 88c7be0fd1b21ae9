"""Issue an API token for a client and print it (it is shown this once)."""

from django.core.management.base import BaseCommand, CommandError

from apps.core.models import Client
from apps.portal.services import token_issue


class Command(BaseCommand):
    help = "Issue an API token for CLIENT (its name or id) and print it once."

    def add_arguments(self, parser):
        parser.add_argument("client", help="the client's name or id")
        parser.add_argument("--label", default="created from the command line")

    def handle(self, *args, client, label, **options):
        lookup = {"pk": int(client)} if client.isdigit() else {"name": client}
        try:
            found = Client.objects.get(**lookup)
        except Client.DoesNotExist:
            raise CommandError(f"No client {client!r}.") from None
        token, raw = token_issue(client=found, label=label, actor=None)
        self.stdout.write(raw)
        self.stderr.write(f"Token {token.prefix}… for {found.name}: store it now, it is not shown again.")
