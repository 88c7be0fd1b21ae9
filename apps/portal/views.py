"""Server-rendered pages for client users. Every lookup goes through apps.portal.lookups."""

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import JsonResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_POST

from apps.clienthooks.selectors import endpoint_for_client
from apps.clienthooks.services import webhook_register, webhook_remove, webhook_secret_rotate
from apps.core.audit import action_words
from apps.core.errors import ServiceError
from apps.core.models import BatchStatus, ClientRole
from apps.deliverability.charts import rate_days, rate_rows
from apps.planning.charts import within_target_svg
from apps.planning.commitments import commitment_summary
from apps.planning.selectors import client_quote
from apps.portal import lookups, selectors
from apps.portal.services import notifications_set
from apps.review.models import StatusCheckSource
from apps.review.services import batch_approve_by_client, batch_withdraw, status_check_record

BATCHES_PER_PAGE = 50


@login_required
def batch_list(request):
    client = lookups.client_for_user(request.user)
    batches = lookups.batches_for_client(client).order_by("-created_at", "-pk")
    page = Paginator(batches, BATCHES_PER_PAGE).get_page(request.GET.get("page"))
    counted = selectors.with_counts(
        batches=batches.filter(pk__in=[batch.pk for batch in page.object_list])
        .select_related("campaign")
    )
    rows = [
        (batch, selectors.progress(batch=batch), selectors.stage_label(batch=batch))
        for batch in counted
    ]
    context = {"client": client, "rows": rows, "page": page}
    return render(request, "portal/batch_list.html", context)


@login_required
def commitment(request):
    """The client's tier, what it commits to and how review has really gone for it."""
    client = lookups.client_for_user(request.user)
    summary = commitment_summary(tier=client.tier, now=timezone.now())
    chart = within_target_svg(summary["figures"]["days"], summary["target_pct"])
    return render(request, "portal/commitment.html", {"summary": summary, "chart": chart})


@login_required
def batch_detail(request, batch_id: int):
    link = lookups.client_user_for(request.user)
    batch = lookups.batch_for_client(link.client, batch_id)
    counted = selectors.with_counts(
        batches=lookups.batches_for_client(link.client).filter(pk=batch.pk)
    ).get()
    status_check_record(batch=batch, source=StatusCheckSource.PORTAL)
    findings = selectors.findings_summary(batch_id=batch.pk)
    may_approve = (
        link.role == ClientRole.APPROVER
        and link.client.client_may_approve_clean
        and batch.status == "in_review"
        and not findings
    )
    context = {
        "batch": batch,
        "counts": counted,
        "progress": selectors.progress(batch=counted),
        "stage": selectors.stage_label(batch=counted),
        "quote": client_quote(batch=batch),
        "findings": findings,
        "may_approve": may_approve,
        "may_withdraw": batch.status == BatchStatus.IN_REVIEW,
        "excluded": selectors.excluded_messages(batch_id=batch.pk),
        "events": [
            (event, action_words(event.action)) for event in selectors.history(batch_id=batch.pk)
        ],
    }
    return render(request, "portal/batch_detail.html", context)


@login_required
def batch_progress(request, batch_id: int):
    """What the pages poll to update status and progress without a reload."""
    client = lookups.client_for_user(request.user)
    batch = lookups.batch_for_client(client, batch_id)
    counted = selectors.with_counts(
        batches=lookups.batches_for_client(client).filter(pk=batch.pk)
    ).get()
    return JsonResponse(
        {"id": batch.pk, "status": batch.status,
         "status_display": selectors.stage_label(batch=counted),
         "progress": selectors.progress(batch=counted)}
    )


@login_required
@require_POST
def batch_approve(request, batch_id: int):
    batch = lookups.batch_for_user(request.user, batch_id)
    try:
        batch_approve_by_client(batch_id=batch.pk, actor=request.user)
        messages.success(request, "Batch approved: sending will start after the grace period.")
    except ServiceError as exc:
        messages.error(request, str(exc))
    return redirect("portal:batch-detail", batch_id=batch.pk)


@login_required
def batch_withdraw_view(request, batch_id: int):
    """GET asks for confirmation (no script needed); POST withdraws. A reviewer who decided
    first wins: the client is told who, and the batch page shows what happened."""
    batch = lookups.batch_for_user(request.user, batch_id)
    if request.method != "POST":
        return render(request, "portal/batch_withdraw.html", {"batch": batch})
    try:
        batch_withdraw(batch=batch, actor=request.user)
        messages.success(request, f"Batch #{batch.pk} withdrawn: it has left the review queue "
                                  "and will not be sent.")
    except ServiceError as exc:
        messages.error(request, str(exc))
    return redirect("portal:batch-detail", batch_id=batch.pk)


@login_required
def settings_view(request):
    link = lookups.client_user_for(request.user)
    if request.method == "POST":
        notifications_set(client_user=link, enabled=request.POST.get("notify") == "on")
        messages.success(request, "Saved.")
        return redirect("portal:settings")
    return render(request, "portal/settings.html", {"link": link})


@login_required
def deliverability(request):
    """The client's own bounce and complaint rates (apps/deliverability/selectors.py)."""
    client = lookups.client_for_user(request.user)
    days = rate_days(request.GET.get("days"))
    context = {"client": client, "days": days, "threshold": settings.BOUNCE_BREAKER_PERCENT,
               "rows": rate_rows(lookups.delivery_rates_for_client(client, days=days))}
    return render(request, "portal/deliverability.html", context)


DELIVERIES_PER_PAGE = 50


@login_required
def webhook_view(request):
    """The client's webhook: URL, secret (shown once, when made), and the delivery log."""
    client = lookups.client_for_user(request.user)
    new_secret = None
    if request.method == "POST":
        action = request.POST.get("action")
        try:
            if action == "save":
                new_secret = webhook_register(client=client, url=request.POST.get("url", ""),
                                              actor=request.user)
                messages.success(request, "Webhook URL saved.")
            elif action == "rotate":
                new_secret = webhook_secret_rotate(client=client, actor=request.user)
                messages.success(request, "New signing secret made; the old one no longer signs.")
            elif action == "remove":
                webhook_remove(client=client, actor=request.user)
                messages.success(request, "Webhook removed: nothing more will be sent.")
                return redirect("portal:webhook")
        except ServiceError as exc:
            messages.error(request, str(exc))
        if new_secret is None:
            return redirect("portal:webhook")
    deliveries = lookups.deliveries_for_client(client).select_related("event").order_by(
        "-created_at", "-pk"
    )
    page = Paginator(deliveries, DELIVERIES_PER_PAGE).get_page(request.GET.get("page"))
    context = {
        "client": client, "endpoint": endpoint_for_client(client), "new_secret": new_secret,
        "page": page, "url_value": request.POST.get("url", "") if request.method == "POST" else "",
    }
    # The secret is in this answer only: never cached, never shown again.
    response = render(request, "portal/webhook.html", context)
    response["Cache-Control"] = "no-store"
    return response


@login_required
def webhook_delivery_view(request, delivery_id: int):
    client = lookups.client_for_user(request.user)
    delivery = lookups.delivery_for_client(client, delivery_id)
    return render(request, "portal/webhook_delivery.html", {"delivery": delivery})
