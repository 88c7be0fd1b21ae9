"""The operators' capacity plan page: the same plan as `capacity_plan`, per tier and for one
more point, priced at the operators' hourly cost; a volume can be tried; operators only."""

from decimal import Decimal

import pytest
from django.core.cache import cache
from django.urls import reverse
from django.utils import timezone

from apps.planning.models import ReviewerCost
from tests.planning.support import cover_all_day, record_history

pytestmark = pytest.mark.django_db
URL = reverse("admin:planning_capacity_plan")


@pytest.fixture
def history(planning_seeded, rita):
    cache.clear()
    cover_all_day()
    record_history(
        now=timezone.now(), days=28, per_hour={"standard": 3.0, "priority": 1.0},
        handling_minutes={"standard": 12.0, "priority": 6.0}, reviewer=rita,
    )


def _row(page: str, tier: str) -> str:
    return page.split(f'id="plan-{tier}"')[1].split('class="tier-row"')[0]


def test_shows_each_tier_and_one_more_point_at_the_operators_price(client, oscar, history):
    ReviewerCost.objects.update(hourly_cost=Decimal("30.00"), currency="GBP")
    client.force_login(oscar)
    page = client.get(URL).content.decode()
    standard = _row(page, "standard")
    assert "95 % within 4 h" in standard and "96 % within 4 h" in standard
    assert "95 % within 3 h" in standard and "GBP" in standard
    assert "30.00 GBP per reviewer-hour" in page
    assert 'id="plan-team"' in page


def test_a_tried_volume_is_planned(client, oscar, history):
    client.force_login(oscar)
    page = client.get(URL, {"volume_per_day": "200"}).content.decode()
    assert "At 200.0 batches a day" in page


def test_a_bad_volume_is_an_error_on_the_form(client, oscar, history):
    client.force_login(oscar)
    page = client.get(URL, {"volume_per_day": "-3"}).content.decode()
    assert "errorlist" in page and 'id="plan-table"' not in page


def test_without_history_the_page_says_why(client, oscar, planning_seeded):
    cache.clear()
    client.force_login(oscar)
    page = client.get(URL).content.decode()
    assert 'id="plan-error"' in page and "no handling times to simulate with" in page


def test_reviewers_may_not_see_it(client, rita, planning_seeded):
    client.force_login(rita)
    assert client.get(URL).status_code == 403


def test_the_hourly_cost_refuses_zero(planning_seeded):
    from django.db import IntegrityError, transaction

    with pytest.raises(IntegrityError), transaction.atomic():
        ReviewerCost.objects.update(hourly_cost=Decimal("0"))
