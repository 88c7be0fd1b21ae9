"""Reads for the bounce and complaint rates shown to operators (admin) and clients (portal):
per client and sending domain, per UTC day.

A day's rate is the hard bounces (or complaints) received that day over the messages sent that
day: what relays' dashboards show, and what the breaker's window counts as it slides. Three
queries, whatever the number of clients, domains and days.
"""

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from django.db.models import Count, Q
from django.db.models.functions import TruncDate
from django.utils import timezone

from apps.core.models import Batch, Client, Message
from apps.deliverability.models import BounceEvent, EventKind
from apps.sending.reputation import sending_domain


@dataclass
class Day:
    day: date
    sent: int = 0
    hard: int = 0
    complaints: int = 0

    @property
    def bounce_rate(self) -> float | None:
        return 100 * self.hard / self.sent if self.sent else None

    @property
    def complaint_rate(self) -> float | None:
        return 100 * self.complaints / self.sent if self.sent else None


@dataclass
class Series:
    client_id: int
    client_name: str
    domain: str
    days: list[Day] = field(default_factory=list)

    @property
    def sent(self) -> int:
        return sum(d.sent for d in self.days)

    @property
    def hard(self) -> int:
        return sum(d.hard for d in self.days)

    @property
    def complaints(self) -> int:
        return sum(d.complaints for d in self.days)

    @property
    def bounce_rate(self) -> float | None:
        return 100 * self.hard / self.sent if self.sent else None

    @property
    def complaint_rate(self) -> float | None:
        return 100 * self.complaints / self.sent if self.sent else None


def rates(*, client_id: int | None = None, days: int = 30, now: datetime | None = None
          ) -> list[Series]:
    """Each (client, sending domain) that sent or heard back in the last `days` UTC days, with
    one Day per day (days without sends included, so the chart's x axis is time). One client's
    only with `client_id`."""
    today = (now or timezone.now()).date()
    first = today - timedelta(days=days - 1)
    since = datetime.combine(first, datetime.min.time(), tzinfo=timezone.get_current_timezone())
    counts: dict[tuple[int, str], dict[date, Day]] = defaultdict(dict)

    def day_of(key: tuple[int, str], day: date) -> Day:
        return counts[key].setdefault(day, Day(day))

    # Batches that may hold a send in the window (the message index leads with the batch).
    batches = Batch.objects.filter(Q(sent_at__isnull=True) | Q(sent_at__gte=since))
    if client_id is not None:
        batches = batches.filter(client_id=client_id)
    sent = (Message.objects.filter(batch__in=batches, sent_at__gte=since)
            .values("batch__client_id", "batch__campaign__sender_email")
            .annotate(day=TruncDate("sent_at"), count=Count("pk")).order_by())
    for row in sent:
        key = (row["batch__client_id"], sending_domain(row["batch__campaign__sender_email"]))
        day_of(key, row["day"]).sent += row["count"]
    events = BounceEvent.objects.filter(received_at__gte=since, client__isnull=False,
                                        kind__in=[EventKind.HARD, EventKind.COMPLAINT])
    if client_id is not None:
        events = events.filter(client_id=client_id)
    for row in (events.values("client_id", "sending_domain", "kind")
                .annotate(day=TruncDate("received_at"), count=Count("pk")).order_by()):
        day = day_of((row["client_id"], row["sending_domain"]), row["day"])
        if row["kind"] == EventKind.HARD:
            day.hard += row["count"]
        else:
            day.complaints += row["count"]
    names = dict(Client.objects.filter(pk__in={c for c, _ in counts}).values_list("pk", "name"))
    every_day = [first + timedelta(days=i) for i in range(days)]
    return [
        Series(client, names.get(client, "?"), domain,
               [counts[(client, domain)].get(day) or Day(day) for day in every_day])
        for client, domain in sorted(counts, key=lambda k: (names.get(k[0], ""), k[1]))
    ]
