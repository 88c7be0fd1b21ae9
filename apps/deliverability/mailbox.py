"""Reading the bounce mailbox over IMAP (imap-tools): each new report applied once, then
marked.

A message is marked with the keyword `OutboundProcessed` after its report is committed, and
only unmarked messages are read. A crash between the two reads it again next time; its key
(apps/deliverability/services.py) makes the second application a no-op. The mail stays in the
mailbox, as evidence a person can read.

The mailbox is read in chunks (BOUNCE_IMAP_FETCH_CHUNK) over one connection, each fetched as
raw bytes in one command. Reading a report (parsing the mail, flufl.bounce) is most of the
work, so a mailbox of more than one chunk is read by BOUNCE_READ_PROCESSES processes while
this one fetches the next chunk and records the one before: the chunk's reports in one
transaction (reports_apply), then its keyword.
"""

import logging
import multiprocessing
import re
from collections import deque
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from django.conf import settings
from imap_tools import AND, MailBox, MailBoxUnencrypted
from imap_tools.errors import MailboxFetchError
from imap_tools.utils import check_command_status

from apps.deliverability.reading import ForgedReport, read_report
from apps.deliverability.services import Report, reports_apply

log = logging.getLogger(__name__)
PROCESSED = "OutboundProcessed"
FETCH_UID = re.compile(rb"\bUID (\d+)")
# What reading one mail came to: a report, None (names no message of ours), or FORGED.
FORGED = "forged"
Outcome = Report | str | None


@dataclass
class MailboxRun:
    read: int = 0
    applied: int = 0
    repeated: int = 0  # applied before (read twice)
    not_ours: int = 0  # no return path of ours in it
    forged: int = 0
    kinds: dict[str, int] = field(default_factory=dict)


def configured() -> bool:
    return bool(settings.BOUNCE_IMAP_HOST)


def _mailbox():
    kind = MailBox if settings.BOUNCE_IMAP_SSL else MailBoxUnencrypted
    return kind(settings.BOUNCE_IMAP_HOST, settings.BOUNCE_IMAP_PORT, timeout=30).login(
        settings.BOUNCE_IMAP_USER, settings.BOUNCE_IMAP_PASSWORD,
        initial_folder=settings.BOUNCE_IMAP_FOLDER,
    )


def read_bounce_mailbox() -> MailboxRun:
    """Read every unprocessed message of the bounce mailbox and apply its report."""
    run = MailboxRun()
    if not configured():
        return run
    with _mailbox() as mailbox:
        uids = mailbox.uids(AND(no_keyword=PROCESSED))
        size = settings.BOUNCE_IMAP_FETCH_CHUNK
        chunks = [uids[start:start + size] for start in range(0, len(uids), size)]
        with _readers(len(chunks)) as start_reading:
            # One chunk read ahead: the readers work on it while this process records the
            # chunk before. Everything that talks IMAP stays on this thread.
            pending: deque[tuple[list[str], Callable[[], list[Outcome]]]] = deque()
            for chunk in chunks:
                pending.append((chunk, start_reading(_fetch_raw(mailbox, chunk))))
                if len(pending) > 1:
                    _record(mailbox, *pending.popleft(), run)
            while pending:
                _record(mailbox, *pending.popleft(), run)
    return run


def _fetch_raw(mailbox, uids: list[str]) -> list[bytes]:
    """The chunk's mails as the server stores them, in one FETCH (imap-tools would parse each
    into a MailMessage here, in this process)."""
    result = mailbox.client.uid("FETCH", ",".join(uids), "(UID BODY.PEEK[])")
    check_command_status(result, MailboxFetchError)
    by_uid = {}
    for item in result[1]:
        if isinstance(item, tuple):
            found = FETCH_UID.search(item[0])
            if found:
                by_uid[found[1].decode()] = item[1]
    # A mail expunged meanwhile is simply not there; the rest keep the order of `uids`.
    return [by_uid[uid] for uid in uids if uid in by_uid]


def _record(mailbox, uids: list[str], result: Callable[[], list[Outcome]],
            run: MailboxRun) -> None:
    outcomes = result()
    reports = [outcome for outcome in outcomes if isinstance(outcome, Report)]
    run.read += len(outcomes)
    run.forged += outcomes.count(FORGED)
    run.not_ours += outcomes.count(None)
    # The chunk's reports in one transaction; the keyword is set only after its commit, so a
    # crash re-reads the chunk and the keys apply nothing twice.
    applied = reports_apply(reports=reports)
    run.applied += len(applied)
    run.repeated += len(reports) - len(applied)
    for item in applied:
        run.kinds[str(item.kind)] = run.kinds.get(str(item.kind), 0) + 1
    mailbox.flag(uids, PROCESSED, True)


def read_all(raws: list[bytes]) -> list[Outcome]:
    """What each mail is (in a reader process, or in this one)."""
    return [_read_one(raw) for raw in raws]


def _read_one(raw: bytes) -> Outcome:
    try:
        return read_report(raw, source="imap")
    except ForgedReport as exc:
        log.warning("bounce mailbox: refused a report: %s", exc)
        return FORGED


def _read_here(raws: list[bytes]) -> Callable[[], list[Outcome]]:
    outcomes = read_all(raws)
    return lambda: outcomes


@contextmanager
def _readers(chunks: int) -> Iterator[Callable[[list[bytes]], Callable[[], list[Outcome]]]]:
    """A function that starts reading a chunk and returns how to wait for its outcomes: in
    BOUNCE_READ_PROCESSES forked processes when there is more than one chunk (they inherit the
    settings, the VERP key among them, and touch no database), else in this process. The
    readers end with the job; a job killed for its timeout takes them along (RQ kills the
    work-horse's process group)."""
    processes = settings.BOUNCE_READ_PROCESSES
    if chunks < 2 or processes < 2 or "fork" not in multiprocessing.get_all_start_methods():
        yield _read_here
        return
    with multiprocessing.get_context("fork").Pool(processes) as pool:
        def start(raws: list[bytes]) -> Callable[[], list[Outcome]]:
            # Split among the processes, so that one chunk keeps all of them busy.
            size = max(1, -(-len(raws) // processes))
            parts = pool.map_async(read_all, [raws[i:i + size] for i in range(0, len(raws), size)])
            return lambda: [outcome for part in parts.get() for outcome in part]

        yield start
