"""Issue 13: no input reaches a 500. Every URL pattern (walked from the URL configuration, so a
new route is covered without anyone remembering to) is driven with hostile path values, query
strings and form posts, as an operator with every permission and as a client user; every API
route also gets bodies of every size. Nothing may answer 5xx, and the API answers JSON."""

import re

import pytest
from django.contrib.auth.models import User
from django.urls import URLPattern, URLResolver, get_resolver
from django.urls.resolvers import RoutePattern

from apps.core.models import Message
from tests.conftest import in_review_batch

pytestmark = pytest.mark.django_db

BIGINT_MAX = 2**63 - 1
# Values for each path parameter: not numbers, negative, past int and bigint, control
# characters, a surrogate escape, very long.
PATH_VALUES = [
    "abc", "-1", "0", str(2**31), str(BIGINT_MAX), str(BIGINT_MAX + 1), "9" * 40,
    "%00", "1%00", "%ED%A0%80", "%F0%9F%92%A5", "x" * 3000, "..%2F..%2Fetc%2Fpasswd",
]
QUERIES = [
    "", "?kind=%00", "?page=-1&client=%00&tier=%FF&claimed=x", "?q=%00&o=-99&p=abc&e=1",
    "?status=%00&campaign_id=99999999999999999999&limit=-1&offset=%00",
    "?_changelist_filters=%00&kind=" + "k" * 5000, "?id__exact=abc&pk=9223372036854775808",
]
FORMS = [
    {"reason": "x\x00", "code": "other", "apply": "\x00", "page": "\x00"},
    {
        "reason": "r",
        "code": "nope",
        "apply": '["legal_form","body","Inc.",""]',
        "message_ids": ["abc", "-1", "99999999999999999999"],
        "page": "-1",
        "reviewer": "abc",
        "action": "approve_selected",
        "_selected_action": ["abc", "-1", "99999999999999999999"],
        "client": "abc",
        "prospects": ["abc"],
        "seen_hash": "x",
        "enabled": "on",
    },
]


def _routes(patterns=None, prefix=""):
    """Every URL pattern's route with its parameters as {name}."""
    for entry in patterns if patterns is not None else get_resolver().url_patterns:
        if isinstance(entry, URLResolver):
            yield from _routes(entry.url_patterns, prefix + _route_of(entry.pattern))
        elif isinstance(entry, URLPattern):
            yield prefix + _route_of(entry.pattern)


def _route_of(pattern) -> str:
    if isinstance(pattern, RoutePattern):
        return re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", str(pattern))
    # A regular expression (the admin's app index): its groups become parameters.
    text = str(pattern).lstrip("^").rstrip("$").replace("\\Z", "")
    return re.sub(r"\(\?P<(\w+)>[^)]*\)", r"{\1}", text).replace("\\", "")


ROUTES = sorted(set(_routes()))


def _fill(route: str, value: str) -> str:
    return "/" + re.sub(r"\{\w+\}", value, route)


def test_the_walk_finds_the_routes_it_must():
    for route in ("admin/core/batch/{batch_id}/approve/", "api/v1/batches/{batch_id}",
                  "portal/batches/{batch_id}/approve/", "admin/core/batch/{object_id}/change/",
                  "unsubscribe/{token}", "accounts/login/"):
        assert route in ROUTES, route


@pytest.fixture
def root(seeded):
    return User.objects.create_superuser("root", "root@outbound.test", "pw")


@pytest.fixture
def real_ids(acme_campaign, acme_prospects):
    batch = in_review_batch(acme_campaign, acme_prospects)
    return [str(batch.pk), str(Message.objects.filter(batch=batch).first().pk)]


def _check(response, url):
    if url.startswith("/healthz") and response.status_code == 503:
        return  # the health check's own answer: no worker runs in this test
    assert response.status_code < 500, (url, response.status_code, response.content[:300])
    if url.startswith("/api/") and response.status_code >= 400:
        assert response["Content-Type"].startswith("application/json"), (url, response.status_code)


@pytest.mark.parametrize("route", ROUTES)
def test_no_route_answers_5xx(client, root, carl, real_ids, route, settings):
    settings.AXES_FAILURE_LIMIT = 100_000  # hostile logins are this test's input, not a lockout
    settings.API_RATE_LIMIT_PER_MINUTE = 1_000_000
    hostile = PATH_VALUES if "{" in route else []
    real = real_ids if "{" in route else [""]
    for user in (root, carl):
        client.force_login(user)
        # Hostile path values: a GET and a form post each. Real ids (a route that exists):
        # every hostile query string and form.
        for value in hostile:
            url = _fill(route, value)
            _check(client.get(url), url)
            _check(client.post(url, FORMS[1]), url)
        for value in real:
            url = _fill(route, value)
            for query in QUERIES:
                _check(client.get(url + query), url + query)
            for form in FORMS:
                _check(client.post(url, form), url)


API_ROUTES = [r for r in ROUTES if r.startswith("api/")]
SIZES = [0, 1_000, 999_999, 1_000_001, 1_500_000, 2_500_000, 2_621_441, 3_300_000]


@pytest.mark.parametrize("route", API_ROUTES)
def test_api_bodies_of_every_size(client, route, real_ids, settings):
    url = _fill(route, real_ids[0])
    for size in SIZES:
        body = b'{"campaign_id": 1, "prospect_emails": ["' + b"a" * size + b'"]}'
        for method in (client.post, client.put, client.patch, client.delete):
            response = method(url, body, content_type="application/json")
            _check(response, url)
            if len(body) > settings.API_MAX_BODY_BYTES:
                assert response.status_code == 413, (url, size, response.status_code)
                assert response.json()["code"] == "too_large"


@pytest.mark.parametrize("route", API_ROUTES + ["api/v1/nowhere", "api/v1/batches/x/y"])
def test_api_unknown_routes_and_methods_are_json(client, route, real_ids):
    url = _fill(route, real_ids[0])
    for method in (
        client.get,
        client.post,
        client.put,
        client.patch,
        client.delete,
        client.options,
    ):
        response = method(url)
        _check(response, url)
        if response.status_code >= 400:
            assert set(response.json()) >= {"code", "message"}, (url, response.json())
