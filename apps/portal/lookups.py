"""The one place where the portal and the API scope what a caller may see.

Every portal view and API endpoint fetches through these helpers, so tenant isolation lives
here: another client's batch or campaign is a 404, exactly like one that does not exist.
"""

from django.http import Http404

from apps.clienthooks.models import WebhookDelivery
from apps.core.models import Batch, Campaign, Client, ClientUser
from apps.deliverability import selectors as deliverability


def client_user_for(user) -> ClientUser:
    link = getattr(user, "client_user", None) if user.is_authenticated else None
    if link is None:
        raise Http404("No client account.")
    return link


def client_for_user(user) -> Client:
    return client_user_for(user).client


def batches_for_client(client: Client):
    return Batch.objects.filter(client=client)


def batch_for_client(client: Client, batch_id: int) -> Batch:
    try:
        return batches_for_client(client).select_related("campaign", "client").get(pk=batch_id)
    except Batch.DoesNotExist:
        raise Http404("No such batch.") from None


def campaign_for_client(client: Client, campaign_id: int) -> Campaign:
    try:
        return Campaign.objects.get(client=client, pk=campaign_id)
    except Campaign.DoesNotExist:
        raise Http404("No such campaign.") from None


def batches_for_user(user):
    return batches_for_client(client_for_user(user))


def batch_for_user(user, batch_id: int) -> Batch:
    return batch_for_client(client_for_user(user), batch_id)


def delivery_rates_for_client(client: Client, *, days: int):
    """The client's own bounce and complaint rates, per sending domain and day."""
    return deliverability.rates(client_id=client.pk, days=days)

def deliveries_for_client(client: Client):
    return WebhookDelivery.objects.filter(client=client)


def delivery_for_client(client: Client, delivery_id: int) -> WebhookDelivery:
    try:
        return deliveries_for_client(client).select_related("event", "event__batch").get(
            pk=delivery_id
        )
    except WebhookDelivery.DoesNotExist:
        raise Http404("No such delivery.") from None
