"""The one-click unsubscribe endpoint. POST (RFC 8058, sent by mailbox providers without a
session or CSRF token) unsubscribes at once; GET shows a page with a button that POSTs.
A token we did not sign gets a plain 404 that says nothing about why."""

from django.http import Http404
from django.shortcuts import render
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods

from apps.core.models import Client
from apps.sending.unsubscribe import read_token, recipient_unsubscribe


@csrf_exempt  # one-click POSTs come from the mailbox provider, not from our pages
@require_http_methods(["GET", "POST"])
def unsubscribe(request, token: str):
    found = read_token(token)
    if found is None:
        raise Http404
    client_id, email = found
    client = Client.objects.filter(pk=client_id).first()
    if client is None:
        raise Http404
    if request.method == "POST":
        recipient_unsubscribe(client=client, email=email)
        return render(request, "sending/unsubscribed.html", {"client": client, "email": email})
    return render(request, "sending/unsubscribe.html", {"client": client, "email": email})
