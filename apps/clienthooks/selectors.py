"""Reads for client webhooks. The portal scopes every read by the client (apps.portal.lookups)."""

from apps.clienthooks.models import WebhookEndpoint
from apps.core.models import Client


def endpoint_for_client(client: Client) -> WebhookEndpoint | None:
    return WebhookEndpoint.objects.filter(client=client).first()
