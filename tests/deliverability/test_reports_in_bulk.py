"""Reports applied in bulk (reports_apply: a chunk of the bounce mailbox, a claim of the webhook
inbox) change what report_apply changes applying them one by one: the same events, the same
suppressions and reasons, the same audit rows. A report twice in a chunk, or applied before,
changes nothing; an address suppressed before keeps its row and gets no second audit; an
unknown send is resolved by the evidence."""

import re

import pytest

from apps.core.models import AuditEvent, Batch, Message, SendStatus, Suppression
from apps.deliverability.models import BounceEvent
from apps.deliverability.reading import read_report
from apps.deliverability.services import Report, report_apply, reports_apply
from tests.deliverability.conftest import (
    arf_complaint,
    delivered_to,
    sample,
    sent_batch,
    unknown_batch,
)

pytestmark = pytest.mark.django_db

SAMPLES = ["postfix_01", "dsn_05", "exim_01", "microsoft_01", "simple_17", "yahoo_01"]


def reports_for(batch: Batch) -> list[Report]:
    """A report for each message (the samples in turn), and a complaint about the first."""
    messages = list(batch.messages.order_by("pk"))
    raws = [delivered_to(m, sample(SAMPLES[i % len(SAMPLES)])) for i, m in enumerate(messages)]
    reports = [read_report(raw) for raw in [*raws, arf_complaint(messages[0])]]
    return [report for report in reports if report is not None]


def what_changed(batch: Batch) -> dict:
    """The batch's events, its client's suppressions and the audit rows, with each message
    told by its place in the batch and each event by its message's place and kind."""
    pks = batch.messages.order_by("pk").values_list("pk", flat=True)
    place: dict[int | None, int] = {pk: i for i, pk in enumerate(pks)}
    events = BounceEvent.objects.filter(batch=batch)
    named = {e.pk: f"#{place[e.message_id]}/{e.kind}" for e in events}

    def plain(text: str) -> str:
        return re.sub(r"report (\d+)", lambda m: f"report {named[int(m[1])]}", text)

    assert {e.client_id for e in events} == {batch.client_id}
    return {
        "events": sorted((place[e.message_id], e.kind, e.source, e.recipient, e.sending_domain,
                          e.evidence) for e in events),
        "suppressed": sorted((s.email, plain(s.reason))
                             for s in Suppression.objects.filter(client_id=batch.client_id)),
        "audit": sorted((a.action, place[a.message_id], plain(a.reason), a.actor_label,
                         named[a.data["event"]])
                        for a in AuditEvent.objects.filter(batch=batch)
                        .filter(action__in=["report_hard", "report_soft", "report_complaint",
                                            "address_suppressed"])),
    }


def test_in_bulk_changes_what_one_by_one_changes(acme_campaign, globex_campaign):
    one_by_one, in_bulk = sent_batch(acme_campaign, 7), sent_batch(globex_campaign, 7)
    for report in reports_for(one_by_one):
        report_apply(report=report)

    applied = reports_apply(reports=reports_for(in_bulk))

    assert len(applied) == 8
    expected = what_changed(one_by_one)
    assert what_changed(in_bulk) == expected
    assert len(expected["suppressed"]) == 6  # six hard bounces (one on the complained-of one)
    assert {a.kind for a in applied} == {"hard", "soft", "complaint"}


def test_a_report_twice_in_a_chunk_or_applied_before_changes_nothing(acme_campaign):
    batch = sent_batch(acme_campaign, 4)
    reports = reports_for(batch)

    assert len(reports_apply(reports=reports + reports[:2])) == 5
    assert reports_apply(reports=reports) == []

    assert BounceEvent.objects.count() == 5
    assert AuditEvent.objects.filter(action__startswith="report_").count() == 5
    assert AuditEvent.objects.filter(action="address_suppressed").count() == 3


def test_an_address_suppressed_before_keeps_its_row(acme_campaign):
    batch = sent_batch(acme_campaign, 1)
    message = batch.messages.get()
    Suppression.objects.create(client_id=batch.client_id, email=message.recipient,
                               reason="asked by phone")

    reports_apply(reports=[read_report(delivered_to(message, sample("postfix_01")))])

    assert Suppression.objects.get().reason == "asked by phone"
    assert not AuditEvent.objects.filter(action="address_suppressed").exists()
    assert AuditEvent.objects.filter(action="report_hard", message=message).count() == 1


def test_a_report_naming_no_message_is_kept_and_changes_nothing(acme_campaign):
    applied = reports_apply(reports=[Report(key="x:1", kind="hard", source="imap",
                                            message_id=None, recipient="a@b.example")])
    assert [(a.kind, a.message_id) for a in applied] == [("hard", None)]
    assert BounceEvent.objects.get().recipient == "a@b.example"
    assert not Suppression.objects.exists() and not AuditEvent.objects.exists()


def test_a_report_in_bulk_resolves_an_unknown_send(acme_campaign):
    batch = unknown_batch(acme_campaign, 2)
    first, second = Message.objects.filter(batch=batch).order_by("pk")

    reports_apply(reports=[read_report(delivered_to(first, sample("dsn_05")))])  # soft

    first.refresh_from_db()
    second.refresh_from_db()
    assert (first.send_status, second.send_status) == (SendStatus.SENT, SendStatus.UNKNOWN)
    resolved = AuditEvent.objects.get(action="unknown_resolved_sent", message=first)
    assert "Soft bounce (temporary) from imap" in resolved.reason
