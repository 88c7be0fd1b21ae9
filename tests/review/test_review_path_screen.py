"""The review screen leads with the reviewer's path and runs its group actions: the action's
preview is on the page, unticked changes are left out, the result is said in the right
colour, a client user cannot reach it, a GET does nothing, and an unknown batch is a 404."""

import json

import pytest
from django.urls import reverse

from apps.core.models import Message
from tests.review.test_group_actions import BODIES, messy_batch

pytestmark = pytest.mark.django_db


@pytest.fixture
def batch(postgres_only, acme_campaign, acme_client, dns_server):
    return messy_batch(acme_campaign, acme_client)


def action_url(batch):
    return reverse("admin:core_batch_rule_action", args=[batch.pk])


def test_the_screen_leads_with_the_path_and_its_preview(client, batch, rita):
    client.force_login(rita)
    page = client.get(reverse("admin:core_batch_change", args=[batch.pk])).content.decode()

    assert page.index('id="path"') < page.index('id="content-main"')
    assert "Remove the legal forms from 3 messages" in page
    assert page.index("Remove the legal forms") < page.index("Replace the placeholders in 1")
    assert "‘Initech<del> GmbH</del> is growing.’" in page
    assert 'value="there"' in page  # the replacement offered for "[First Name]"
    assert 'id="approve" ' in page and "data-ready" not in page


def test_unticked_changes_are_left_out_and_the_result_is_green(client, batch, rita):
    client.force_login(rita)
    response = client.post(action_url(batch), {
        "rule_code": "legal_form", "do": "fix", "change": [json.dumps(["body", " Ltd"])],
    }, follow=True)

    shown = [(m.level_tag, str(m)) for m in response.context["messages"]]
    assert any(level == "success" and text.startswith("Fixed 1 message(s)")
               for level, text in shown), shown
    bodies = list(batch.messages.order_by("pk").values_list("body", flat=True))
    assert bodies[2] == "Hi Carla,\n\nHooli is growing.\n"
    assert bodies[:2] == BODIES[:2]  # " GmbH" was not ticked


def test_an_exclusion_without_a_reason_is_refused_in_red(client, batch, rita):
    client.force_login(rita)
    response = client.post(action_url(batch), {
        "rule_code": "placeholder", "do": "exclude", "reason": "",
        "change": [json.dumps(["body", "[First Name]"])],
    }, follow=True)

    shown = [(m.level_tag, str(m)) for m in response.context["messages"]]
    assert ("error", "Say why these messages are excluded.") in shown
    assert not Message.objects.filter(batch=batch, excluded=True).exists()


def test_a_client_user_a_get_and_an_unknown_batch_are_refused(client, batch, carl, rita):
    client.force_login(carl)
    response = client.post(action_url(batch), {"rule_code": "legal_form", "do": "fix"})
    assert response.status_code == 302 and "/admin/login/" in response["Location"]

    client.force_login(rita)
    assert client.get(action_url(batch)).status_code == 405
    missing = reverse("admin:core_batch_rule_action", args=[batch.pk + 1000])
    assert client.post(missing, {"rule_code": "legal_form", "do": "fix"}).status_code == 404
    assert list(batch.messages.order_by("pk").values_list("body", flat=True)) == BODIES
