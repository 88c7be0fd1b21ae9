"""An operator starts a batch from a campaign in the admin; a reviewer may not."""

import pytest
from django.urls import reverse

from apps.core.models import AuditEvent, Batch

pytestmark = pytest.mark.django_db


def test_operator_starts_a_batch_from_a_filter(
    client, oscar, acme_campaign, acme_prospects, django_capture_on_commit_callbacks
):
    client.force_login(oscar)
    url = reverse("admin:core_campaign_start_batch", args=[acme_campaign.pk])
    page = client.get(url, {"domain": "Hooli.com"})
    assert page.status_code == 200
    assert page.context["preview"].count == 1
    assert "richard@hooli.com" in page.content.decode()
    assert "peter@initech.com" not in page.content.decode()
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        response = client.post(url, {"domain": "hooli.com", "seen_count": 1})
    batch = Batch.objects.get()
    assert response.status_code == 302
    assert list(batch.prospects.values_list("pk", flat=True)) == [acme_prospects[1].pk]
    assert len(callbacks) == 1
    assert AuditEvent.objects.get(batch=batch).actor == oscar


def test_a_selection_that_changed_since_it_was_shown_is_not_started(
    client, oscar, acme_campaign, acme_prospects
):
    client.force_login(oscar)
    url = reverse("admin:core_campaign_start_batch", args=[acme_campaign.pk])
    response = client.post(url, {"seen_count": 2})  # all three match now
    assert response.status_code == 200
    assert "now has 3 prospect(s), not the 2 shown" in response.content.decode()
    assert response.context["preview"].count == 3
    assert not Batch.objects.exists()


def test_past_the_count_limit_the_page_says_more_than_and_starts_them_all(
    client, oscar, acme_campaign, acme_prospects, monkeypatch
):
    """Counting stops at the limit ("more than 2" here); the exact count is one link away, and
    the batch takes every matching prospect and says how many."""
    monkeypatch.setattr("apps.backoffice.start_batch.COUNT_LIMIT", 2)
    client.force_login(oscar)
    url = reverse("admin:core_campaign_start_batch", args=[acme_campaign.pk])
    page = client.get(url, {"created_since": "2020-01-01"})  # all three
    body = page.content.decode()
    assert page.context["preview"].over_limit and page.context["preview"].count == 2
    assert 'More than <output id="selection-count" data-over-limit>2</output>' in body
    assert 'value="Start the batch for more than 2 prospects"' in body
    assert page.context["count_exactly_url"] == "?created_since=2020-01-01&exact=1"
    exact = client.get(url + page.context["count_exactly_url"])
    assert not exact.context["preview"].over_limit and exact.context["preview"].count == 3
    assert 'value="Start the batch for 3 prospects"' in exact.content.decode()

    response = client.post(url, {"created_since": "2020-01-01", "seen_count": 2,
                                 "seen_over_limit": "True"},
                           follow=True)
    batch = Batch.objects.get()
    assert set(batch.prospects.all()) == set(acme_prospects)
    assert f"Batch {batch.pk} started for 3 prospects" in response.content.decode()


def test_a_selection_no_longer_past_the_limit_is_not_started(
    client, oscar, acme_campaign, acme_prospects
):
    client.force_login(oscar)
    url = reverse("admin:core_campaign_start_batch", args=[acme_campaign.pk])
    response = client.post(url, {"domain": "hooli.com", "seen_count": 2,
                                 "seen_over_limit": "True"})
    assert response.status_code == 200
    assert "now has 1 prospect(s), not more than 2 as shown" in response.content.decode()
    assert not Batch.objects.exists()


def test_reviewer_cannot_start_a_batch(client, rita, acme_campaign, acme_prospects):
    client.force_login(rita)
    url = reverse("admin:core_campaign_start_batch", args=[acme_campaign.pk])
    assert client.post(url, {"seen_count": 3}).status_code == 403
    assert not Batch.objects.exists()


def test_reviewer_cannot_change_rules(client, rita):
    from apps.core.models import ValidationRule

    rule = ValidationRule.objects.get(code="legal_form")
    client.force_login(rita)
    url = reverse("admin:core_validationrule_change", args=[rule.pk])
    client.post(
        url, {"enabled": "", "severity": "warn", "parameters": "{}", "seen_version": rule.version}
    )
    rule.refresh_from_db()
    assert rule.enabled and rule.severity == "block"


def test_operator_changes_a_rule_new_version_audited(client, oscar):
    from apps.core.models import ValidationRule

    rule = ValidationRule.objects.get(code="legal_form")
    client.force_login(oscar)
    url = reverse("admin:core_validationrule_change", args=[rule.pk])
    client.post(
        url,
        {"enabled": "on", "severity": "review", "parameters": "{}", "seen_version": rule.version},
    )
    changed = ValidationRule.objects.get(pk=rule.pk)
    assert changed.severity == "review" and changed.version == rule.version + 1
    event = AuditEvent.objects.get(action="rule_changed")
    assert event.actor == oscar and event.data["before"]["severity"] == "block"
    # A stale form (the version the operator saw is gone) is refused, not applied.
    client.post(
        url, {"enabled": "on", "severity": "warn", "parameters": "{}", "seen_version": rule.version}
    )
    assert ValidationRule.objects.get(pk=rule.pk).severity == "review"
