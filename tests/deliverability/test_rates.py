"""Bounce and complaint rates per client, sending domain and day (apps/deliverability/
selectors.py): what the admin chart and the portal page show, from reports applied by
report_apply; a client's page holds its own figures only."""

from datetime import timedelta

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from apps.core.models import Message
from apps.deliverability.reading import read_report
from apps.deliverability.selectors import rates
from apps.deliverability.services import report_apply
from tests.conftest import make_campaign
from tests.deliverability.conftest import arf_complaint, delivered_to, sample, sent_batch

pytestmark = pytest.mark.django_db


def sent_days_ago(campaign, *, start: int, count: int, days_ago: int) -> list[Message]:
    batch = sent_batch(campaign, count, start=start)
    when = timezone.now() - timedelta(days=days_ago)
    Message.objects.filter(batch=batch).update(sent_at=when)
    return list(Message.objects.filter(batch=batch).order_by("pk"))


@pytest.fixture
def acme_history(acme_client):
    campaign = make_campaign(acme_client, sender_email="sam@mail.acme.test")
    early = sent_days_ago(campaign, start=0, count=20, days_ago=2)
    with time_machine.travel(timezone.now() - timedelta(days=2), tick=True):
        report_apply(report=read_report(delivered_to(early[0], sample("postfix_01"))))
        report_apply(report=read_report(arf_complaint(early[1])))
    sent_days_ago(campaign, start=100, count=10, days_ago=0)
    return campaign


def test_rates_per_domain_and_day(acme_history):
    [series] = rates(client_id=acme_history.client_id, days=7)

    assert series.domain == "mail.acme.test" and len(series.days) == 7
    busy = [(d.sent, d.hard, d.complaints) for d in series.days if d.sent]
    assert busy == [(20, 1, 1), (10, 0, 0)]
    assert (series.bounce_rate, series.complaint_rate) == (100 / 30, 100 / 30)
    assert series.days[-3].bounce_rate == 5.0


def test_each_client_and_domain_is_its_own_series(acme_history, globex_client):
    news = make_campaign(globex_client, sender_email="gina@news.globex.test")
    sent_days_ago(news, start=300, count=5, days_ago=1)

    every = rates(days=7)

    assert [(s.client_name, s.domain, s.sent) for s in every] == [
        ("Acme Outreach", "mail.acme.test", 30), ("Globex", "news.globex.test", 5)]
    assert [s.domain for s in rates(client_id=globex_client.pk, days=7)] == ["news.globex.test"]


def test_a_fixed_number_of_queries(acme_history, globex_client):
    news = make_campaign(globex_client, sender_email="gina@news.globex.test")
    sent_days_ago(news, start=300, count=5, days_ago=1)

    with CaptureQueriesContext(connection) as queries:
        rates(days=30)

    assert len(queries) == 3


def test_the_portal_page_shows_the_clients_own_rates(client, carl, acme_history, globex_client):
    news = make_campaign(globex_client, sender_email="gina@news.globex.test")
    sent_days_ago(news, start=300, count=5, days_ago=1)
    client.force_login(carl)

    page = client.get("/portal/deliverability/").content.decode()

    assert "mail.acme.test" in page and "30 sent" in page
    assert "globex" not in page.lower()


def test_the_portal_page_needs_a_client_account(client, oscar):
    client.force_login(oscar)  # staff, no client account

    assert client.get("/portal/deliverability/").status_code == 404


def test_the_portal_page_needs_a_login(client):
    response = client.get("/portal/deliverability/")

    assert response.status_code == 302 and "/accounts/login/" in response["Location"]


def test_the_admin_page_needs_the_view_permission(client, django_user_model, acme_history):
    staff = django_user_model.objects.create_user("sid", password="pw", is_staff=True)
    client.force_login(staff)

    assert client.get("/admin/deliverability/bounceevent/rates/").status_code == 403
