"""An operator starts a batch from a campaign in the admin; a reviewer may not."""

import pytest
from django.urls import reverse

from apps.core.models import AuditEvent, Batch

pytestmark = pytest.mark.django_db


def test_operator_starts_a_batch_with_chosen_prospects(
    client, oscar, acme_campaign, acme_prospects, django_capture_on_commit_callbacks
):
    client.force_login(oscar)
    url = reverse("admin:core_campaign_start_batch", args=[acme_campaign.pk])
    page = client.get(url)
    assert page.status_code == 200 and acme_prospects[0].email in page.content.decode()
    chosen = [acme_prospects[0].pk, acme_prospects[2].pk]
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        response = client.post(url, {"prospects": chosen})
    batch = Batch.objects.get()
    assert response.status_code == 302
    assert sorted(batch.prospects.values_list("pk", flat=True)) == sorted(chosen)
    assert len(callbacks) == 1
    assert AuditEvent.objects.get(batch=batch).actor == oscar


def test_reviewer_cannot_start_a_batch(client, rita, acme_campaign, acme_prospects):
    client.force_login(rita)
    url = reverse("admin:core_campaign_start_batch", args=[acme_campaign.pk])
    assert client.post(url, {"prospects": [acme_prospects[0].pk]}).status_code == 403
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
