"""Bounces and complaints by webhook (issue 14, item 2): Postmark and Mailgun, through
django-anymail's tracking webhooks.

anymail checks each request before it parses it: Postmark's by HTTP basic auth
(ANYMAIL_WEBHOOK_SECRET), Mailgun's by its HMAC signature (MAILGUN_WEBHOOK_SIGNING_KEY, and
the basic auth too when a secret is set). A request that fails is answered 400 and changes
nothing. An endpoint whose secret is not configured answers 404: anymail would otherwise
accept unauthenticated events with a warning.

Each event is stored in the webhook inbox (apps/deliverability/inbox.py) keyed by the ESP's
event id before the relay is answered, and applied in batches by a job: its Report, keyed the
same way, is applied once however often the event is replayed or retried.

Amazon SES posts through Amazon SNS, whose signatures anymail does not verify (and whose SES
view needs boto3 even to parse): apps/deliverability/sns.py verifies them, and the SES events
(a documented JSON shape) are read here.
"""

import json
import logging
import re

from anymail.signals import EventType
from anymail.webhooks.mailgun import MailgunTrackingWebhookView
from anymail.webhooks.postmark import PostmarkTrackingWebhookView
from django.conf import settings
from django.contrib.auth.decorators import login_not_required
from django.http import Http404, HttpResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from apps.core.models import Message
from apps.deliverability import sns
from apps.deliverability.inbox import webhook_event_store
from apps.deliverability.models import EventKind, WebhookEvent
from apps.deliverability.services import Report
from apps.sending import verp

log = logging.getLogger(__name__)

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


def event_for(event, esp: str) -> dict | None:
    """What the inbox stores of an anymail tracking event (read without a query), or None for
    events that change nothing here (opens, clicks, a relay's own refusal before sending)."""
    kind = KINDS.get(event.event_type)
    if kind is None:
        return None
    raw = event.esp_event if isinstance(event.esp_event, dict) else {}
    if esp == "postmark" and kind == EventKind.HARD and raw.get("Type") in POSTMARK_SOFT:
        kind = EventKind.SOFT
    sender = raw.get("event-data", {}).get("envelope", {}).get("sender")
    return {
        "key": f"{esp}:{_event_key(event, esp, raw)}", "kind": kind, "source": esp,
        "recipient": (event.recipient or "")[:320],
        "headers": [v for v in (event.message_id, (event.metadata or {}).get(METADATA_KEY))
                    if isinstance(v, str)],
        "return_path": sender if isinstance(sender, str) else "",
        "evidence": " ".join(
            str(part) for part in (event.event_type, event.reject_reason, event.description,
                                   event.mta_response) if part
        ),
    }


def reports_of(row: WebhookEvent) -> list[Report]:
    """The reports a stored webhook event makes (its message looked up now)."""
    if row.source == "amazon_ses":
        return ses_reports(row.payload)
    stored = row.payload
    return [Report(key=stored["key"], kind=stored["kind"], source=stored["source"],
                   message_id=_our_message(stored["headers"], stored["return_path"]),
                   recipient=stored["recipient"], evidence=stored["evidence"])]


def _event_key(event, esp: str, raw: dict) -> str:
    if esp == "mailgun" and raw.get("event-data", {}).get("id"):
        return str(raw["event-data"]["id"])  # Mailgun's event id (anymail's is the token)
    if event.event_id:
        return str(event.event_id)
    # Postmark gives delivery events no id: one delivery per message and recipient.
    return f"{event.event_type}:{event.message_id}:{event.recipient}"


def _our_message(headers: list[str], return_path: str) -> int | None:
    """Our message, named by its Message-ID header (as the relay reports it, or echoed in the
    event's metadata) or by its signed VERP return path."""
    found = _message_by_header(headers)
    if found is not None:
        return found
    if return_path:
        try:
            return verp.message_for(return_path)
        except verp.ForgedReturnPath:
            log.warning("webhook: an event names a return path we did not sign: %r", return_path)
    return None


def _message_by_header(values) -> int | None:
    """The message our Message-ID header names (both its id and batch must match, and the
    domain be ours), among the values a relay reported."""
    for value in values:
        found = MESSAGE_ID.fullmatch(value.strip()) if isinstance(value, str) else None
        if found and found[3].lower() == settings.MESSAGE_ID_DOMAIN.lower():
            pk, batch_id = int(found[1]), int(found[2])
            if Message.objects.filter(pk=pk, batch_id=batch_id).exists():
                return pk
    return None


class _Applying:
    """Store each event as it is parsed (after anymail's checks) in the webhook inbox, rather
    than through anymail's global signal, so only these two endpoints feed it. A replayed event
    is answered 200 too (the relay has nothing to retry) and stored once."""

    esp = ""

    def post(self, request, *args, **kwargs):
        self.run_validators(request)
        for event in self.parse_events(request):
            stored = event_for(event, self.esp)
            if stored is not None:
                webhook_event_store(key=stored["key"], source=self.esp, payload=stored)
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


# --- Amazon SES, through Amazon SNS -----------------------------------------------------------

SES_BOUNCE_KINDS = {"Permanent": EventKind.HARD, "Transient": EventKind.SOFT}
SNS_BODY_MAX = 262_144  # SNS messages are at most 256 KB


@csrf_exempt
@login_not_required
@require_POST
def amazon_ses_tracking(request):
    """SES bounce, complaint and delivery events, posted by SNS. 400 for anything whose
    signature, topic or age does not hold (nothing changes); 409 for a message stored before
    (SNS's retries of it stop after its retry policy; the first delivery is applied)."""
    if not settings.AMAZON_SES_TOPIC_ARNS:
        raise Http404("This webhook is not configured.")
    try:
        message = _sns_message(request)
        sns.verify(message)
    except sns.SnsRefused as exc:
        log.warning("Amazon SNS: refused a message: %s", exc)
        return HttpResponse("refused\n", status=400, content_type="text/plain")
    if message["Type"] == "SubscriptionConfirmation":
        return _confirm(message)
    if message["Type"] == "UnsubscribeConfirmation":
        log.warning("Amazon SNS: topic %s unsubscribed this endpoint", message["TopicArn"])
        return HttpResponse("ok\n", content_type="text/plain")
    if not webhook_event_store(key=f"sns:{message['MessageId']}", source="amazon_ses",
                               payload=message):
        return HttpResponse("already received\n", status=409, content_type="text/plain")
    return HttpResponse("ok\n", content_type="text/plain")


def _sns_message(request) -> dict:
    if len(request.body) > SNS_BODY_MAX:
        raise sns.SnsRefused("the body is larger than any SNS message")
    try:
        message = json.loads(request.body)
    except (ValueError, UnicodeDecodeError) as exc:
        raise sns.SnsRefused("the body is not JSON") from exc
    if not isinstance(message, dict):
        raise sns.SnsRefused("the body is not an SNS message")
    if request.headers.get("x-amz-sns-message-type") != message.get("Type"):
        raise sns.SnsRefused("the x-amz-sns-message-type header does not match the body")
    return message


def _confirm(message: dict) -> HttpResponse:
    try:
        sns.confirm_subscription(message)
    except sns.SnsRefused as exc:
        log.warning("Amazon SNS: did not confirm a subscription: %s", exc)
        return HttpResponse("refused\n", status=400, content_type="text/plain")
    log.info("Amazon SNS: confirmed the subscription to %s", message["TopicArn"])
    return HttpResponse("ok\n", content_type="text/plain")


def ses_reports(message: dict) -> list[Report]:
    """The reports an SES event makes, one per recipient it names (none for sends, opens,
    clicks and the topic's own test notification)."""
    try:
        event = json.loads(message["Message"])
    except ValueError:
        return []  # "Successfully validated SNS topic for Amazon SES event publishing."
    if not isinstance(event, dict):
        return []
    kind_name = event.get("eventType") or event.get("notificationType")
    detail = event.get(str(kind_name).lower()) or {}
    if kind_name == "Bounce":
        kind = SES_BOUNCE_KINDS.get(str(detail.get("bounceType")), EventKind.UNKNOWN)
        recipients = [(r.get("emailAddress", ""), r.get("diagnosticCode", ""))
                      for r in detail.get("bouncedRecipients", [])]
    elif kind_name == "Complaint":
        kind = EventKind.COMPLAINT
        recipients = [(r.get("emailAddress", ""), detail.get("complaintFeedbackType", ""))
                      for r in detail.get("complainedRecipients", [])]
    elif kind_name == "Delivery":
        kind = EventKind.DELIVERED
        recipients = [(r, detail.get("smtpResponse", "")) for r in detail.get("recipients", [])]
    else:
        return []
    mail = event.get("mail") or {}
    message_id = _ses_message(mail)
    event_id = detail.get("feedbackId") or f"sns-{message['MessageId']}"
    summary = f"{kind_name} {detail.get('bounceType', '')} {detail.get('bounceSubType', '')}"
    return [
        Report(key=f"amazon_ses:{event_id}:{recipient}", kind=kind, source="amazon_ses",
               message_id=message_id, recipient=str(recipient)[:320],
               evidence=f"{summary.strip()}: {why}".strip(": ")[:2000])
        for recipient, why in recipients
    ]


def _ses_message(mail: dict) -> int | None:
    """Our message, by the Message-ID header SES reports, or by the VERP return path (SES's
    `source` is the envelope sender)."""
    headers = [(mail.get("commonHeaders") or {}).get("messageId")]
    headers += [h.get("value") for h in mail.get("headers") or ()
                if isinstance(h, dict) and str(h.get("name", "")).lower() == "message-id"]
    found = _message_by_header(headers)
    if found is not None:
        return found
    source = mail.get("source")
    if isinstance(source, str) and source:
        try:
            return verp.message_for(source)
        except verp.ForgedReturnPath:
            log.warning("Amazon SES: an event names a return path we did not sign: %r", source)
    return None
