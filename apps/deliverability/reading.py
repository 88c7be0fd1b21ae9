"""Reading a mail that came back to a return path: which message it is about, and what kind.

The message comes from the VERP token (apps/sending/verp.py): the address the report was
delivered to (Delivered-To, X-Original-To, To, as the receiving server writes them), else the
return path in the returned original's headers (feedback reports quote them). What kind it is
comes from the report itself: an ARF feedback report (RFC 5965) is a complaint; otherwise
flufl.bounce (GNU Mailman's detectors, for RFC 3464 DSNs and the dialects of Postfix, Exim,
Exchange, qmail, Yahoo and others) tells permanent from temporary failures; an auto-reply is
told by its headers (RFC 3834); anything else at a return path is a report it could not read.
"""

import hashlib
import re
from email import message_from_bytes
from email.message import Message as EmailMessage

from flufl.bounce import all_failures

from apps.deliverability.models import EventKind
from apps.deliverability.services import Report
from apps.sending import verp

ADDRESS_HEADERS = ("Delivered-To", "X-Original-To", "Envelope-To", "X-Envelope-To", "To")
AUTO_REPLY_SUBJECT = re.compile(
    r"^\s*(auto(matic)?[ -]?(reply|response|antwort)|auto:|out of (the )?office|abwesenheit)",
    re.IGNORECASE,
)
ADDRESS_IN = re.compile(r"[^\s<>,;\"']+@[^\s<>,;\"']+")


class ForgedReport(ValueError):
    """The report names a message through a return path this installation did not sign."""


def read_report(raw: bytes | EmailMessage, *, source: str = "imap") -> Report | None:
    """The report a returned mail makes; None when it names no message of ours (not our
    return path at all). Raises ForgedReport for a forged return path."""
    mail = message_from_bytes(raw) if isinstance(raw, bytes) else raw
    message_id = _message_named(mail)
    if message_id is None:
        return None
    kind, failed, evidence = classify(mail)
    key = (mail.get("Message-ID") or "").strip()
    key = f"mail:{key}" if key else "mail-sha256:" + hashlib.sha256(_bytes(raw, mail)).hexdigest()
    return Report(key=f"{key}:{message_id}"[:300], kind=kind, source=source,
                  message_id=message_id, recipient=next(iter(sorted(failed)), ""),
                  evidence=evidence)


def _bytes(raw, mail: EmailMessage) -> bytes:
    return raw if isinstance(raw, bytes) else mail.as_bytes()


def _message_named(mail: EmailMessage) -> int | None:
    # The returned original is walked only when the report's own headers name no message:
    # walking every part of every report is a good share of a mailbox run.
    for candidates in (_addresses_in_headers(mail), _returned_return_paths(mail)):
        for address in candidates:
            try:
                message_id = verp.message_for(address)
            except verp.ForgedReturnPath as exc:
                raise ForgedReport(str(exc)) from exc
            if message_id is not None:
                return message_id
    return None


def _addresses_in_headers(mail: EmailMessage):
    for name in ADDRESS_HEADERS:
        for value in mail.get_all(name) or ():
            yield from ADDRESS_IN.findall(str(value))


def _returned_return_paths(mail: EmailMessage):
    for part in _returned_headers(mail):
        yield from ADDRESS_IN.findall(str(part.get("Return-Path", "")))


def _returned_headers(mail: EmailMessage) -> list[EmailMessage]:
    """The headers of the original message a report quotes (message/rfc822 or
    text/rfc822-headers parts)."""
    found = []
    for part in mail.walk():
        kind = part.get_content_type()
        if kind == "message/rfc822" and part.is_multipart():
            found += [p for p in part.get_payload() if isinstance(p, EmailMessage)]
        elif kind == "text/rfc822-headers":
            payload = part.get_payload(decode=True)
            found.append(message_from_bytes(payload if isinstance(payload, bytes) else b""))
    return found


def classify(mail: EmailMessage) -> tuple[str, set[str], str]:
    """(kind, the failed addresses the report names, evidence for a person)."""
    if _is_feedback_report(mail):
        return EventKind.COMPLAINT, set(), _evidence(mail, "feedback report (ARF)")
    temporary, permanent = all_failures(mail)
    if permanent:
        failed = {a.decode("utf-8", "replace").lower() for a in permanent}
        return EventKind.HARD, failed, _evidence(mail, f"permanent failure of {sorted(failed)}")
    if temporary:
        failed = {a.decode("utf-8", "replace").lower() for a in temporary}
        return EventKind.SOFT, failed, _evidence(mail, f"temporary failure of {sorted(failed)}")
    if _is_auto_reply(mail):
        return EventKind.AUTO_REPLY, set(), _evidence(mail, "auto-reply")
    return EventKind.UNKNOWN, set(), _evidence(mail, "a report no detector could read")


def _is_feedback_report(mail: EmailMessage) -> bool:
    report_type = mail.get_param("report-type")
    return (mail.get_content_type() == "multipart/report"
            and isinstance(report_type, str) and report_type.lower() == "feedback-report")


def _is_auto_reply(mail: EmailMessage) -> bool:
    submitted = (mail.get("Auto-Submitted") or "").strip().lower()
    return (submitted.startswith("auto-replied")
            or any(mail.get(h) for h in ("X-Autoreply", "X-Autorespond"))
            or (mail.get("Precedence") or "").strip().lower() == "auto_reply"
            or bool(AUTO_REPLY_SUBJECT.match(str(mail.get("Subject") or ""))))


def _blocks(part: EmailMessage) -> list[EmailMessage]:
    """A report part's header blocks: its sub-parts, or the part itself."""
    if not part.is_multipart():
        return [part]
    return [block for block in part.get_payload() if isinstance(block, EmailMessage)]


def _evidence(mail: EmailMessage, summary: str) -> str:
    """What a person needs to check the verdict: the summary, who said it, and the lines of the
    report that carry the reason (Status, Diagnostic-Code, Feedback-Type, …)."""
    lines = [summary, f"From: {mail.get('From', '')}", f"Subject: {mail.get('Subject', '')}",
             f"Date: {mail.get('Date', '')}"]
    for part in mail.walk():
        if part.get_content_type() in ("message/delivery-status", "message/feedback-report"):
            for block in _blocks(part):
                for name in ("Status", "Action", "Diagnostic-Code", "Final-Recipient",
                             "Feedback-Type", "User-Agent", "Original-Rcpt-To", "Source-IP"):
                    for value in block.get_all(name) or ():
                        lines.append(f"{name}: {value}")
    return "\n".join(str(line) for line in lines)
