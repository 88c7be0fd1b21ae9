"""The send journal on its own: what a segment says, whose segments a reader may take, and what a
line cut short by a kill means. (What a killed worker's journal leads to is in
test_worker_faults.py, with real workers.)"""

import json
import os
import time
from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from apps.core.models import DeliveryAttempt, Message, SendStatus
from apps.sending import journal
from apps.sending.journal import SendJournal, abandoned_segments, parse
from apps.sending.services import batch_send, recover_abandoned_sends

T1 = datetime(2026, 12, 6, 12, 0, 0, 123456, tzinfo=UTC)
T2 = datetime(2026, 12, 6, 12, 1, 40, 5, tzinfo=UTC)


def test_each_line_says_what_became_of_a_message(tmp_path):
    with SendJournal(tmp_path, "db") as writer:
        writer.new_claim(T1, [1, 2, 3])
        writer.handing_over(T1, 1)
        writer.answered(T1, 1, "sent", 250, "250 2.0.0 Ok:\tqueued\nas X")
        writer.renewed(T2, [2, 3])
        writer.handing_over(T2, 2)
        text = writer.path.read_text()

    segment = parse(writer.path, text)
    assert segment.trusted and segment.database == "db"
    assert segment.entries[1].replies[T1] == journal.Reply(
        "sent", 250, "250 2.0.0 Ok:\tqueued\nas X"
    )
    assert segment.entries[2].tokens == {T1, T2} and segment.entries[2].handed_over == {T2}
    assert segment.entries[2].replies == {}
    assert segment.entries[3].handed_over == set()


def test_a_line_cut_short_by_the_kill_is_ignored(tmp_path):
    with SendJournal(tmp_path, "db") as writer:
        writer.new_claim(T1, [1, 2])
        writer.handing_over(T1, 1)
        text = writer.path.read_text()
    cut = text + f"H\t{T1.isoformat()}\t2"[:-1]  # the kill came in the middle of the write

    segment = parse(writer.path, cut)
    assert segment.entries[1].handed_over == {T1}
    assert segment.entries[2].handed_over == set()  # its DATA had not gone yet


def test_a_live_writers_segment_is_not_taken(tmp_path):
    with SendJournal(tmp_path, "db") as writer:
        writer.new_claim(T1, [1])
        assert list(abandoned_segments(tmp_path)) == []  # the writer holds its lock
        writer.fd, held = None, writer.fd  # as if the writer died: its lock goes with its file
        os.close(held)
        taken = [segment.entries for segment, _ in abandoned_segments(tmp_path)]
    assert taken == [{1: journal.Entry(tokens={T1})}]


def test_a_finished_run_leaves_no_segment(tmp_path):
    with SendJournal(tmp_path, "db") as writer:
        writer.new_claim(T1, [1])
        writer.new_claim(T2, [2])
        writer.attempts_committed()  # the first claim's segment is no longer needed
        assert [p.name for p in tmp_path.iterdir()] == [writer.path.name]
    assert list(tmp_path.iterdir()) == []


def test_a_run_that_failed_leaves_its_segments_for_a_reader(tmp_path):
    with pytest.raises(RuntimeError), SendJournal(tmp_path, "db") as writer:
        writer.new_claim(T1, [1])
        raise RuntimeError("the server went away")
    assert len(list(abandoned_segments(tmp_path))) == 1


@pytest.mark.django_db
def test_the_journal_of_another_database_is_left_alone(three_approved, settings, tmp_path):
    settings.SEND_JOURNAL_DIR = tmp_path
    ids = list(Message.objects.filter(batch=three_approved).values_list("pk", flat=True))
    Message.objects.filter(pk__in=ids).update(send_status=SendStatus.SENDING, send_claimed_at=T1)
    with (
        pytest.raises(RuntimeError),
        SendJournal(tmp_path, "postgresql:elsewhere:5432:other") as writer,
    ):
        writer.new_claim(T1, ids)
        raise RuntimeError

    assert recover_abandoned_sends() == {"answered": 0, "requeued": 0, "unknown": 0}
    assert Message.objects.filter(pk__in=ids, send_status=SendStatus.SENDING).count() == 3
    assert len(list(tmp_path.iterdir())) == 1


@pytest.mark.django_db
def test_a_normal_send_writes_and_removes_its_journal(
    three_approved, settings, tmp_path, mailoutbox
):
    settings.SEND_JOURNAL_DIR = tmp_path
    batch_send(batch_id=three_approved.pk)

    assert len(mailoutbox) == 3
    assert list(tmp_path.iterdir()) == []
    assert DeliveryAttempt.objects.filter(outcome=SendStatus.SENT).count() == 3


@given(outcome=st.sampled_from(["sent", "deferred", "failed", "unknown"]) | st.text(),
       code=st.none() | st.integers(min_value=-(10**20), max_value=10**20), detail=st.text())
def test_a_reply_is_written_as_json_dumps_would(outcome, code, detail):
    text = journal.reply_json(outcome, code, detail)
    assert text == json.dumps([outcome, code, detail], ensure_ascii=True)
    assert "\n" not in text and json.loads(text) == [outcome, code, detail]


def test_each_line_carries_the_token_it_was_given(tmp_path):
    same_as_t1 = T1.replace()  # equal, another object
    with SendJournal(tmp_path, "db") as writer:
        writer.new_claim(T1, [1, 2, 3])
        writer.handing_over(T1, 1)
        writer.answered(same_as_t1, 1, "sent", 250, "250 OK")
        writer.renewed(T2, [2, 3])
        writer.handing_over(T2, 2)
        writer.answered(T1, 2, "unknown", None, "no reply")  # an older token again
        writer.handing_over(T2, 3)
        lines = writer.path.read_text().splitlines()[1:]

    assert [line.split("\t")[1] for line in lines] == [
        T1.isoformat(), T1.isoformat(), T1.isoformat(), T2.isoformat(), T2.isoformat(),
        T1.isoformat(), T2.isoformat(),
    ]


@pytest.mark.django_db
def test_another_databases_journal_a_day_old_is_removed(settings, tmp_path):
    settings.SEND_JOURNAL_DIR = tmp_path
    with pytest.raises(RuntimeError), SendJournal(tmp_path, "postgresql:elsewhere:5432:gone") as w:
        w.new_claim(T1, [1])
        raise RuntimeError
    (segment,) = tmp_path.iterdir()

    recover_abandoned_sends()
    assert segment.exists()  # its own readers may still come
    day_ago = time.time() - 86_401
    os.utime(segment, (day_ago, day_ago))
    recover_abandoned_sends()
    assert not segment.exists()
