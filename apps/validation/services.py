"""Validation: run the active rules over messages and store what they found."""

import logging
from collections.abc import Collection, Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from django.db import transaction
from django.db.models import Count, F, Q
from django.db.models.functions import Lower, Trim
from django.utils import timezone

from apps.core.addresses import address_key
from apps.core.audit import Actor, AuditAction, record_event
from apps.core.bulk import among, insert_rows
from apps.core.errors import ServiceError, TransitionConflict
from apps.core.models import Batch, BatchStatus, Finding, Message, Suppression, ValidationRule
from apps.validation.checks.base import SEVERITY_ORDER, CheckFinding, MessageFields, RuleConfig
from apps.validation.dns import DomainResolver
from apps.validation.models import RuleOverride
from apps.validation.parameters import validate_parameters
from apps.validation.recontact import CODE as RECONTACT
from apps.validation.recontact import last_contacts, recontact_days, recontact_finding
from apps.validation.rules import active_rules
from apps.validation.specs import SPECS
from apps.validation.suite import BATCH_LEVEL, BatchChecks, CheckPlan, recipient_key

log = logging.getLogger(__name__)
CHUNK = 500


def message_fields(message: Message) -> MessageFields:
    prospect = message.prospect
    return MessageFields(
        email=message.recipient, first_name=prospect.first_name, last_name=prospect.last_name,
        company=prospect.company, subject=message.subject, body=message.body,
    )


def _worst(findings: Sequence[CheckFinding]) -> str:
    return max((f.severity for f in findings), key=SEVERITY_ORDER.__getitem__, default="")


FINDING_FIELDS = ("message_id", "batch_id", "rule_code", "rule_version", "rule_override_version",
                  "severity", "field", "start", "end", "explanation", "suggestion")


def _store_findings(batch_id: int, results: list[tuple[int, list[CheckFinding]]], *,
                    rules: list[RuleConfig]) -> None:
    """Replace the findings of these messages (ids) of one batch; the caller holds the
    transaction."""
    now = timezone.now()
    Finding.objects.filter(message_id__in=among(pk for pk, _ in results)).delete()
    insert_rows(Finding, FINDING_FIELDS, _finding_rows(batch_id, results, rules))
    # One UPDATE per distinct worst severity (at most four), not one per message.
    ids_by_worst: dict[str, list[int]] = {}
    for pk, findings in results:
        ids_by_worst.setdefault(_worst(findings), []).append(pk)
    for worst, ids in ids_by_worst.items():
        Message.objects.filter(pk__in=among(ids)).update(validated_at=now, worst_severity=worst)


def _finding_rows(
    batch_id: int, results: list[tuple[int, list[CheckFinding]]], rules: list[RuleConfig]
) -> Iterator[tuple[object, ...]]:
    """Finding rows (FINDING_FIELDS) from (message id, findings) pairs; each records the
    version of the rule that produced it."""
    rule_of = {rule.code: rule for rule in rules}
    unknown = RuleConfig("", "", version=0)  # a finding no rule of the list produced
    return (
        (pk, batch_id, f.code, rule.version, rule.override_version, f.severity, f.field,
         f.start, f.end, f.message, f.suggestion)
        for pk, findings in results
        for f in findings
        # "recipient_domain.unknown" and "legal_form.error" come from their rule.
        for rule in [rule_of.get(f.code.split(".", 1)[0], unknown)]
    )


def suppressed_keys(*, client_id: int | None, keys: Iterable[str]) -> set[str]:
    """Which of these recipient keys are suppressed for this client or for everyone."""
    scope = Q(client__isnull=True) if client_id is None else Q(client__isnull=True) | Q(
        client_id=client_id
    )
    return set(
        Suppression.objects.filter(scope, email__in=among(set(keys), "text"))
        .values_list("email", flat=True)
    )


def _validate_chunk(
    messages: list[Message], *, rules: list[RuleConfig], resolver: DomainResolver,
    batch_checks: BatchChecks, client_id: int,
) -> list[tuple[Message, list[CheckFinding]]]:
    suppressed = suppressed_keys(
        client_id=client_id, keys=[recipient_key(m.recipient) for m in messages]
    )
    results = []
    check = CheckPlan(rules, resolver=resolver)
    for message in messages:
        label = f"message {message.pk}"
        findings = check(message_fields(message), label)
        findings += batch_checks.findings(message.recipient, label, suppressed)
        results.append((message, findings))
    contacted = _recontact_findings(
        rules, messages[0].batch_id, client_id, {m.pk: m.recipient for m in messages}
    )
    for message, findings in results:
        findings += contacted.get(message.pk, [])
    return results


def _recontact_findings(rules: list[RuleConfig], batch_id: int, client_id: int,
                        recipients: dict[int, str]) -> dict[int, list[CheckFinding]]:
    """The recently_contacted rule's findings for these messages (id → recipient) of one batch:
    one query for all of them (two with the client's cap), none when the rule is off."""
    rule = next((rule for rule in rules if rule.code == RECONTACT), None)
    if rule is None or not recipients:
        return {}
    days = recontact_days(client_id)
    contacts = last_contacts(
        client_id=client_id, batch_id=batch_id, days=days,
        addresses={address_key(recipient) for recipient in recipients.values()},
    )
    found: dict[int, list[CheckFinding]] = {}
    for pk, recipient in recipients.items():
        key = address_key(recipient)
        if key in contacts:
            found[pk] = [recontact_finding(rule, key, contacts[key], days)]
    return found


def batch_validate(*, batch_id: int) -> None:
    """Validate every message of a validating batch. Safe to run twice: findings are replaced."""
    batch = Batch.objects.filter(pk=batch_id, status=BatchStatus.VALIDATING).first()
    if batch is None:
        log.info("batch %s is not validating; nothing to do", batch_id)
        return
    rules = active_rules(client_id=batch.client_id)
    batch_checks = BatchChecks(rules)
    resolver = DomainResolver()  # one per batch: one lookup per unique domain
    messages = Message.objects.filter(batch_id=batch_id).select_related("prospect").order_by("pk")
    if any(rule.code == "recipient_domain" for rule in rules):
        # Every domain of the batch at once, in a bounded pool: a slow resolver costs one
        # timeout per batch, not one per message.
        resolver.prefetch(messages.values_list("recipient", flat=True))
    chunk: list[Message] = []
    for message in messages.iterator(chunk_size=CHUNK):
        chunk.append(message)
        if len(chunk) == CHUNK:
            _store_chunk(chunk, rules, resolver, batch_checks, batch.client_id)
            chunk = []
    if chunk:
        _store_chunk(chunk, rules, resolver, batch_checks, batch.client_id)


def _store_chunk(
    chunk: list[Message], rules: list[RuleConfig], resolver: DomainResolver,
    batch_checks: BatchChecks, client_id: int,
) -> None:
    results = _validate_chunk(
        chunk, rules=rules, resolver=resolver, batch_checks=batch_checks, client_id=client_id
    )
    with transaction.atomic():
        _store_findings(chunk[0].batch_id, [(m.pk, found) for m, found in results], rules=rules)


def message_revalidate(*, message: Message) -> str:
    """Re-run the rules on one message (after an edit); the caller holds the transaction.

    Returns the worst severity found ("" when clean).
    """
    [(_, findings)] = messages_revalidate(messages=[message])
    return _worst(findings)


@dataclass(frozen=True, slots=True)
class _Judged:
    """What validation reads of one message (from a Message or straight from a values() row)."""

    pk: int
    recipient: str
    fields: MessageFields


def messages_revalidate(*, messages: list[Message]) -> list[tuple[Message, list[CheckFinding]]]:
    """Validate some messages of one batch again, as batch_validate would judge them: the
    client's rules, and the batch rules against the rest of the batch as it is now. Stores the
    findings (the caller holds the transaction) and returns them."""
    if not messages:
        return []
    batch = messages[0].batch
    judged = [_Judged(m.pk, m.recipient, message_fields(m)) for m in messages]
    results, rules = _judge(batch.pk, batch.client_id, judged)
    ordered = [(message, results[message.pk]) for message in messages]
    _store_findings(batch.pk, [(m.pk, found) for m, found in ordered], rules=rules)
    return ordered


def batch_duplicates_recheck(*, batch_id: int, repeated: Collection[str] | None = None) -> int:
    """The duplicate rule once more, over the whole batch, when its last chunk is in.

    A chunk looks for the same address among the batch's messages already stored; two chunks
    validated side by side (several workers) cannot see each other's, and a client that
    auto-approves would then send one person the message twice. So the messages whose address
    appears more than once are validated again, through the one re-validation path. Returns
    how many were (usually none: one grouped query). `repeated`, when the caller knows it: the
    only addresses (by address_key) the batch can hold more than once; none, no query."""
    batch = Batch.objects.get(pk=batch_id)
    if batch.status != BatchStatus.VALIDATING:
        return 0  # routed by another copy of the job: what reviewers see is theirs now
    if not any(
        rule.code == "duplicate_recipient" for rule in active_rules(client_id=batch.client_id)
    ):
        return 0
    if repeated is not None and not repeated:
        return 0
    included = Message.objects.filter(batch_id=batch_id, excluded=False).annotate(
        address=Lower(Trim("recipient"))
    )
    if repeated is not None:
        included = included.filter(address__in=among(repeated, "text"))
    more_than_once = (
        included.values("address").annotate(n=Count("pk")).filter(n__gt=1).values("address")
    )
    messages: list[Message] = list(
        included.filter(address__in=more_than_once)
        .select_related("batch", "prospect")
        .order_by("pk")
    )
    if messages:
        with transaction.atomic():
            messages_revalidate(messages=messages)
    return len(messages)


def batch_recontact_recheck(*, batch_id: int) -> int:
    """The recently_contacted rule once more, over the whole batch, when its last chunk is in.

    A chunk was judged against the batches live when it was written; another batch may have
    gone into review, been approved or sent since (or been rejected). Messages whose flag
    no longer matches are validated again through the one re-validation path. One query for
    the batch's addresses, one for the flags, and one for the contacts of each 500 addresses;
    returns how many."""
    batch = Batch.objects.get(pk=batch_id)
    if batch.status != BatchStatus.VALIDATING:
        return 0  # routed by another copy of the job: what reviewers see is theirs now
    rules = active_rules(client_id=batch.client_id)
    if not any(rule.code == RECONTACT for rule in rules):
        return 0
    recipients = dict(
        Message.objects.filter(batch_id=batch_id, excluded=False).values_list("pk", "recipient")
    )
    # A chunk's addresses at a time: the lookup passes them as parameters (SQLite allows
    # 32,766 per statement, and a batch may hold more).
    ids = sorted(recipients)
    should: set[int] = set()
    for start in range(0, len(ids), CHUNK):
        chunk = {pk: recipients[pk] for pk in ids[start:start + CHUNK]}
        should |= set(_recontact_findings(rules, batch_id, batch.client_id, chunk))
    flagged = set(
        Finding.objects.filter(batch_id=batch_id, rule_code=RECONTACT)
        .values_list("message_id", flat=True)
    )
    stale = (should ^ flagged) & set(recipients)
    if stale:
        with transaction.atomic():
            messages_revalidate(messages=list(
                Message.objects.filter(pk__in=among(stale)).select_related("batch", "prospect")
                .order_by("pk")
            ))
    return len(stale)


def _judge(
    batch_id: int, client_id: int, messages: list[_Judged],
    repeated: Collection[str] | None = None,
) -> tuple[dict[int, list[CheckFinding]], list[RuleConfig]]:
    """(findings by message id, the rules that ran) for these messages of one batch. `repeated`:
    see new_messages_judge."""
    rules = active_rules(client_id=client_id)
    resolver = DomainResolver()
    if any(rule.code == "recipient_domain" for rule in rules):
        resolver.prefetch([message.recipient for message in messages])
    check = CheckPlan(rules, resolver=resolver)
    results = {message.pk: check(message.fields, f"message {message.pk}") for message in messages}
    codes = {rule.code for rule in rules}
    if codes & BATCH_LEVEL:
        # The batch rules (skipped, with their queries, when neither is enabled: then they
        # find nothing). The other messages of the batch matter only to the duplicate rule.
        suppressed: set[str] = set()
        if "suppressed" in codes:
            suppressed = suppressed_keys(
                client_id=client_id, keys=[recipient_key(m.recipient) for m in messages]
            )
        batch_checks = BatchChecks(rules)
        stream = _same_address_stream(
            batch_id, messages, with_others="duplicate_recipient" in codes, repeated=repeated
        )
        for pk, recipient, ours in stream:
            found = batch_checks.findings(recipient, f"message {pk}", suppressed if ours else set())
            if ours:
                results[pk] += found
        contacted = _recontact_findings(
            rules, batch_id, client_id, {message.pk: message.recipient for message in messages}
        )
        for pk, found in contacted.items():
            results[pk] += found
    return results, rules


def _same_address_stream(
    batch_id: int, messages: list[_Judged], *, with_others: bool = True,
    repeated: Collection[str] | None = None,
) -> list[tuple[int, str, bool]]:
    """These messages and the batch's other included messages that share an address with one
    of them, in id order: the order batch_validate meets them in, so the duplicate rule flags
    the same (later) message. Only addresses equal lower-cased are looked up (and, when
    `repeated` is given, only those among it), so this is one query, not a scan of the whole
    batch; none at all when no address can have another message."""
    ours = {message.pk: message.recipient for message in messages}
    stream = [(pk, recipient, True) for pk, recipient in ours.items()]
    lowered = {address_key(recipient) for recipient in ours.values()} if with_others else set()
    if repeated is not None:
        lowered &= set(repeated)
    if lowered:
        others = (
            Message.objects.annotate(address=Lower(Trim("recipient")))
            .filter(batch_id=batch_id, excluded=False, address__in=among(lowered, "text"))
            .exclude(pk__in=among(ours))
            .values_list("pk", "recipient")
        )
        stream += [(pk, recipient, False) for pk, recipient in others]
    return sorted(stream)


def rule_update(
    *, rule_id: int, actor: Actor, expected_version: int, enabled: bool, severity: str,
    parameters: dict[str, Any],
) -> None:
    """An operator's change to a rule: a new version, so each finding names what produced it.

    Conditional on the version the operator saw, so two operators' edits cannot silently
    overwrite each other.
    """
    now = timezone.now()
    with transaction.atomic():
        before = ValidationRule.objects.get(pk=rule_id)
        parameters = _checked_parameters(before.code, parameters)
        changed = ValidationRule.objects.filter(pk=rule_id, version=expected_version).update(
            enabled=enabled, severity=severity, parameters=parameters, version=F("version") + 1
        )
        if changed != 1:
            raise TransitionConflict(
                f"Rule {before.code}", f"version {expected_version}", f"version {before.version}"
            )
        record_event(
            actor=actor,
            action=AuditAction.RULE_CHANGED,
            at=now,
            reason=before.code,
            from_state=f"v{expected_version}",
            to_state=f"v{expected_version + 1}",
            data={
                "before": {
                    "enabled": before.enabled,
                    "severity": before.severity,
                    "parameters": before.parameters,
                },
                "after": {"enabled": enabled, "severity": severity, "parameters": parameters},
            },
        )


def rule_override_save(
    *, actor: Actor, rule_id: int, client_id: int, enabled: bool | None, severity: str,
    parameters: dict[str, Any],
) -> RuleOverride:
    """Create or change one client's override of a rule; a new override version, audited."""
    now = timezone.now()
    with transaction.atomic():
        parameters = _checked_parameters(ValidationRule.objects.get(pk=rule_id).code, parameters)
        override, created = RuleOverride.objects.select_for_update().get_or_create(
            rule_id=rule_id, client_id=client_id,
            defaults={"enabled": enabled, "severity": severity, "parameters": parameters},
        )
        before = None
        if not created:
            before = {"enabled": override.enabled, "severity": override.severity,
                      "parameters": override.parameters}
            RuleOverride.objects.filter(pk=override.pk).update(
                enabled=enabled, severity=severity, parameters=parameters,
                version=F("version") + 1, updated_at=now,
            )
            override.refresh_from_db()
        record_event(
            actor=actor, action=AuditAction.RULE_OVERRIDE_CHANGED, at=now,
            reason=f"{override.rule.code} for client {client_id}",
            to_state=f"v{override.version}",
            data={"before": before,
                  "after": {"enabled": enabled, "severity": severity, "parameters": parameters}},
        )
    return override


def rule_override_delete(*, actor: Actor, override_id: int) -> None:
    now = timezone.now()
    with transaction.atomic():
        override = RuleOverride.objects.select_related("rule").get(pk=override_id)
        record_event(
            actor=actor, action=AuditAction.RULE_OVERRIDE_REMOVED, at=now,
            reason=f"{override.rule.code} for client {override.client_id}",
            data={"enabled": override.enabled, "severity": override.severity,
                  "parameters": override.parameters},
        )
        override.delete()


def rules_sync(*, rule_model: type[ValidationRule] = ValidationRule,
               using: str = "default") -> list[str]:
    """Give every rule spec (apps/validation/specs.py) its ValidationRule row; returns the codes
    it created. Runs after every `migrate` (ValidationConfig.ready), so a new rule needs no
    migration of its own.

    A new row takes the spec's default severity. An existing row keeps what operators set
    (enabled, severity, parameters, version: findings name that version) and takes the spec's
    description, which is the code's to word (read-only in the admin). Like the seed migrations
    it follows, it is the deployment's doing, not an actor's, so it writes no audit event.
    """
    created = []
    rules = rule_model.objects.using(using)
    for spec in SPECS:
        _, new = rules.get_or_create(
            code=spec.code, defaults={"severity": spec.severity, "description": spec.reviewers}
        )
        if new:
            created.append(spec.code)
        else:
            rules.filter(code=spec.code).exclude(description=spec.reviewers).update(
                description=spec.reviewers
            )
    return created


class BadParameters(ServiceError):
    """A rule's parameters do not fit its schema; the message says what is wrong."""


def _checked_parameters(code: str, parameters: object) -> dict[str, Any]:
    # The admin form checks too; this guards every other caller (a shell, a future API).
    try:
        return validate_parameters(code, parameters)
    except ValueError as exc:
        raise BadParameters(f"Rule {code}: {exc}") from exc


# --- for generation: validating one chunk of a batch as soon as it is written ---------------
# A message as validation reads it from a chunk: (id, recipient, subject, body, and the
# prospect's first name, last name and company).
ChunkMessage = tuple[int, str, str, str, str, str, str]


def messages_validate(*, message_ids: Sequence[int]) -> None:
    """Validate these messages (one chunk of one batch) whatever the batch's status: a chunk is
    validated while later chunks are still being written. Same rules and the same path as
    messages_revalidate (the client's overrides, the batch rules); safe to run twice: findings
    are replaced. Reads plain rows, not model instances: a chunk is thousands of messages."""
    rows = list(
        Message.objects.filter(pk__in=among(message_ids)).order_by("pk").values_list(
            "batch_id", "batch__client_id", "pk", "recipient", "subject", "body",
            "prospect__first_name", "prospect__last_name", "prospect__company",
        )
    )
    if not rows:
        return
    batch_id, client_id = rows[0][0], rows[0][1]
    judged = _judged_rows([row[2:] for row in rows])
    results, rules = _judge(batch_id, client_id, judged)
    with transaction.atomic():
        _store_findings(batch_id, [(m.pk, results[m.pk]) for m in judged], rules=rules)


def _judged_rows(rows: Sequence[ChunkMessage]) -> list[_Judged]:
    return [
        _Judged(pk, recipient, MessageFields(
            email=recipient, first_name=first_name, last_name=last_name, company=company,
            subject=subject, body=body,
        ))
        for pk, recipient, subject, body, first_name, last_name, company in rows
    ]


def texts_judge(*, batch_id: int, client_id: int,
                messages: Sequence[ChunkMessage]) -> "ChunkJudgement":
    """Validate messages of one batch whose texts are about to be rewritten (a group action:
    thousands at once, read as plain rows), before the write, as generation validates a chunk:
    the same rules, the batch rules against the rest of the batch as it is now (they read the
    recipients, which a rewrite leaves alone). The caller writes each one's worst severity
    with its texts, then ChunkJudgement.replace the findings of those it wrote."""
    return new_messages_judge(batch_id=batch_id, client_id=client_id, messages=messages)


@dataclass
class ChunkJudgement:
    """What validation found in messages about to be stored: each one's worst severity (stored
    with the message) and their findings, stored by store() once the messages are."""

    batch_id: int
    results: dict[int, list[CheckFinding]]
    rules: list[RuleConfig]

    @property
    def worst(self) -> dict[int, str]:
        return {pk: _worst(findings) for pk, findings in self.results.items()}

    def store(self, only: set[int] | None = None) -> None:
        """Their findings (or those of the messages `only` names, the ones actually stored; new
        messages have none yet: nothing to replace); the caller holds the transaction that
        stores the messages."""
        results = [(pk, found) for pk, found in self.results.items() if only is None or pk in only]
        insert_rows(Finding, FINDING_FIELDS, _finding_rows(self.batch_id, results, self.rules))

    def replace(self, only: Collection[int]) -> None:
        """Replace the findings of these messages (stored before, their worst severity written
        with their new texts) with what was found; the caller holds the transaction. One
        DELETE and one COPY for all of them."""
        Finding.objects.filter(message_id__in=among(only)).delete()
        self.store(only=set(only))


def new_messages_judge(*, batch_id: int, client_id: int, messages: Sequence[ChunkMessage],
                       repeated: Collection[str] | None = None) -> ChunkJudgement:
    """Validate a chunk's messages before they are stored (their ids already chosen), as
    messages_validate would once they were: the same rules, the batch rules against the
    batch's stored messages. `repeated`, when the caller knows it: the only addresses (by
    address_key) the batch holds more than once, the only ones looked up among its
    stored messages. Writes nothing; see ChunkJudgement.store."""
    results, rules = _judge(batch_id, client_id, _judged_rows(messages), repeated)
    return ChunkJudgement(batch_id, results, rules)
