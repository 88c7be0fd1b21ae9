"""Replay recorded history and print, as JSON, how often the quotes would have come true.

    manage.py quote_backtest [--since 2026-11-01 | --since 30d]
                             [--client "Acme Outreach" | --client 3]

For each review round a person decided since --since (all history by default), the quote the
system would have given when the batch entered review, from only what was known then, against
the actual decision (apps/planning/backtest.py, docs/planning.md).
"""

import json

from django.core.management.base import BaseCommand

from apps.core.cli import client_argument
from apps.planning.backtest import backtest
from apps.review.management.commands.review_stats import parse_since


class Command(BaseCommand):
    help = "Replay history: each decided batch's quote at review entry against its decision (JSON)."

    def add_arguments(self, parser):
        parser.add_argument("--since", help="ISO date/datetime (UTC) or 30d / 12h; default: all")
        parser.add_argument("--client", help="client id or exact name")

    def handle(self, *args, since: str | None, client: str | None, **options):
        client_obj = client_argument(client, "--client") if client is not None else None
        start = parse_since(since) if since is not None else None
        figures = backtest(since=start, client_id=client_obj.pk if client_obj else None)
        self.stdout.write(json.dumps(figures, indent=2))
