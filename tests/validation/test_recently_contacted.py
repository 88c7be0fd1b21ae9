"""The re-contact cap at generation (issue 14): a prospect the client mailed within
Client.recontact_days days, or has in another live batch, is flagged for review with the date
and batch of the last contact; the routing step looks again over the whole batch."""

import importlib
from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone

from apps.core.models import (
    Batch,
    BatchStatus,
    Campaign,
    Client,
    Finding,
    Message,
    Prospect,
    SendStatus,
    ValidationRule,
)
from apps.validation.rules import active_rules
from apps.validation.services import _recontact_findings, batch_recontact_recheck, batch_validate
from tests.conftest import make_batch

pytestmark = pytest.mark.django_db
RULE = importlib.import_module("apps.validation.migrations.0005_recently_contacted_rule").RULE


@pytest.fixture
def recontact_rule(seeded_rules):
    code, severity, description = RULE
    rule, _ = ValidationRule.objects.get_or_create(
        code=code, defaults={"severity": severity, "description": description}
    )
    return rule


@pytest.fixture
def validating(acme_campaign, acme_prospects, recontact_rule, dns_server):
    return make_batch(acme_campaign, acme_prospects, status=BatchStatus.VALIDATING)


def earlier_batch(campaign, prospects, *, status=BatchStatus.SENT, sent_at=None) -> Batch:
    batch = make_batch(campaign, prospects, status=status)
    if sent_at is not None:
        Message.objects.filter(batch=batch).update(
            approved_hash=F("content_hash"), approved_at=sent_at, send_status=SendStatus.SENT,
            sent_at=sent_at,
        )
    return batch


def flagged(batch) -> dict[str, Finding]:
    return {
        f.message.recipient: f
        for f in Finding.objects.filter(message__batch=batch, rule_code="recently_contacted")
        .select_related("message")
    }


def test_a_prospect_mailed_within_the_cap_is_flagged_with_the_date_and_batch(
    validating, acme_campaign, acme_prospects
):
    sent_at = timezone.now() - timedelta(days=3)
    before = earlier_batch(acme_campaign, acme_prospects[:1], sent_at=sent_at)

    batch_validate(batch_id=validating.pk)

    found = flagged(validating)
    assert set(found) == {"peter@initech.com"}
    finding = found["peter@initech.com"]
    assert finding.severity == "review"
    assert f"{sent_at:%Y-%m-%d}" in finding.explanation
    assert f"batch {before.pk}" in finding.explanation
    assert Message.objects.get(batch=validating, recipient="peter@initech.com").worst_severity in (
        "review", "block"
    )


@pytest.mark.parametrize("status", [BatchStatus.IN_REVIEW, BatchStatus.APPROVED,
                                    BatchStatus.SENDING])
def test_a_prospect_in_another_live_batch_is_flagged(validating, acme_campaign, acme_prospects,
                                                     status):
    live = earlier_batch(acme_campaign, acme_prospects[1:2], status=status)

    batch_validate(batch_id=validating.pk)

    found = flagged(validating)
    assert set(found) == {"richard@hooli.com"}
    assert f"also in batch {live.pk}" in found["richard@hooli.com"].explanation


@pytest.mark.parametrize("case", ["older than the cap", "cap off", "other batch rejected",
                                 "another client", "excluded"])
def test_what_does_not_count(validating, acme_campaign, acme_prospects, globex_client, case):
    if case == "older than the cap":
        earlier_batch(acme_campaign, acme_prospects[:1],
                      sent_at=timezone.now() - timedelta(days=31))
    elif case == "cap off":
        Client.objects.filter(pk=acme_campaign.client_id).update(recontact_days=0)
        earlier_batch(acme_campaign, acme_prospects[:1], sent_at=timezone.now())
    elif case == "other batch rejected":
        earlier_batch(acme_campaign, acme_prospects[:1], status=BatchStatus.REJECTED)
    elif case == "another client":
        campaign = Campaign.objects.create(client=globex_client, name="Globex")
        theirs = Prospect.objects.create(client=globex_client, email="peter@initech.com")
        earlier_batch(campaign, [theirs], sent_at=timezone.now())
    else:
        other = earlier_batch(acme_campaign, acme_prospects[:1], status=BatchStatus.IN_REVIEW)
        Message.objects.filter(batch=other).update(excluded=True)

    batch_validate(batch_id=validating.pk)

    assert flagged(validating) == {}


def test_a_shorter_cap_is_the_clients(validating, acme_campaign, acme_prospects):
    Client.objects.filter(pk=acme_campaign.client_id).update(recontact_days=2)
    earlier_batch(acme_campaign, acme_prospects[:1], sent_at=timezone.now() - timedelta(days=3))

    batch_validate(batch_id=validating.pk)

    assert flagged(validating) == {}


def test_the_rule_is_one_query_for_any_number_of_messages(
    validating, acme_campaign, django_assert_num_queries
):
    many = [Prospect.objects.create(client=acme_campaign.client, email=f"p{i}@hooli.com")
            for i in range(50)]
    earlier_batch(acme_campaign, many, sent_at=timezone.now())
    rules = active_rules(client_id=acme_campaign.client_id)
    recipients = {i: p.email for i, p in enumerate(many)}

    with django_assert_num_queries(2):  # the client's cap, the contacts
        found = _recontact_findings(rules, validating.pk, acme_campaign.client_id, recipients)

    assert len(found) == 50


def test_routing_looks_again_at_batches_gone_live_or_rejected_since(
    validating, acme_campaign, acme_prospects
):
    batch_validate(batch_id=validating.pk)  # as the chunks were judged: nothing live then
    assert flagged(validating) == {}
    other = earlier_batch(acme_campaign, acme_prospects[2:], status=BatchStatus.IN_REVIEW)

    assert batch_recontact_recheck(batch_id=validating.pk) == 1
    assert set(flagged(validating)) == {"alice@umbrella.com"}
    assert batch_recontact_recheck(batch_id=validating.pk) == 0  # a retry: nothing to do

    Batch.objects.filter(pk=other.pk).update(status=BatchStatus.REJECTED)
    assert batch_recontact_recheck(batch_id=validating.pk) == 1
    assert flagged(validating) == {}


def test_the_rule_disabled_flags_nothing(validating, acme_campaign, acme_prospects,
                                         recontact_rule):
    ValidationRule.objects.filter(pk=recontact_rule.pk).update(enabled=False)
    earlier_batch(acme_campaign, acme_prospects, sent_at=timezone.now())

    batch_validate(batch_id=validating.pk)

    assert flagged(validating) == {}


@pytest.mark.parametrize("days", [-1, 3651])
def test_a_cap_out_of_range_is_refused_with_a_clear_error(acme_client, days):
    acme_client.recontact_days = days
    with pytest.raises(ValidationError, match="re-contact cap is a number of days from 0"):
        acme_client.full_clean()
    with pytest.raises(IntegrityError), transaction.atomic():
        Client.objects.filter(pk=acme_client.pk).update(recontact_days=days)


def test_routing_looks_at_a_batch_larger_than_a_chunk(acme_campaign, recontact_rule, dns_server,
                                                     monkeypatch):
    import apps.validation.services as services

    monkeypatch.setattr(services, "CHUNK", 2)  # five messages: three lookups
    people = [Prospect.objects.create(client=acme_campaign.client, email=f"p{i}@hooli.com")
              for i in range(5)]
    batch = make_batch(acme_campaign, people, status=BatchStatus.VALIDATING)
    earlier_batch(acme_campaign, [people[0], people[4]], sent_at=timezone.now())

    assert batch_recontact_recheck(batch_id=batch.pk) == 2
    assert set(flagged(batch)) == {"p0@hooli.com", "p4@hooli.com"}
