"""A mail at a return path is read into a report: the message from the signed VERP token, the
kind from the report itself (real samples from Postfix, Exim, Exchange, qmail, Yahoo, Gmail and
RFC 3464 DSNs; an ARF complaint; an auto-reply). A forged token is refused; a mail that names
no message of ours is not a report."""

import pytest

from apps.deliverability.models import EventKind
from apps.deliverability.reading import ForgedReport, read_report
from apps.sending import verp
from tests.deliverability.conftest import arf_complaint, delivered_to, sample

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("name, failed", [
    ("postfix_01", "xxxxx@local.ie"),
    ("postfix_02", "yyyyy@digicool.com"),
    ("exim_01", "userx@its.example.nl"),
    ("microsoft_01", "userx@example.com"),  # Exchange
    ("microsoft_02", "userx@example.com"),
    ("yahoo_01", "userx@example.com"),
    ("simple_17", "userx@example.com"),  # Gmail (googlemail.com's "failed permanently")
    ("dsn_01", "userx@example.com"),  # RFC 3464
    ("qmail_01", "userx@example.de"),
])
def test_real_hard_bounces_are_read_as_hard(acme_sent, name, failed):
    message = acme_sent.messages.first()
    report = read_report(delivered_to(message, sample(name)))

    assert report.message_id == message.pk
    assert report.kind == EventKind.HARD
    assert report.recipient == failed
    assert failed in report.evidence.lower()


def test_a_delayed_delivery_is_soft(acme_sent):
    message = acme_sent.messages.first()
    report = read_report(delivered_to(message, sample("dsn_05")))  # "Message delayed"
    assert (report.kind, report.message_id) == (EventKind.SOFT, message.pk)


def test_an_arf_report_is_a_complaint_found_through_the_quoted_return_path(acme_sent):
    message = acme_sent.messages.first()
    report = read_report(arf_complaint(message))  # delivered to fbl@, not to the return path

    assert (report.kind, report.message_id) == (EventKind.COMPLAINT, message.pk)
    assert "Feedback-Type: abuse" in report.evidence


def test_an_out_of_office_reply_is_an_auto_reply(acme_sent):
    message = acme_sent.messages.first()
    raw = (b"From: p@hooli.com\r\nTo: " + verp.return_path(message.pk).encode() + b"\r\n"
           b"Subject: Out of Office: A question\r\nAuto-Submitted: auto-replied\r\n"
           b"Message-ID: <ooo-1@hooli.com>\r\n\r\nI am away until Monday.\r\n")
    report = read_report(raw)
    assert (report.kind, report.message_id) == (EventKind.AUTO_REPLY, message.pk)


def test_an_unreadable_report_at_a_return_path_is_unknown(acme_sent):
    message = acme_sent.messages.first()
    raw = b"From: someone@hooli.com\r\nSubject: hm\r\nMessage-ID: <x-1@hooli.com>\r\n\r\n?\r\n"
    report = read_report(delivered_to(message, raw))
    assert (report.kind, report.message_id) == (EventKind.UNKNOWN, message.pk)


def test_a_forged_return_path_is_refused(acme_sent):
    message = acme_sent.messages.first()
    forged = f"bounces+{message.pk}-{'a' * verp.SIGNATURE_CHARS}@bounce.outbound.test"
    with pytest.raises(ForgedReport):
        read_report(delivered_to(message, sample("postfix_01"), address=forged))


def test_a_mail_that_names_no_message_of_ours_is_not_a_report(acme_sent):
    assert read_report(sample("postfix_01")) is None


def test_the_same_mail_read_twice_has_the_same_key(acme_sent):
    message = acme_sent.messages.first()
    raw = delivered_to(message, sample("exim_01"))
    assert read_report(raw).key == read_report(raw).key
