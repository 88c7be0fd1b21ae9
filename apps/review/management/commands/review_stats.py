"""Print time-in-review figures as JSON: the same numbers as the operator page.

    manage.py review_stats [--since 2026-11-01 | --since 7d] [--client "Acme Outreach" | --client 3]
"""

import json
import re
from datetime import UTC, datetime, timedelta

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from apps.core.cli import client_argument, text_argument
from apps.review import stats
from apps.review.selectors import sla_targets

RELATIVE = re.compile(r"^(\d+)([dh])$")


def parse_since(value: str) -> datetime:
    """An ISO date or datetime (UTC when no offset is given), or a span back from now: 7d, 12h."""
    text_argument(value, "--since")
    problem = f"--since {value!r}: give an ISO date (2026-11-01) or a span (7d, 12h)."
    match = RELATIVE.match(value)
    if match:
        amount, unit = int(match[1]), match[2]
        try:
            return timezone.now() - timedelta(**{"days" if unit == "d" else "hours": amount})
        except OverflowError:  # before year 1
            raise CommandError(f"--since {value!r}: a span reaches back before year 1.") from None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise CommandError(problem) from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


class Command(BaseCommand):
    help = "Print review-time figures (decided rounds since --since) as JSON."

    def add_arguments(self, parser):
        parser.add_argument(
            "--since", default="7d", help="ISO date/datetime (UTC) or 7d / 12h; default 7d"
        )
        parser.add_argument("--client", help="client id or exact name")

    def handle(self, *args, since: str, client: str | None, **options):
        client_obj = client_argument(client, "--client") if client is not None else None
        start = parse_since(since)
        samples = stats.decided_rounds(since=start, client_id=client_obj.pk if client_obj else None)
        figures = {
            "since": start.astimezone(UTC).isoformat(),
            "client": client_obj.name if client_obj else None,
            **stats.summarize(samples, sla_targets()),
        }
        self.stdout.write(json.dumps(figures, sort_keys=True))
