"""The one place where the portal scopes what a client user may see.

Every portal view fetches through these helpers, so tenant isolation lives here: a batch of
another client is a 404, exactly like a batch that does not exist.
"""

from django.http import Http404

from apps.core.models import Batch, Client


def client_for_user(user) -> Client:
    link = getattr(user, "client_user", None) if user.is_authenticated else None
    if link is None:
        raise Http404("No client account.")
    return link.client


def batches_for_user(user):
    return Batch.objects.filter(client=client_for_user(user))


def batch_for_user(user, batch_id: int) -> Batch:
    try:
        return batches_for_user(user).select_related("campaign").get(pk=batch_id)
    except Batch.DoesNotExist:
        raise Http404("No such batch.") from None
