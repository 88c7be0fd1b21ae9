"""The review screen shows each fix before and after (the removed form struck through, the
text around it as the fix leaves it), a group's fix on a sample message, and says how each
action went in the right colour: red while the message still blocks, green when it is clean."""

import pytest
from django.urls import reverse

from apps.core.models import Message, Prospect
from tests.conftest import in_review_batch
from tests.review.conftest import flag_legal_form

pytestmark = pytest.mark.django_db


@pytest.fixture
def batch(acme_client, acme_campaign, dns_server):
    prospects = [
        Prospect.objects.create(client=acme_client, email=f"p{i}@initech.com", first_name=f"P{i}",
                                company="Initech")
        for i in range(3)
    ]
    batch = in_review_batch(acme_campaign, prospects)
    for message in batch.messages.order_by("pk")[:2]:
        flag_legal_form(message, form="GmbH")
    return batch


def test_each_finding_shows_the_text_before_and_after_its_fix(client, batch, rita):
    client.force_login(rita)
    page = client.get(reverse("admin:core_batch_change", args=[batch.pk])).content.decode()

    fix = ('<span class="fix-line fix-before">Hi Initech<del> GmbH</del> team,</span>'
           '<span class="fix-arrow" aria-hidden="true">→</span>'
           '<span class="visually-hidden"> becomes </span>'
           '<span class="fix-line fix-after">Hi Initech team,</span>')
    assert page.count(fix) == 2  # the two flagged messages
    assert "suggested: “”" not in page
    # The group: how many, and the fix on one of them.
    assert "2 messages contain “ GmbH”" in page
    assert ("‘Hi Initech<del> GmbH</del> team,’" in page
            and "‘Hi Initech team,’" in page)


def test_a_fix_that_leaves_a_block_is_said_in_red(client, batch, rita):
    client.force_login(rita)
    message = batch.messages.order_by("pk").first()
    response = client.post(
        reverse("admin:core_message_change", args=[message.pk]),
        {"subject": message.subject, "body": "Hi Initech AG team,\n",
         "seen_hash": Message.objects.get(pk=message.pk).content_hash},
        follow=True,
    )
    shown = [(m.level_tag, str(m)) for m in response.context["messages"]]
    assert ("error", "Re-validated: block.") in shown


def test_a_fix_that_clears_the_message_is_said_in_green(client, batch, rita):
    client.force_login(rita)
    message = batch.messages.order_by("pk").first()
    finding = message.findings.get(rule_code="legal_form")
    response = client.post(
        reverse("admin:core_batch_fix", args=[batch.pk, finding.pk]),
        {"page": "1", "at": f"message-{message.pk}"},
    )
    # Back at the message the reviewer fixed, for the keyboard's place.
    assert response["Location"].endswith(f"?page=1#message-{message.pk}")
    shown = [(m.level_tag, str(m)) for m in client.get(response["Location"]).context["messages"]]
    assert ("success", "Fix applied and re-validated: no findings.") in shown
    assert Message.objects.get(pk=message.pk).body == "Hi Initech team,\n"
