"""The bounce mailbox, read over IMAP from a real dovecot on loopback: every report in it is
applied once and marked; a second run reads nothing new; marks lost (a crash between apply and
mark) apply nothing twice; a crash before a chunk commits leaves that chunk unmarked, read
next time; a mailbox of several chunks read by reader processes comes to the same; forged and
foreign mail is marked and changes nothing; the job is off without a configured mailbox."""

import pytest

from apps.core.models import Suppression
from apps.deliverability import jobs
from apps.deliverability.mailbox import PROCESSED, read_bounce_mailbox
from apps.deliverability.models import BounceEvent
from apps.sending import verp
from tests.deliverability.conftest import arf_complaint, delivered_to, sample

pytestmark = pytest.mark.django_db


def test_every_report_is_applied_once_and_marked(imap_server, acme_sent):
    first, second, third, fourth = acme_sent.messages.order_by("pk")
    forged = f"bounces+{first.pk}-{'b' * verp.SIGNATURE_CHARS}@bounce.outbound.test"
    imap_server.append(
        delivered_to(first, sample("postfix_01")),
        delivered_to(second, sample("dsn_05")),  # soft
        arf_complaint(third),
        delivered_to(fourth, sample("microsoft_01")),
        delivered_to(
            fourth, sample("yahoo_01"), address=forged.replace(str(first.pk), str(fourth.pk))
        ),
        sample("exim_01"),  # names no message of ours
    )

    run = jobs.read_bounce_mailbox()

    assert run["read"] == 6 and run["applied"] == 4
    assert (run["forged"], run["not_ours"]) == (1, 1)
    assert run["kinds"] == {"hard": 2, "soft": 1, "complaint": 1}
    assert set(Suppression.objects.values_list("email", flat=True)) == {
        first.recipient, third.recipient, fourth.recipient}
    assert all(PROCESSED in flags for flags in imap_server.keywords().values())

    again = read_bounce_mailbox()
    assert again.read == 0


def test_a_mark_lost_in_a_crash_applies_nothing_twice(imap_server, acme_sent):
    message = acme_sent.messages.first()
    imap_server.append(delivered_to(message, sample("exim_01")))
    assert read_bounce_mailbox().applied == 1
    with imap_server.mailbox() as box:  # as if the worker died before marking
        box.flag(box.uids(), PROCESSED, False)

    run = read_bounce_mailbox()

    assert (run.read, run.applied, run.repeated) == (1, 0, 1)
    assert BounceEvent.objects.count() == 1


def test_new_mail_after_a_run_is_read_next_time(imap_server, acme_sent):
    first, second = acme_sent.messages.order_by("pk")[:2]
    imap_server.append(delivered_to(first, sample("exim_01")))
    read_bounce_mailbox()
    imap_server.append(delivered_to(second, sample("qmail_01")))
    assert read_bounce_mailbox().applied == 1
    assert BounceEvent.objects.filter(message=second, kind="hard").exists()


def test_without_a_mailbox_the_job_does_nothing(settings):
    settings.BOUNCE_IMAP_HOST = ""
    assert jobs.read_bounce_mailbox()["read"] == 0


def test_wrong_credentials_fail_loudly(imap_server, settings):
    from imap_tools.errors import MailboxLoginError

    settings.BOUNCE_IMAP_PASSWORD = "wrong"
    with pytest.raises(MailboxLoginError):
        read_bounce_mailbox()


def test_a_mailbox_of_several_chunks_is_read_by_reader_processes(imap_server, acme_sent,
                                                                 settings):
    settings.BOUNCE_IMAP_FETCH_CHUNK, settings.BOUNCE_READ_PROCESSES = 2, 2
    first, second, third, fourth = acme_sent.messages.order_by("pk")
    forged = f"bounces+{first.pk}-{'c' * verp.SIGNATURE_CHARS}@bounce.outbound.test"
    imap_server.append(
        delivered_to(first, sample("qmail_01")),
        delivered_to(second, sample("dsn_05")),
        sample("exim_01"),  # names no message of ours
        delivered_to(third, sample("simple_17")),
        delivered_to(fourth, sample("postfix_02"), address=forged),
        arf_complaint(fourth),
    )

    run = read_bounce_mailbox()

    assert (run.read, run.applied, run.forged, run.not_ours) == (6, 4, 1, 1)
    assert run.kinds == {"hard": 2, "soft": 1, "complaint": 1}
    assert set(BounceEvent.objects.values_list("message_id", "kind")) == {
        (first.pk, "hard"), (second.pk, "soft"), (third.pk, "hard"), (fourth.pk, "complaint")}
    assert all(PROCESSED in flags for flags in imap_server.keywords().values())
    assert read_bounce_mailbox().read == 0


class WorkerDied(Exception):
    pass


def test_a_crash_mid_run_marks_only_what_was_committed(imap_server, acme_sent, settings,
                                                       monkeypatch):
    from apps.deliverability import mailbox

    settings.BOUNCE_IMAP_FETCH_CHUNK = 2
    messages = list(acme_sent.messages.order_by("pk"))
    imap_server.append(*(delivered_to(m, sample("exim_01")) for m in messages))
    real, applied_chunks = mailbox.reports_apply, []

    def dies_on_the_second_chunk(*, reports):  # the worker dies before the chunk commits
        if applied_chunks:
            raise WorkerDied
        applied_chunks.append(reports)
        return real(reports=reports)

    monkeypatch.setattr(mailbox, "reports_apply", dies_on_the_second_chunk)
    with pytest.raises(WorkerDied):
        read_bounce_mailbox()
    monkeypatch.undo()

    marked = [uid for uid, flags in imap_server.keywords().items() if PROCESSED in flags]
    assert len(marked) == 2 and BounceEvent.objects.count() == 2
    run = read_bounce_mailbox()
    assert (run.read, run.applied, run.repeated) == (2, 2, 0)
    assert sorted(BounceEvent.objects.values_list("message_id", flat=True)) == [
        m.pk for m in messages]
