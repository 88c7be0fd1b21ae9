"""The re-contact cap at send time: each client's last send to each address (LastContact), kept
as messages are recorded sent, and the check that reads it.

On PostgreSQL both are part of the hot path's statements (statements.RECORD_SENT writes,
statements.OPEN_ATTEMPTS checks); these are the same rules for other databases, for the
messages recorded sent elsewhere (an unknown send resolved as sent) and for the reason a
message was turned away.
"""

from datetime import datetime, timedelta

from django.db.models.functions import Lower, Trim

from apps.core.models import Client, Message
from apps.sending.models import LastContact


def record_sent(message_ids: list[int], now: datetime) -> None:
    """The clients' last contact with these messages' recipients is now."""
    rows = (Message.objects.filter(pk__in=message_ids)
            .annotate(key=Lower(Trim("recipient")))
            .values_list("batch__client_id", "key", "batch_id"))
    latest = {(client_id, key[:320]): batch_id for client_id, key, batch_id in rows}
    for (client_id, key), batch_id in latest.items():
        LastContact.objects.update_or_create(
            client_id=client_id, address=key, defaults={"sent_at": now, "batch_id": batch_id})


def recontacted(client_id: int, message_ids: list[int], now: datetime
                ) -> dict[int, LastContact]:
    """message id → the client's last send to its recipient, for the messages whose recipient
    this client mailed from another batch since the message was approved, within the client's
    re-contact cap (the rule statements.OPEN_ATTEMPTS applies)."""
    days = Client.objects.filter(pk=client_id).values_list("recontact_days", flat=True).get()
    if days <= 0 or not message_ids:
        return {}
    since = now - timedelta(days=days)
    messages = list(Message.objects.filter(pk__in=message_ids)
                    .annotate(key=Lower(Trim("recipient")))
                    .values_list("pk", "key", "batch_id", "approved_at"))
    contacts = {c.address: c for c in LastContact.objects.filter(
        client_id=client_id, address__in={key for _, key, _, _ in messages})}
    found = {}
    for pk, key, batch_id, approved_at in messages:
        contact = contacts.get(key)
        if (contact is not None and contact.batch_id != batch_id
                and contact.sent_at >= max(filter(None, (approved_at, since)))):
            found[pk] = contact
    return found


def reason(contact: LastContact) -> str:
    return (f"not sent: this client already mailed the recipient on "
            f"{contact.sent_at:%Y-%m-%d %H:%M} UTC (batch {contact.batch_id}), after this "
            f"message was approved and within the client's re-contact cap")
