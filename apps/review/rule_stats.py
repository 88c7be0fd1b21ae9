"""Per rule (and per client), over a window: how many messages it flagged, how its findings
ended (FindingDisposition), and the reviewer time spent on them. Read by the *Rule statistics*
page and by the proposals (services/proposals.py).

Reviewer time is the review rounds' handling time (the claim spans), shared out: a round's
seconds go evenly to the flagged messages of its batch that ended in the window, and a
message's share evenly to the rules that flagged it. It is an estimate of where the time went,
not a stopwatch per finding, which nothing measures.
"""

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime

from django.db.models import Count, Q, Sum

from apps.review.models import Disposition, FindingDisposition, ReviewRound


def rule_of(code: str) -> str:
    """ "recipient_domain.unknown" and "legal_form.error" are their rule's findings."""
    return code.split(".", 1)[0]


def of_rule(code: str) -> Q:
    return Q(rule_code=code) | Q(rule_code__startswith=f"{code}.")


@dataclass
class RuleFigures:
    rule_code: str
    client_id: int | None = None  # None: every client
    client_name: str = ""
    findings: int = 0
    flagged_messages: int = 0
    # disposition → count, and the same for the findings at severity "review" only
    ended: dict[str, int] = field(default_factory=dict)
    review_ended: dict[str, int] = field(default_factory=dict)
    reviewer_seconds: float = 0.0

    def count(self, disposition: str) -> int:
        return self.ended.get(disposition, 0)

    @property
    def decided(self) -> int:
        """Findings a reviewer decided one by one (a rejected batch says nothing of a rule)."""
        return self.findings - self.count(Disposition.REJECTED)

    def share(self, disposition: str) -> float | None:
        return self.count(disposition) / self.decided if self.decided else None


def rule_figures(
    *, since: datetime, until: datetime, by_client: bool = False, client_id: int | None = None,
    rule_code: str | None = None,
) -> list[RuleFigures]:
    """Figures per rule (per rule and client with `by_client`), busiest first. Three grouped
    queries and one pass over the window's (batch, message, rule) triples for the seconds."""
    endings = FindingDisposition.objects.filter(decided_at__gte=since, decided_at__lt=until)
    if client_id is not None:
        endings = endings.filter(client_id=client_id)
    if rule_code is not None:
        endings = endings.filter(of_rule(rule_code))
    keys = ["rule_code", "client_id", "client__name"] if by_client else ["rule_code"]
    figures: dict[tuple, RuleFigures] = {}

    def of(row: dict) -> RuleFigures:
        key = (rule_of(row["rule_code"]), row.get("client_id"))
        if key not in figures:
            figures[key] = RuleFigures(key[0], key[1], row.get("client__name", ""))
        return figures[key]

    for row in endings.values(*keys, "disposition", "severity").annotate(n=Count("pk")):
        figure = of(row)
        figure.findings += row["n"]
        figure.ended[row["disposition"]] = figure.ended.get(row["disposition"], 0) + row["n"]
        if row["severity"] == "review":
            figure.review_ended[row["disposition"]] = (
                figure.review_ended.get(row["disposition"], 0) + row["n"]
            )
    # A message flagged twice by one rule is one flagged message (rule codes with a suffix are
    # few: counted apart and added, a message rarely has both).
    for row in endings.values(*keys).annotate(n=Count("message_id", distinct=True)):
        of(row).flagged_messages += row["n"]
    for (code, client), seconds in _reviewer_seconds(endings, since, until, by_client).items():
        if (code, client) in figures:
            figures[(code, client)].reviewer_seconds += seconds
    return sorted(figures.values(), key=lambda f: (-f.findings, f.rule_code, f.client_name))


def _reviewer_seconds(endings, since: datetime, until: datetime, by_client: bool
                      ) -> dict[tuple[str, int | None], float]:
    triples = endings.values_list("batch_id", "message_id", "rule_code", "client_id").distinct()
    rules_of_message: dict[int, set[str]] = defaultdict(set)
    messages_of_batch: dict[int, set[int]] = defaultdict(set)
    client_of_batch: dict[int, int] = {}
    for batch_id, message_id, code, client in triples:
        rules_of_message[message_id].add(rule_of(code))
        messages_of_batch[batch_id].add(message_id)
        client_of_batch[batch_id] = client
    handling = dict(
        ReviewRound.objects.filter(
            batch_id__in=list(messages_of_batch), decided_at__gte=since, decided_at__lt=until
        ).values("batch_id").annotate(s=Sum("handling_seconds")).values_list("batch_id", "s")
    )
    seconds: dict[tuple[str, int | None], float] = defaultdict(float)
    for batch_id, message_ids in messages_of_batch.items():
        per_message = (handling.get(batch_id) or 0.0) / len(message_ids)
        client = client_of_batch[batch_id] if by_client else None
        for message_id in message_ids:
            rules = rules_of_message[message_id]
            for code in rules:
                seconds[(code, client)] += per_message / len(rules)
    return seconds


def sample_endings(
    *, rule_code: str, disposition: str | None, since: datetime, until: datetime,
    severity: str | None = None, limit: int = 5,
) -> list[dict]:
    """The most recent endings of a rule's findings: the evidence a proposal shows."""
    endings = FindingDisposition.objects.filter(
        of_rule(rule_code), decided_at__gte=since, decided_at__lt=until
    )
    if disposition is not None:
        endings = endings.filter(disposition=disposition)
    if severity is not None:
        endings = endings.filter(severity=severity)
    return [dict(row) for row in
        endings.order_by("-decided_at", "-pk").values(
            "message_id", "batch_id", "client__name", "field", "text", "disposition",
            "actor_label", "decided_at",
        )[:limit]
    ]
