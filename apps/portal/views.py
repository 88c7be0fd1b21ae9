from django.contrib.auth.decorators import login_required
from django.db.models import Count, Q
from django.shortcuts import render

from apps.core.models import Finding
from apps.portal.lookups import batch_for_user, batches_for_user, client_for_user


@login_required
def batch_list(request):
    client = client_for_user(request.user)
    batches = (
        batches_for_user(request.user)
        .select_related("campaign")
        .annotate(
            size=Count("messages", distinct=True),
            sent=Count("messages", filter=Q(messages__send_status="sent"), distinct=True),
        )
        .order_by("-created_at")
    )
    return render(request, "portal/batch_list.html", {"client": client, "batches": batches})


@login_required
def batch_detail(request, batch_id: int):
    batch = batch_for_user(request.user, batch_id)
    findings = (
        Finding.objects.filter(message__batch=batch)
        .values("rule_code", "severity")
        .annotate(messages=Count("message", distinct=True))
        .order_by("-messages")
    )
    events = batch.events.order_by("created_at", "pk")
    return render(
        request, "portal/batch_detail.html",
        {"batch": batch, "findings": findings, "events": events, "size": batch.messages.count()},
    )
