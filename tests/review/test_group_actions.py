"""Group actions, on PostgreSQL: one action per rule over every message it flags, from the
reviewer's path and its preview. The fix applies the ticked changes only; a replacement
clears findings that have no fix ("Hi [First Name]," -> "Hi there,"); an exclusion takes one
reason; a message changed after the preview is left alone; two reviewers acting at once
change each message once."""

from datetime import timedelta

import pytest
from django.db import transaction
from django.utils import timezone

from apps.core.errors import ServiceError
from apps.core.models import AuditEvent, Finding, Message, Prospect, content_hash
from apps.review.models import ReviewRound
from apps.review.review_path import review_path
from apps.review.services import (
    RuleChange,
    batch_approve,
    batch_claim,
    message_edit,
    rule_exclude,
    rule_fix,
    rule_replace,
)
from apps.review.stats import decided_rounds, summarize
from apps.validation import suite
from apps.validation.services import messages_revalidate
from tests.conftest import _staff, in_review_batch
from tests.review.conftest import race

BODIES = [
    "Hi Anna,\n\nInitech GmbH is growing.\n",
    "Hi Ben,\n\nInitech GmbH is growing.\n",
    "Hi Carla,\n\nHooli Ltd is growing.\n",
    "Hi [First Name],\n\nUmbrella is growing.\n",
    "Hi Dave,\n\nUmbrella is growing.\n",
]


def messy_batch(campaign, client):
    """Five messages, validated by the real rules: two with " GmbH", one with " Ltd", one whose
    prospect's first name is a placeholder, one clean."""
    prospects = [
        Prospect.objects.create(
            client=client, email=f"p{i}@{domain}", company=company,
            first_name="[First Name]" if i == 3 else f"P{i}",
        )
        for i, (domain, company) in enumerate(
            [("initech.com", "Initech GmbH"), ("initech.com", "Initech GmbH"),
             ("hooli.com", "Hooli Ltd"), ("umbrella.com", "Umbrella"),
             ("umbrella.com", "Umbrella")]
        )
    ]
    batch = in_review_batch(campaign, prospects)
    messages = list(batch.messages.order_by("pk").select_related("batch", "prospect"))
    for message, body in zip(messages, BODIES, strict=True):
        message.subject, message.body = "A question", body
        message.content_hash = content_hash(
            recipient=message.recipient, subject=message.subject, body=body
        )
        Message.objects.filter(pk=message.pk).update(
            subject=message.subject, body=body, content_hash=message.content_hash
        )
    with transaction.atomic():
        messages_revalidate(messages=messages)
    return batch


def bodies(batch):
    return list(batch.messages.order_by("pk").values_list("body", flat=True))


@pytest.fixture
def batch(postgres_only, acme_campaign, acme_client, dns_server):
    return messy_batch(acme_campaign, acme_client)


@pytest.mark.django_db
def test_the_path_leads_with_what_clears_most_and_previews_each_change(batch):
    path = review_path(batch_id=batch.pk)

    assert [a.rule_code for a in path.blocking] == ["legal_form", "placeholder"]
    legal, placeholder = path.blocking
    assert (legal.messages, legal.clears, legal.primary) == (3, 3, "fix")
    assert legal.title == "Remove the legal forms from 3 messages"
    changes = {(g["field"], g["text"]): g["messages"] for g in legal.fixes}
    assert changes == {("body", " GmbH"): 2, ("body", " Ltd"): 1}
    gmbh = next(g for g in legal.fixes if g["text"] == " GmbH")
    assert (gmbh["sample"].before, gmbh["sample"].after) == (
        "Initech GmbH is growing.", "Initech is growing."
    )
    assert (placeholder.primary, placeholder.replacement) == ("replace", "there")
    [text_group] = placeholder.texts
    assert text_group["sample"].after == "Hi there,"


@pytest.mark.django_db
def test_fix_applies_the_ticked_changes_only(batch, rita):
    path = review_path(batch_id=batch.pk)

    result = rule_fix(batch_id=batch.pk, actor=rita, rule_code="legal_form",
                      changes={RuleChange("body", " GmbH")}, seen=path.seen)

    assert (result.changed, result.skipped) == (2, 0)
    after = bodies(batch)
    assert after[:2] == ["Hi Anna,\n\nInitech is growing.\n", "Hi Ben,\n\nInitech is growing.\n"]
    assert after[2] == BODIES[2]  # " Ltd" was unticked
    fixed = batch.messages.order_by("pk")[:2]
    assert not Finding.objects.filter(message__in=fixed).exists()  # re-validated: clean
    events = AuditEvent.objects.filter(batch=batch, action="finding_fixed")
    assert sorted(events.values_list("message_id", flat=True)) == [m.pk for m in fixed]
    assert sorted(e.data["before"]["body"] for e in events) == BODIES[:2]
    assert all(e.actor == rita and e.created_at for e in events)
    [action] = AuditEvent.objects.filter(batch=batch, action="findings_group_action")
    assert action.message_id is None and action.actor == rita
    assert action.data["changed"] == 2 and action.data["seconds"] >= 0


def stored_findings(batch):
    """What validation stored for the batch: every finding (but its id) and each message's
    worst severity."""
    findings = sorted(
        Finding.objects.filter(batch=batch).values_list(
            "message_id", "rule_code", "rule_version", "rule_override_version", "severity",
            "field", "start", "end", "explanation", "suggestion",
        ),
        key=repr,
    )
    return findings, dict(batch.messages.values_list("pk", "worst_severity"))


@pytest.mark.django_db
def test_findings_after_a_group_action_are_a_fresh_validations(batch, rita):
    # The second GmbH message writes to the first one's address: a duplicate, which only the
    # batch rule finds (against the rest of the batch), in a message the fix changes.
    first, second = batch.messages.order_by("pk")[:2]
    Message.objects.filter(pk=second.pk).update(recipient=first.recipient)
    with transaction.atomic():
        messages_revalidate(messages=[Message.objects.select_related("batch", "prospect")
                                      .get(pk=second.pk)])
    path = review_path(batch_id=batch.pk)

    rule_fix(batch_id=batch.pk, actor=rita, rule_code="legal_form",
             changes={RuleChange(g["field"], g["text"]) for g in path.blocking[0].fixes})
    rule_replace(batch_id=batch.pk, actor=rita, rule_code="placeholder",
                 changes={RuleChange("body", "[First Name]")}, replacement="there")

    after = stored_findings(batch)
    assert (second.pk, "duplicate_recipient") in {(f[0], f[1]) for f in after[0]}
    assert not [f for f in after[0] if f[1] in ("legal_form", "placeholder")]
    with transaction.atomic():
        messages_revalidate(messages=list(
            batch.messages.filter(excluded=False).order_by("pk").select_related("batch",
                                                                                "prospect")
        ))
    assert stored_findings(batch) == after


@pytest.mark.django_db
def test_a_check_that_breaks_during_a_group_action_flags_the_messages_for_review(
    batch, rita, monkeypatch
):
    def explode(fields, rule, resolver):
        raise RuntimeError("boom")

    monkeypatch.setitem(suite.CHECKS, "banned_phrase", explode)

    rule_fix(batch_id=batch.pk, actor=rita, rule_code="legal_form",
             changes={RuleChange("body", " GmbH")})

    fixed = list(batch.messages.order_by("pk")[:2])
    assert [m.worst_severity for m in fixed] == ["review", "review"]
    broken = Finding.objects.filter(message__in=fixed, rule_code="banned_phrase.error")
    assert sorted(broken.values_list("message_id", "severity")) == [
        (fixed[0].pk, "review"), (fixed[1].pk, "review")
    ]


@pytest.mark.django_db
def test_a_message_changed_since_the_preview_is_left_alone(batch, rita):
    path = review_path(batch_id=batch.pk)
    edited = batch.messages.order_by("pk").first()
    mine = "Hi Anna,\n\nInitech GmbH is growing fast.\n"
    message_edit(message_id=edited.pk, actor=rita, subject=edited.subject, body=mine,
                 expected_hash=Message.objects.get(pk=edited.pk).content_hash)

    result = rule_fix(batch_id=batch.pk, actor=rita, rule_code="legal_form",
                      changes={RuleChange("body", " GmbH"), RuleChange("body", " Ltd")},
                      seen=path.seen)

    assert (result.changed, result.skipped) == (2, 1)
    assert bodies(batch)[0] == mine  # the edit the preview did not show stands
    assert not AuditEvent.objects.filter(message=edited, action="finding_fixed").exists()


@pytest.mark.django_db
def test_a_replacement_clears_a_placeholder_first_name_and_approval_follows(batch, rita):
    path = review_path(batch_id=batch.pk)
    rule_fix(batch_id=batch.pk, actor=rita, rule_code="legal_form",
             changes={RuleChange(g["field"], g["text"]) for g in path.blocking[0].fixes})

    # Every change of the rule ticked, as the screen sends them: the prospect's first name
    # too, which no replacement writes (it is not in the text).
    result = rule_replace(batch_id=batch.pk, actor=rita, rule_code="placeholder",
                          changes={RuleChange("body", "[First Name]"),
                                   RuleChange("first_name", None)}, replacement="there")

    assert result.changed == 1
    assert bodies(batch)[3] == "Hi there,\n\nUmbrella is growing.\n"
    # The prospect's name is still "[First Name]", but the message no longer shows it.
    assert not Finding.objects.filter(batch=batch, severity="block").exists()
    assert not review_path(batch_id=batch.pk).blocking
    batch_approve(batch_id=batch.pk, actor=rita)
    batch.refresh_from_db()
    assert batch.status == "approved"


@pytest.mark.django_db
def test_a_replacement_is_one_line(batch, rita):
    with pytest.raises(ServiceError, match="one line"):
        rule_replace(batch_id=batch.pk, actor=rita, rule_code="placeholder",
                     changes={RuleChange("body", "[First Name]")}, replacement="there\nBcc: x")
    assert bodies(batch) == BODIES


@pytest.mark.django_db
def test_exclude_takes_one_reason_for_every_message(batch, rita):
    changes = {RuleChange("body", "[First Name]"), RuleChange("first_name", None)}
    with pytest.raises(ServiceError, match="Say why"):
        rule_exclude(batch_id=batch.pk, actor=rita, rule_code="placeholder", changes=changes,
                     reason="  ")
    assert not batch.messages.filter(excluded=True).exists()

    result = rule_exclude(batch_id=batch.pk, actor=rita, rule_code="placeholder",
                          changes=changes, reason="no first name in the CRM")

    assert result.changed == 1
    [excluded] = batch.messages.filter(excluded=True)
    assert excluded.body == BODIES[3]
    assert excluded.exclusion_reason == "no first name in the CRM"
    assert AuditEvent.objects.get(message=excluded, action="message_excluded").reason == (
        "no first name in the CRM"
    )
    assert [a.rule_code for a in review_path(batch_id=batch.pk).blocking] == ["legal_form"]


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("round_", range(3))
def test_two_reviewers_fixing_at_once_change_each_message_once(
    postgres_only, acme_campaign, acme_client, dns_server, rita, round_
):
    ruth = _staff("ruth", "reviewer")
    batch = messy_batch(acme_campaign, acme_client)
    path = review_path(batch_id=batch.pk)
    changes = {RuleChange(g["field"], g["text"]) for g in path.blocking[0].fixes}
    results = []

    def fix(actor):
        results.append(rule_fix(batch_id=batch.pk, actor=actor, rule_code="legal_form",
                                changes=changes, seen=path.seen))

    outcomes = race(lambda: fix(rita), lambda: fix(ruth))

    assert outcomes == ["won", "won"], outcomes
    # The second waited for the first, then found nothing left to fix.
    assert sorted((r.changed, r.skipped) for r in results) == [(0, 0), (3, 0)]
    fixed = AuditEvent.objects.filter(batch=batch, action="finding_fixed")
    assert fixed.count() == 3
    assert len(set(fixed.values_list("message_id", flat=True))) == 3
    assert bodies(batch)[:3] == [
        "Hi Anna,\n\nInitech is growing.\n", "Hi Ben,\n\nInitech is growing.\n",
        "Hi Carla,\n\nHooli is growing.\n",
    ]


@pytest.mark.django_db
def test_the_round_counts_what_was_flagged_for_time_per_flagged_message(batch, rita):
    batch_claim(batch_id=batch.pk, actor=rita)  # the round begins: four messages flagged
    path = review_path(batch_id=batch.pk)
    for action in path.blocking:
        changes = {RuleChange(g["field"], g["text"]) for g in action.fixes + action.texts}
        if action.primary == "fix":
            rule_fix(batch_id=batch.pk, actor=rita, rule_code=action.rule_code, changes=changes)
        else:
            rule_replace(batch_id=batch.pk, actor=rita, rule_code=action.rule_code,
                         changes=changes, replacement=action.replacement)
    batch_approve(batch_id=batch.pk, actor=rita)

    round_ = ReviewRound.objects.get(batch=batch)
    assert (round_.flagged, round_.messages) == (4, 5)
    [sample] = decided_rounds(since=timezone.now() - timedelta(hours=1))
    figures = summarize([sample], targets={})
    assert figures["handle_s_per_flagged"] == round(round_.handling_seconds / 4, 1)
