"""Reading the bounce mailbox over IMAP (imap-tools): each new report applied once, then
marked.

A message is marked with the keyword `OutboundProcessed` after its report is committed, and
only unmarked messages are read. A crash between the two reads it again next time; its key
(apps/deliverability/services.py) makes the second application a no-op. The mail stays in the
mailbox, as evidence a person can read.
"""

import logging
from dataclasses import dataclass, field

from django.conf import settings
from imap_tools import AND, MailBox, MailBoxUnencrypted

from apps.deliverability.reading import ForgedReport, read_report
from apps.deliverability.services import Report, reports_apply

log = logging.getLogger(__name__)
PROCESSED = "OutboundProcessed"


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
        chunk = settings.BOUNCE_IMAP_FETCH_CHUNK
        for start in range(0, len(uids), chunk):
            part = uids[start:start + chunk]
            done, reports = [], []
            for mail in mailbox.fetch(AND(uid=part), mark_seen=False, bulk=True):
                report = _read_one(mail.obj, run)
                if report is not None:
                    reports.append(report)
                done.append(mail.uid)
            # The chunk's reports in one transaction (reports_apply); the keyword is set only
            # after its commit, so a crash re-reads the chunk and the keys apply nothing twice.
            applied = reports_apply(reports=reports)
            run.applied += len(applied)
            run.repeated += len(reports) - len(applied)
            for event in applied:
                run.kinds[event.kind] = run.kinds.get(event.kind, 0) + 1
            if done:
                mailbox.flag(done, PROCESSED, True)
    return run


def _read_one(mail, run: MailboxRun) -> Report | None:
    run.read += 1
    try:
        report = read_report(mail, source="imap")
    except ForgedReport as exc:
        run.forged += 1
        log.warning("bounce mailbox: refused a report: %s", exc)
        return None
    if report is None:
        run.not_ours += 1
    return report
