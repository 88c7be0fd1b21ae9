"""The client JSON API under /api/v1/: bearer tokens an operator issues, scoped to one client.

Every endpoint looks objects up through apps.portal.lookups with the token's client, so another
client's batch is the same 404 as a batch that does not exist. Errors are JSON objects with a
`code` and a `message`.
"""

import logging
from datetime import datetime
from typing import Annotated

from axes.handlers.proxy import AxesProxyHandler
from django.conf import settings
from django.contrib.auth.signals import user_login_failed
from django.db.models.functions import Lower
from django.http import Http404
from django.utils import timezone
from ninja import NinjaAPI, Path, Query, Schema, Status
from ninja.errors import AuthenticationError, HttpError, ValidationError
from ninja.security import HttpBearer
from pydantic import AfterValidator, Field, StringConstraints

from apps.core.addresses import address_key
from apps.core.errors import ServiceError, TransitionConflict
from apps.core.models import BatchStatus, Prospect
from apps.generation.services import batch_start
from apps.planning.commitments import commitment_summary
from apps.planning.selectors import ClientQuote, client_quote, quote_for_new
from apps.portal import lookups, selectors
from apps.portal.ratelimit import over_limit
from apps.portal.services import token_authenticate
from apps.review.models import StatusCheckSource
from apps.review.services import batch_withdraw, status_check_record

log = logging.getLogger(__name__)


class LockedOut(Exception):
    """Too many bad tokens from this address (django-axes): 429 until the lock lapses."""


class TokenAuth(HttpBearer):
    def authenticate(self, request, token):
        # A wrong token is a failed login for django-axes, counted per address like a wrong
        # password: guessing tokens is throttled as guessing passwords is.
        credentials = {"username": f"api-token@{request.META.get('REMOTE_ADDR', '')}"}
        AxesProxyHandler.update_request(request)
        if not AxesProxyHandler.is_allowed(request, credentials):
            raise LockedOut
        api_token = token_authenticate(token)
        if api_token is None:
            user_login_failed.send(sender=TokenAuth, credentials=credentials, request=request)
            return None
        if over_limit(api_token.pk):
            raise HttpError(429, "Too many requests for this token; slow down.")
        return api_token


api = NinjaAPI(
    title="Outbound review API",
    version="1",
    urls_namespace="api-v1",
    auth=TokenAuth(),
    docs_url="/docs",
)


class ErrorOut(Schema):
    code: str
    message: str


def _error(request, status: int, code: str, message: str):
    return api.create_response(request, {"code": code, "message": message}, status=status)


@api.exception_handler(Http404)
def not_found(request, exc):
    return _error(request, 404, "not_found", str(exc) or "Not found.")


@api.exception_handler(AuthenticationError)
def unauthorized(request, exc):
    return _error(request, 401, "unauthorized", "A valid, unrevoked API token is required.")


@api.exception_handler(LockedOut)
def locked_out(request, exc):
    from apps.security.lockouts import lockout_response

    return lockout_response(request)


@api.exception_handler(ValidationError)
def invalid(request, exc):
    first = exc.errors[0] if exc.errors else {}
    where = ".".join(str(part) for part in first.get("loc", []))
    return _error(request, 422, "invalid", f"{where}: {first.get('msg', 'invalid input')}")


@api.exception_handler(HttpError)
def http_error(request, exc):
    codes = {413: "too_large", 429: "rate_limited", 400: "bad_request"}
    return _error(request, exc.status_code, codes.get(exc.status_code, "error"), str(exc))


@api.exception_handler(ServiceError)
def refused(request, exc):
    if isinstance(exc, TransitionConflict):
        # Someone acted first (a reviewer's decision against a withdrawal): the message says who.
        return _error(request, 409, "conflict", str(exc))
    return _error(request, 422, "refused", str(exc))


# Ids are bigint columns: anything outside is "not found" rather than a database error.
MAX_ID = 2**63 - 1
BatchId = Path(..., ge=1, le=MAX_ID)


class Counts(Schema):
    messages: int
    excluded: int
    flagged: int
    sent: int
    # Delivery could not be confirmed (status needs_attention until our team resolves them).
    unknown: int


class Timeline(Schema):
    queue_position: int | None = None
    queue_length: int | None = None
    expected_decision_at: datetime | None = None
    explanation: str | None = None
    # When the quote was last worked out, and when its expected time last moved.
    quoted_at: datetime | None = None
    quote_changed_at: datetime | None = None
    # The first quote of this stay in review, kept beside the latest.
    first_expected_decision_at: datetime | None = None


class BatchOut(Schema):
    id: int
    campaign_id: int
    campaign: str
    status: BatchStatus
    created_at: datetime
    in_review_since: datetime | None
    decided_at: datetime | None
    sent_at: datetime | None
    counts: Counts


class BatchDetailOut(BatchOut):
    queue_position: int | None = None
    expected_decision_at: datetime | None = None
    timeline: Timeline


class ExtendedOut(Schema):
    over_messages: int
    target_minutes: int
    target_pct: int
    commitment: str


class DayOut(Schema):
    day: str
    decided: int
    within_target_pct: float


class FiguresOut(Schema):
    window_days: int
    decided: int
    p50_minutes: float | None
    p95_minutes: float | None
    within_target_pct: float | None
    extended_decided: int
    extended_within_target_pct: float | None
    days: list[DayOut]


class CommitmentOut(Schema):
    tier: str
    tier_label: str
    commitment: str
    covered_hours: str
    target_minutes: int | None
    target_pct: int | None
    covered: list[str]
    not_covered: list[str]
    extended: ExtendedOut | None
    figures: FiguresOut


class BatchPage(Schema):
    count: int
    limit: int
    offset: int
    items: list[BatchOut]


class FindingSummaryOut(Schema):
    rule_code: str
    severity: str
    messages: int
    explanation: str


def _storable(value: str) -> str:
    # PostgreSQL cannot store a lone surrogate (a NUL the pattern already refuses).
    if any("\ud800" <= ch <= "\udfff" for ch in value):
        raise ValueError("holds an unpaired surrogate (\\ud800-\\udfff)")
    return value


# An address as the API takes it: no control characters (NUL included), 320 characters at most.
Address = Annotated[
    str, StringConstraints(max_length=320, pattern=r"^[^\x00-\x1f\x7f]*$"),
    AfterValidator(_storable),
]


class BatchCreateIn(Schema):
    campaign_id: int = Field(gt=0, le=MAX_ID)
    prospect_emails: list[Address] = Field(min_length=1, max_length=100_000)


class BatchFilters(Schema):
    status: BatchStatus | None = None
    campaign_id: int | None = Field(None, ge=1, le=MAX_ID)
    limit: int = Field(50, ge=1, le=settings.API_PAGE_SIZE_MAX)
    offset: int = Field(0, ge=0, le=MAX_ID)


def _batch_out(batch) -> dict:
    return {
        "id": batch.pk,
        "campaign_id": batch.campaign_id,
        "campaign": batch.campaign.name,
        "status": batch.status,
        "created_at": batch.created_at,
        "in_review_since": batch.entered_review_at
        if batch.status == BatchStatus.IN_REVIEW
        else None,
        "decided_at": batch.decided_at,
        "sent_at": batch.sent_at,
        "counts": {
            "messages": batch.total,
            "excluded": batch.excluded,
            "flagged": batch.flagged,
            "sent": batch.sent,
            "unknown": batch.unknown,
        },
    }


def _timeline(quote: ClientQuote | None) -> dict:
    if quote is None:
        return {}
    return {
        "queue_position": quote.position,
        "queue_length": quote.queue_length,
        "expected_decision_at": quote.expected_at,
        "explanation": quote.explanation,
        "quoted_at": quote.quoted_at,
        "quote_changed_at": quote.changed_at,
        "first_expected_decision_at": quote.first_expected_at,
    }


def _detail(client, batch_id: int) -> dict:
    batch = lookups.batch_for_client(client, batch_id)
    batches = lookups.batches_for_client(client).filter(pk=batch.pk)
    counted = selectors.with_counts(batches=batches).select_related("campaign").get()
    timeline = _timeline(client_quote(batch=batch))
    return {
        **_batch_out(counted),
        "queue_position": timeline.get("queue_position"),
        "expected_decision_at": timeline.get("expected_decision_at"),
        "timeline": timeline,
    }


@api.get("/batches", response={200: BatchPage, 401: ErrorOut, 422: ErrorOut, 429: ErrorOut})
def list_batches(request, filters: Query[BatchFilters]):
    batches = lookups.batches_for_client(request.auth.client)
    if filters.status:
        batches = batches.filter(status=filters.status)
    if filters.campaign_id:
        batches = batches.filter(campaign_id=filters.campaign_id)
    count = batches.count()
    page = selectors.with_counts(batches=batches.select_related("campaign")).order_by(
        "-created_at", "-pk"
    )
    page = page[filters.offset : filters.offset + filters.limit]
    return {
        "count": count, "limit": filters.limit, "offset": filters.offset,
        "items": [_batch_out(batch) for batch in page],
    }


@api.get(
    "/batches/{batch_id}",
    response={200: BatchDetailOut, 401: ErrorOut, 404: ErrorOut, 429: ErrorOut},
)
def get_batch(request, batch_id: int = BatchId):
    batch = lookups.batch_for_client(request.auth.client, batch_id)
    status_check_record(batch=batch, source=StatusCheckSource.API)
    return _detail(request.auth.client, batch_id)


@api.post(
    "/batches/{batch_id}/withdraw",
    response={200: BatchDetailOut, 401: ErrorOut, 404: ErrorOut, 409: ErrorOut, 429: ErrorOut},
)
def withdraw_batch(request, batch_id: int = BatchId):
    """Take back a batch waiting in review: it leaves the queue and is never sent. 409 when it
    is no longer in review (a reviewer decided first: the message names who)."""
    batch = lookups.batch_for_client(request.auth.client, batch_id)
    batch_withdraw(batch=batch, actor=request.auth)
    return _detail(request.auth.client, batch_id)


@api.get("/commitment", response={200: CommitmentOut, 401: ErrorOut, 429: ErrorOut})
def get_commitment(request):
    """The client's tier, what it commits to, and its real figures over the last 30 days."""
    return commitment_summary(tier=request.auth.client.tier, now=timezone.now())


@api.get(
    "/batches/{batch_id}/findings",
    response={200: list[FindingSummaryOut], 401: ErrorOut, 404: ErrorOut, 429: ErrorOut},
)
def get_findings(request, batch_id: int = BatchId):
    batch = lookups.batch_for_client(request.auth.client, batch_id)
    return selectors.findings_summary(batch_id=batch.pk)


@api.post(
    "/batches",
    response={
        201: BatchDetailOut, 401: ErrorOut, 404: ErrorOut, 413: ErrorOut, 422: ErrorOut,
        429: ErrorOut,
    },
)
def create_batch(request, payload: BatchCreateIn):
    if len(request.body) > settings.API_MAX_BODY_BYTES:
        raise HttpError(413, f"The request is over {settings.API_MAX_BODY_BYTES} bytes.")
    client = request.auth.client
    campaign = lookups.campaign_for_client(client, payload.campaign_id)
    wanted = {address_key(email) for email in payload.prospect_emails}
    prospects = list(
        Prospect.objects.annotate(address=Lower("email")).filter(client=client, address__in=wanted)
    )
    missing = wanted - {p.address for p in prospects}
    if missing:
        sample = ", ".join(sorted(missing)[:5])
        raise ServiceError(f"{len(missing)} address(es) are not prospects of yours: {sample}")
    quote_time = timezone.now()
    quote = quote_for_new(size=len(prospects), tier=client.tier, now=quote_time)
    batch = batch_start(campaign=campaign, prospects=prospects, actor=request.auth)
    detail = _detail(client, batch.pk)
    detail["timeline"] = {
        "queue_position": quote.position, "queue_length": quote.queue_length,
        "expected_decision_at": quote.expected_at, "explanation": quote.explanation,
        "quoted_at": quote_time, "quote_changed_at": quote_time,
        "first_expected_decision_at": quote.expected_at,
    }
    detail["expected_decision_at"] = quote.expected_at
    return Status(201, detail)
