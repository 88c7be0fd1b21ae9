"""The page of a batch's unknown sends: oscar the operator sees the evidence for each (every
attempt's start and finish, the Message-ID, the server's reply code and text, escaped) and
resolves the ticked ones or all of them with a note. Rita the reviewer is refused."""

import pytest
from django.urls import reverse

from apps.core.models import AuditEvent, Batch, BatchStatus, DeliveryAttempt, Message, SendStatus
from apps.sending.unknown_sends import unknown_resolve
from tests.conftest import _staff, make_campaign
from tests.sending.conftest import statuses, unknown_batch

pytestmark = pytest.mark.django_db
HOSTILE_REPLY = '<script>alert("owned")</script> 4.7.0 try <b>later</b>'


@pytest.fixture
def batch(smtp_server, acme_campaign):
    return unknown_batch(acme_campaign, 3, earlier_reply=HOSTILE_REPLY)


def page_url(batch) -> str:
    return reverse("admin:sending_unknownsend_batch", args=[batch.pk])


def ids_of(batch) -> list[int]:
    return list(Message.objects.filter(batch=batch).order_by("pk").values_list("pk", flat=True))


def test_operator_sees_the_evidence_escaped(client, oscar, batch):
    client.force_login(oscar)

    html = client.get(page_url(batch)).content.decode()

    assert "Needs attention" in html
    for message in Message.objects.filter(batch=batch):
        assert message.message_id_header.replace("<", "&lt;").replace(">", "&gt;") in html
        for attempt in DeliveryAttempt.objects.filter(message=message):
            assert f"{attempt.started_at:%Y-%m-%d %H:%M:%S}" in html
            assert f"{attempt.finished_at:%Y-%m-%d %H:%M:%S}" in html
    assert html.count("<td>451</td>") == 3  # the earlier reply's code, per message
    assert "the worker stopped after handing the message to the server" in html
    # The server's reply is text: shown, never run.
    assert (
        "&lt;script&gt;alert(&quot;owned&quot;)&lt;/script&gt; 4.7.0 try &lt;b&gt;later&lt;/b&gt;"
        in html
    )
    assert "<script>alert" not in html and "<b>later</b>" not in html


def test_the_batch_page_links_to_it(client, oscar, batch):
    client.force_login(oscar)
    html = client.get(reverse("admin:core_batch_change", args=[batch.pk])).content.decode()
    assert 'id="needs-attention"' in html and page_url(batch) in html


def test_resolve_the_ticked_as_sent_with_a_note(client, oscar, batch):
    client.force_login(oscar)
    first, second, third = ids_of(batch)

    response = client.post(page_url(batch), {
        "decision": "sent", "note": "found in the MTA log", "scope": "ticked",
        "message_ids": [first, second], "expected": 3,
    }, follow=True)

    assert "2 message(s) resolved as sent" in response.content.decode()
    assert statuses(batch) == {SendStatus.SENT: 2, SendStatus.UNKNOWN: 1}
    assert set(AuditEvent.objects.filter(action="unknown_resolved_sent").values_list(
        "message_id", "actor", "reason")) == {(first, oscar.pk, "found in the MTA log"),
                                              (second, oscar.pk, "found in the MTA log")}
    assert Batch.objects.get(pk=batch.pk).status == BatchStatus.NEEDS_ATTENTION
    assert str(third) in response.content.decode()  # still listed, still to resolve


def test_resolve_all_to_send_again(client, oscar, batch):
    client.force_login(oscar)

    client.post(page_url(batch), {"decision": "resend", "note": "not in the log", "scope": "all",
                                  "expected": 3})

    assert statuses(batch) == {SendStatus.QUEUED: 3}
    assert AuditEvent.objects.filter(action="unknown_resolved_resend", actor=oscar).count() == 3
    assert Batch.objects.get(pk=batch.pk).status == BatchStatus.SENDING


def test_all_is_refused_when_the_page_was_stale(client, oscar, batch):
    client.force_login(oscar)

    response = client.post(page_url(batch), {"decision": "sent", "note": "log", "scope": "all",
                                             "expected": 5}, follow=True)

    assert "has 3 unknown sends now, not the 5 on your page" in response.content.decode()
    assert statuses(batch) == {SendStatus.UNKNOWN: 3}


def test_a_note_is_required(client, oscar, batch):
    client.force_login(oscar)
    response = client.post(page_url(batch), {"decision": "sent", "scope": "all", "expected": 3},
                           follow=True)
    assert "say why" in response.content.decode()
    assert statuses(batch) == {SendStatus.UNKNOWN: 3}


def test_a_message_of_another_batch_is_not_resolved_from_this_page(
    client, oscar, batch, globex_client
):
    other = unknown_batch(make_campaign(globex_client), 1, domain="umbrella.com", start=100)
    client.force_login(oscar)

    client.post(page_url(batch), {"decision": "sent", "note": "log", "scope": "ticked",
                                  "message_ids": ids_of(other)})

    assert statuses(other) == {SendStatus.UNKNOWN: 1}


def test_losing_a_race_is_said_plainly(client, oscar, batch):
    first = ids_of(batch)[0]
    unknown_resolve(message_id=first, actor=_staff("olga", "operator"), decision="sent", note="x")
    client.force_login(oscar)

    response = client.post(page_url(batch), {"decision": "resend", "note": "n", "scope": "ticked",
                                             "message_ids": ids_of(batch)}, follow=True)

    html = response.content.decode()
    assert "Nothing was changed" in html and "resolved as sent by olga" in html
    assert statuses(batch) == {SendStatus.SENT: 1, SendStatus.UNKNOWN: 2}


def test_reviewer_is_refused(client, rita, batch):
    client.force_login(rita)

    assert client.get(page_url(batch)).status_code == 403
    response = client.post(page_url(batch), {"decision": "sent", "note": "x", "scope": "all",
                                             "expected": 3})

    assert response.status_code == 403
    assert statuses(batch) == {SendStatus.UNKNOWN: 3}
    html = client.get(reverse("admin:core_batch_change", args=[batch.pk])).content.decode()
    assert page_url(batch) not in html


def test_a_client_user_is_sent_to_the_login(client, carl, batch):
    client.force_login(carl)
    response = client.get(page_url(batch))
    assert response.status_code == 302 and "/login/" in response["Location"]
