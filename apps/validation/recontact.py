"""The re-contact cap at generation (issue 14): who among a batch's recipients this client mailed
fewer than Client.recontact_days days ago, or has in another live batch.

One query per call (a chunk, or the whole batch at routing), not one per message. Addresses
are compared as lower(trim(recipient)), as the duplicate rule and the send-time check do.
"""

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db.models import F
from django.db.models.functions import Lower, Trim
from django.utils import timezone

from apps.core.bulk import EqualsAny
from apps.core.models import BatchStatus, Client, Message

from .checks.base import CheckFinding, RuleConfig

CODE = "recently_contacted"
# Another batch holding the address in one of these states will (or may) mail it.
LIVE = (BatchStatus.IN_REVIEW, BatchStatus.APPROVED, BatchStatus.SENDING)


@dataclass
class Contact:
    """What the finding names: the last send within the cap, and another live batch."""

    sent_at: datetime | None = None
    sent_batch: int | None = None
    live_batch: int | None = None
    live_status: str = ""

    def explanation(self, address: str, days: int) -> str:
        parts = []
        if self.sent_at is not None:
            parts.append(
                f"{address} was last contacted by this client on {self.sent_at:%Y-%m-%d} "
                f"(batch {self.sent_batch}), less than {days} days ago"
            )
        if self.live_batch is not None:
            status = BatchStatus(self.live_status).label.lower()
            parts.append(f"{address} is also in batch {self.live_batch} ({status})")
        return "; ".join(parts) + ". Mailing the same person again so soon hurts the sender."


def recontact_days(client_id: int) -> int:
    return Client.objects.filter(pk=client_id).values_list("recontact_days", flat=True).get()


def last_contacts(*, client_id: int, batch_id: int, addresses, days: int,
                  now: datetime | None = None) -> dict[str, Contact]:
    """address (lower-cased, trimmed) → its last contact, for the addresses that have one; one
    query. Messages of this batch, and excluded messages, do not count. days = 0: the cap is
    off, no query."""
    addresses = set(addresses)
    if days <= 0 or not addresses:
        return {}
    since = (now or timezone.now()) - timedelta(days=days)
    base = (
        Message.objects.annotate(address=Lower(Trim("recipient")))
        # = ANY(array), not apps.core.bulk.among's unnest subquery: PostgreSQL then looks
        # each address up in the index instead of hashing the whole table.
        .filter(EqualsAny(F("address"), sorted(addresses)), batch__client_id=client_id,
                excluded=False)
        .exclude(batch_id=batch_id)
    )
    fields = ("address", "sent_at", "batch_id", "batch__status")
    # Two branches in one statement, each with its index (an OR of the two would read every
    # message): sends within the cap, and the messages of
    # the client's live batches (by batch).
    sent = base.filter(sent_at__isnull=False, sent_at__gte=since).values_list(*fields)
    live = base.filter(batch__status__in=LIVE).values_list(*fields)
    rows = sent.union(live, all=True)
    contacts: dict[str, Contact] = {}
    for address, sent_at, other_batch, status in rows:
        contact = contacts.setdefault(address, Contact())
        if sent_at is not None and sent_at >= since and (
            contact.sent_at is None or sent_at > contact.sent_at
        ):
            contact.sent_at, contact.sent_batch = sent_at, other_batch
        if status in LIVE and (contact.live_batch is None or other_batch > contact.live_batch):
            contact.live_batch, contact.live_status = other_batch, status
    # A message sent longer ago than the cap, in a batch that is still sending: live only.
    return {a: c for a, c in contacts.items() if c.sent_at is not None or c.live_batch is not None}


def recontact_finding(rule: RuleConfig, address: str, contact: Contact, days: int) -> CheckFinding:
    return CheckFinding(CODE, rule.severity, "email", None, None,
                        contact.explanation(address, days))
