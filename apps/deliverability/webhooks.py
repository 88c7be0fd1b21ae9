"""Bounces and complaints by webhook (issue 14, item 2): Postmark and Mailgun, through
django-anymail's tracking webhooks.

anymail checks each request before it parses it: Postmark's by HTTP basic auth
(ANYMAIL_WEBHOOK_SECRET), Mailgun's by its HMAC signature (MAILGUN_WEBHOOK_SIGNING_KEY, and
the basic auth too when a secret is set). A request that fails is answered 400 and changes
nothing. An endpoint whose secret is not configured answers 404: anymail would otherwise
accept unauthenticated events with a warning.

Each event becomes a Report applied by report_apply, keyed by the ESP's event id, so a replayed
or retried event is applied once. Amazon SES is left out on purpose: anymail does not verify
SNS message signatures.
"""

import re

from anymail.signals import EventType
from anymail.webhooks.mailgun import MailgunTrackingWebhookView
from anymail.webhooks.postmark import PostmarkTrackingWebhookView
from django.conf import settings
from django.contrib.auth.decorators import login_not_required
from django.http import Http404, HttpResponse
from django.views.decorators.csrf import csrf_exempt

from apps.core.models import Message
from apps.deliverability.models import EventKind
from apps.deliverability.services import Report, report_apply
from apps.sending import verp

# Our deterministic Message-ID header (Message.message_id_header).
MESSAGE_ID = re.compile(r"<message-(\d{1,19})\.batch-(\d{1,19})@([^<>\s]+)>")
# The metadata key a relay may echo our Message-ID in (Postmark: X-PM-Metadata-<key>).
METADATA_KEY = "outbound-message-id"
KINDS = {
    EventType.COMPLAINED: EventKind.COMPLAINT,
    EventType.BOUNCED: EventKind.HARD,
    EventType.DEFERRED: EventKind.SOFT,
    EventType.AUTORESPONDED: EventKind.AUTO_REPLY,
    EventType.DELIVERED: EventKind.DELIVERED,
}
# Postmark reports soft bounces as "bounced" too; its own Type says which.
POSTMARK_SOFT = {"SoftBounce", "Transient", "DnsError", "VirusNotification"}


def report_for(event, esp: str) -> Report | None:
    """The report an anymail tracking event makes, or None for events that change nothing here
    (opens, clicks, a relay's own refusal before sending)."""
    kind = KINDS.get(event.event_type)
    if kind is None:
        return None
    raw = event.esp_event if isinstance(event.esp_event, dict) else {}
    if esp == "postmark" and kind == EventKind.HARD and raw.get("Type") in POSTMARK_SOFT:
        kind = EventKind.SOFT
    return Report(
        key=f"{esp}:{_event_key(event, esp, raw)}", kind=kind, source=esp,
        message_id=_our_message(event, raw), recipient=(event.recipient or "")[:320],
        evidence=" ".join(
            str(part) for part in (event.event_type, event.reject_reason, event.description,
                                   event.mta_response) if part
        ),
    )


def _event_key(event, esp: str, raw: dict) -> str:
    if esp == "mailgun" and raw.get("event-data", {}).get("id"):
        return str(raw["event-data"]["id"])  # Mailgun's event id (anymail's is the token)
    if event.event_id:
        return str(event.event_id)
    # Postmark gives delivery events no id: one delivery per message and recipient.
    return f"{event.event_type}:{event.message_id}:{event.recipient}"


def _our_message(event, raw: dict) -> int | None:
    """Our message, named by its Message-ID header (as the relay reports it, or echoed in the
    event's metadata) or by its signed VERP return path."""
    candidates = [event.message_id, (event.metadata or {}).get(METADATA_KEY)]
    for value in candidates:
        found = MESSAGE_ID.fullmatch(value.strip()) if isinstance(value, str) else None
        if found and found[3].lower() == settings.MESSAGE_ID_DOMAIN.lower():
            pk, batch_id = int(found[1]), int(found[2])
            if Message.objects.filter(pk=pk, batch_id=batch_id).exists():
                return pk
    sender = raw.get("event-data", {}).get("envelope", {}).get("sender")
    if isinstance(sender, str) and sender:
        return verp.message_for(sender)
    return None


class _Applying:
    """Apply each event as it is parsed (after anymail's checks), rather than through anymail's
    global signal, so only these two endpoints feed report_apply."""

    esp = ""

    def post(self, request, *args, **kwargs):
        self.run_validators(request)
        for event in self.parse_events(request):
            report = report_for(event, self.esp)
            if report is not None:
                report_apply(report=report)
        return HttpResponse()


class PostmarkTracking(_Applying, PostmarkTrackingWebhookView):
    esp = "postmark"


class MailgunTracking(_Applying, MailgunTrackingWebhookView):
    esp = "mailgun"


def _configured(view, *required: str):
    @csrf_exempt
    @login_not_required
    def endpoint(request, *args, **kwargs):
        anymail = getattr(settings, "ANYMAIL", {})
        if not all(anymail.get(name) for name in required):
            raise Http404("This webhook is not configured.")
        return view(request, *args, **kwargs)

    return endpoint


postmark_tracking = _configured(PostmarkTracking.as_view(), "WEBHOOK_SECRET")
mailgun_tracking = _configured(MailgunTracking.as_view(), "MAILGUN_WEBHOOK_SIGNING_KEY")
