"""Login throttling: django-axes counts failed logins per account and per address (the admin,
the portal and API tokens alike); this module makes each lockout longer than the last, records
it in the audit trail and answers it with a page that says what happened and what to do.

An operator lifts a lockout in the admin (Axes → Access attempts: delete the row) or with
`manage.py axes_reset_username NAME` / `axes_reset_ip ADDRESS` / `axes_reset`.
"""

from datetime import timedelta

from axes.signals import user_locked_out
from django.conf import settings
from django.db.models import Q
from django.dispatch import receiver
from django.http import JsonResponse
from django.shortcuts import render
from django.utils import timezone


def _who(request, credentials=None) -> tuple[str, str]:
    username = ""
    if credentials:
        username = str(credentials.get("username") or "")
    elif request is not None and request.method == "POST":
        username = request.POST.get("username", "")
    address = request.META.get("REMOTE_ADDR", "") if request is not None else ""
    return username[:150], address


def cool_off(request=None) -> timedelta:
    """AXES_COOLOFF_TIME: the base lockout, doubled for each lockout of the same account or
    address in the last day (15 min, 30, 60, … at most a day), so guessing stays slow."""
    from apps.core.audit import AuditAction
    from apps.core.models import AuditEvent

    base = timedelta(minutes=settings.LOGIN_LOCKOUT_MINUTES)
    if request is None:
        return base
    username, address = _who(request, getattr(request, "axes_credentials", None))
    since = timezone.now() - timedelta(days=1)
    match = Q(data__username=username) if username else Q()
    if address:
        match |= Q(data__address=address)
    if not match:
        return base
    # The lockout being served is among them: the first of the day gets the base time.
    lockouts = AuditEvent.objects.filter(
        match, action=AuditAction.LOGIN_LOCKED_OUT, created_at__gte=since
    ).count()
    return min(base * 2 ** min(max(lockouts - 1, 0), 10), timedelta(days=1))


@receiver(user_locked_out)
def record_lockout(sender, request, username=None, ip_address=None, **kwargs):
    from apps.core.audit import AuditAction, record_event

    # axes signals every failure past the limit; the lockout starts at the limit itself.
    if getattr(request, "axes_failures_since_start", None) != settings.AXES_FAILURE_LIMIT:
        return
    record_event(
        actor=None, action=AuditAction.LOGIN_LOCKED_OUT, at=timezone.now(),
        reason=f"too many failed logins for {username or '?'} from {ip_address or '?'}",
        data={"username": (username or "")[:150], "address": ip_address or "",
              "path": request.path[:200] if request is not None else ""},
    )


def lockout_response(request, original_response=None, credentials=None):
    """AXES_LOCKOUT_CALLABLE: HTTP 429 with a page (JSON on the API) that says the login is
    locked, for how long, and who can lift it. It says so for the right password too."""
    minutes = int(cool_off(request).total_seconds() // 60)
    message = (
        f"Too many failed logins: this account or address is locked for {minutes} minutes. "
        "Try again later, or ask an operator to lift the lock."
    )
    if request.path.startswith("/api/"):
        return JsonResponse({"code": "locked_out", "message": message}, status=429)
    return render(request, "security/locked_out.html", {"message": message}, status=429)
