"""The bulk fix: one action applies a group's suggested fix ("4 messages contain ' GmbH'") to
every message with it, or to a selection; it changes exactly those messages, re-validates
them, and writes one audit event per message."""

import pytest

from apps.core.models import AuditEvent, Finding, Message, Prospect
from apps.review.selectors import finding_groups
from apps.review.services import FindingGroup, findings_fix_group
from tests.conftest import in_review_batch
from tests.review.conftest import flag_legal_form

pytestmark = pytest.mark.django_db
GMBH = FindingGroup(rule_code="legal_form", field="body", text=" GmbH", suggestion="")


@pytest.fixture
def batch(acme_client, acme_campaign, dns_server):
    """Six messages: four say "… GmbH team", one "… Ltd team", one is clean."""
    prospects = [
        Prospect.objects.create(
            client=acme_client, email=f"p{i}@initech.com", first_name=f"P{i}", company="Initech"
        )
        for i in range(6)
    ]
    batch = in_review_batch(acme_campaign, prospects)
    messages = list(batch.messages.order_by("pk"))
    for message in messages[:4]:
        flag_legal_form(message, form="GmbH")
    flag_legal_form(messages[4], form="Ltd")
    return batch


def bodies(batch):
    return list(batch.messages.order_by("pk").values_list("body", flat=True))


def test_groups_count_messages_by_flagged_text(batch):
    groups = {(g["rule_code"], g["text"]): g["messages"] for g in finding_groups(batch_id=batch.pk)}
    assert groups == {("legal_form", " GmbH"): 4, ("legal_form", " Ltd"): 1}


def test_fix_all_changes_exactly_the_flagged_messages(batch, rita):
    before = bodies(batch)

    result = findings_fix_group(batch_id=batch.pk, actor=rita, group=GMBH)

    assert (result.fixed, result.skipped) == (4, 0)
    after = bodies(batch)
    assert after[:4] == ["Hi Initech team,\n"] * 4
    assert after[4:] == before[4:]  # the Ltd message and the clean one are untouched
    fixed = list(batch.messages.order_by("pk")[:4])
    # Re-validated: the real checks found nothing left, and the stored hash matches the text.
    assert {m.worst_severity for m in fixed} == {""}
    assert not Finding.objects.filter(message__in=fixed).exists()
    assert (
        Finding.objects.filter(
            message=batch.messages.order_by("pk")[4], rule_code="legal_form"
        ).count()
        == 1
    )
    events = AuditEvent.objects.filter(batch=batch, action="finding_fixed")
    assert sorted(events.values_list("message_id", flat=True)) == [m.pk for m in fixed]
    assert {e.data["before"]["body"] for e in events} == {"Hi Initech GmbH team,\n"}
    assert all(e.actor == rita for e in events)


def test_fix_a_selection_only(batch, rita):
    messages = list(batch.messages.order_by("pk"))
    chosen = [messages[1].pk, messages[3].pk, messages[5].pk]  # the last one has no GmbH

    result = findings_fix_group(batch_id=batch.pk, actor=rita, group=GMBH, message_ids=chosen)

    # The clean message was ticked but has no such finding: said so, not "changed meanwhile".
    assert (result.fixed, result.skipped, result.without) == (2, 0, 1)
    after = bodies(batch)
    assert after[1] == after[3] == "Hi Initech team,\n"
    assert after[0] == after[2] == "Hi Initech GmbH team,\n"
    assert AuditEvent.objects.filter(batch=batch, action="finding_fixed").count() == 2


def test_fix_twice_does_nothing_the_second_time(batch, rita):
    findings_fix_group(batch_id=batch.pk, actor=rita, group=GMBH)
    again = findings_fix_group(batch_id=batch.pk, actor=rita, group=GMBH)
    assert again.fixed == 0
    assert AuditEvent.objects.filter(batch=batch, action="finding_fixed").count() == 4


def test_bulk_fix_through_the_admin(client, batch, rita):
    import json

    from django.urls import reverse

    client.force_login(rita)
    key = json.dumps(["legal_form", "body", " GmbH", ""])
    response = client.post(
        reverse("admin:core_batch_fix_group", args=[batch.pk]), {"apply": key}, follow=True
    )
    assert "Fix applied to 4 message(s)" in response.content.decode()
    assert Message.objects.filter(batch=batch, body="Hi Initech team,\n").count() == 4
    assert [m.level_tag for m in response.context["messages"]][-1] == "success"


def test_fix_ticked_on_a_message_without_the_finding_says_so(client, batch, rita):
    import json

    from django.urls import reverse

    client.force_login(rita)
    clean = batch.messages.order_by("pk").last()
    key = json.dumps(["legal_form", "body", " GmbH", ""])
    response = client.post(
        reverse("admin:core_batch_fix_group", args=[batch.pk]),
        {"apply_selected": key, "message_ids": [clean.pk]}, follow=True,
    )
    shown = [(m.level_tag, str(m)) for m in response.context["messages"]]
    assert shown[-1] == (
        "error", "Fix applied to 0 message(s) and re-validated. 1 ticked message(s) have no "
        "such finding: left alone.",
    )
    assert "changed meanwhile" not in response.content.decode()


def test_groups_follow_the_fix(batch, rita):
    assert (" GmbH", 4) in [(g["text"], g["messages"]) for g in finding_groups(batch_id=batch.pk)]
    findings_fix_group(batch_id=batch.pk, actor=rita, group=GMBH)
    assert [(g["text"], g["messages"]) for g in finding_groups(batch_id=batch.pk)] == [(" Ltd", 1)]


def test_a_message_changed_since_it_was_read_is_left_alone(batch):
    from apps.core.bulk import update_texts_if_unchanged

    first, second = batch.messages.order_by("pk")[:2]
    stale = second.content_hash
    Message.objects.filter(pk=second.pk).update(content_hash="edited-meanwhile")
    for message in (first, second):
        message.body = "Rewritten\n"
    won = update_texts_if_unchanged([(first, first.content_hash), (second, stale)])
    assert won == {first.pk}
    assert Message.objects.get(pk=second.pk).body == "Hi Initech GmbH team,\n"
    assert Message.objects.get(pk=first.pk).body == "Rewritten\n"


def test_fix_keeps_the_batch_rules_findings(batch, rita, acme_client):
    """A fixed message is judged as batch_validate would: a recipient on the suppression list
    (a batch rule, not a per-message check) stays flagged after its legal form is fixed."""
    from apps.core.models import Suppression

    first = batch.messages.order_by("pk").first()
    Suppression.objects.create(client=acme_client, email=first.recipient, reason="asked to stop")

    findings_fix_group(batch_id=batch.pk, actor=rita, group=GMBH)

    first.refresh_from_db()
    assert first.body == "Hi Initech team,\n"
    assert list(Finding.objects.filter(message=first).values_list("rule_code", flat=True)) == [
        "suppressed"
    ]
    assert first.worst_severity == "block"
