"""`manage.py backfill_dispositions` records how past findings ended, as far as the audit
trail allows: exclusions, the batch's last approval or rejection (not one a recall took back),
group fixes by their event; running it again records nothing new."""

import pytest
from django.core.management import call_command

from apps.review.models import FindingDisposition
from apps.review.services import (
    FindingGroup,
    batch_approve,
    batch_claim,
    batch_recall,
    batch_reject,
    findings_fix_group,
    message_exclude,
)
from tests.conftest import in_review_batch
from tests.review.conftest import flag_legal_form
from tests.review.test_dispositions import review_finding

pytestmark = pytest.mark.django_db


def backfill() -> str:
    from io import StringIO

    out = StringIO()
    call_command("backfill_dispositions", stdout=out)
    return out.getvalue()


def test_the_trail_gives_back_exclusions_decisions_and_group_fixes(
    acme_campaign, acme_prospects, rita, dns_server, redis_queues
):
    approved = in_review_batch(acme_campaign, acme_prospects)
    first, second, third = approved.messages.order_by("pk")
    excluded_finding = review_finding(first)
    flag_legal_form(second)
    approved_finding = review_finding(third)
    message_exclude(message_id=first.pk, actor=rita, reason="Wrong person")
    findings_fix_group(batch_id=approved.pk, actor=rita, group=FindingGroup(
        rule_code="legal_form", field="body", text=" GmbH", suggestion=""))
    batch_approve(batch_id=approved.pk, actor=rita)
    rejected = in_review_batch(acme_campaign, acme_prospects)
    rejected_finding = review_finding(rejected.messages.first())
    batch_reject(batch_id=rejected.pk, actor=rita, reason="Off-brand")
    recalled = in_review_batch(acme_campaign, acme_prospects)
    recalled_finding = review_finding(recalled.messages.first())
    batch_approve(batch_id=recalled.pk, actor=rita)
    batch_recall(batch_id=recalled.pk, actor=rita)
    batch_claim(batch_id=recalled.pk, actor=rita)
    # As if all of it had happened before endings were recorded:
    FindingDisposition.objects.all().delete()

    said = backfill()

    ended = {
        (e.finding_id, e.disposition, e.actor_id, e.backfilled)
        for e in FindingDisposition.objects.filter(finding_id__isnull=False)
    }
    assert ended == {
        (excluded_finding.pk, "excluded", rita.pk, True),
        (approved_finding.pk, "approved", rita.pk, True),
        (rejected_finding.pk, "rejected", rita.pk, True),
    }
    assert not FindingDisposition.objects.filter(finding_id=recalled_finding.pk).exists()
    fix = FindingDisposition.objects.get(finding_id__isnull=True)
    assert (fix.disposition, fix.rule_code, fix.text, fix.message_id, fix.actor_label) == (
        "fixed", "legal_form", " GmbH", second.pk, "rita"
    )
    assert "4 finding ending(s) recorded" in said
    assert "0 finding ending(s) recorded" in backfill()  # again: nothing new
