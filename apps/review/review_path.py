"""The reviewer's path through a batch: one action per rule, what blocks approval first, the
action that lets the most messages through first ("Remove the legal forms from 4,612
messages"), each with the preview of the distinct changes it makes (the review screen's
groups: each flagged text and field with its count and a sample before -> after).

Built from the review screen's cached groups (selectors.finding_groups) and one aggregate per
rule, cached the same way: until the batch's next audit event. `seen` is that event's id: the
group actions leave alone a message changed after it (services/group_actions.py)."""

import json
import re
from dataclasses import dataclass, field
from typing import Any

from django.core.cache import cache
from django.db import connection

from apps.core.models import AuditEvent
from apps.review import selectors
from apps.review.selectors import FixPreview, fix_preview
from apps.review.services.group_actions import EXCLUDE, FIX, REPLACE, TEXT_FIELDS
from apps.validation.checks.placeholders import PROSPECT_FIELDS

# Per rule: messages it flags, whether it blocks, and how many messages nothing else blocks
# (the action on this rule lets them through). A message counts once per rule however many
# of its findings the rule made.
RULE_COUNTS_SQL = """
    WITH per_message AS (
        SELECT f.message_id, f.rule_code,
               MAX(CASE WHEN f.severity = 'block' THEN 1 ELSE 0 END) AS blocks
        FROM core_finding f JOIN core_message m ON m.id = f.message_id
        WHERE f.batch_id = %s AND m.batch_id = %s AND NOT m.excluded
        GROUP BY f.message_id, f.rule_code
    ), blockers AS (
        SELECT message_id, SUM(blocks) AS n FROM per_message GROUP BY message_id
    )
    SELECT p.rule_code, COUNT(*) AS messages, MAX(p.blocks) AS blocking,
           SUM(CASE WHEN p.blocks = 1 AND b.n = 1 THEN 1 ELSE 0 END) AS clears
    FROM per_message p JOIN blockers b ON b.message_id = p.message_id
    GROUP BY p.rule_code
"""

# What a reviewer most often puts where a first-name placeholder stood: "Hi there,".
FIRST_NAME_PLACEHOLDER = re.compile(r"first[\s_.-]*name|\bfname\b|\bfirst\b", re.IGNORECASE)

TITLES = {
    (FIX, "legal_form"): "Remove the legal forms from {n} message{s}",
    (FIX, ""): "Apply the suggested fixes ({rule}) to {n} message{s}",
    (REPLACE, "placeholder"): "Replace the placeholders in {n} message{s}",
    (REPLACE, ""): "Replace the flagged text ({rule}) in {n} message{s}",
    (EXCLUDE, ""): "Exclude the {n} message{s} flagged by {rule}",
}


@dataclass
class RuleAction:
    rule_code: str
    blocking: bool
    messages: int  # messages the rule flags
    clears: int  # of those, how many nothing else blocks
    fixes: list[dict[str, Any]] = field(default_factory=list)  # groups with a suggested fix
    texts: list[dict[str, Any]] = field(default_factory=list)  # text groups with none
    others: list[dict[str, Any]] = field(default_factory=list)  # no span in the text
    replacement: str = ""  # the replacement offered for `texts`

    @property
    def primary(self) -> str:
        """The action the path offers first: the fix, else one replacement, else exclusion."""
        if self.fixes and not self.texts and not self.others:
            return FIX
        # A placeholder in the prospect's name is flagged only where the text shows it
        # (checks/placeholders.py): replacing it in the text clears both findings.
        in_names = all(g["field"] in PROSPECT_FIELDS for g in self.others)
        if self.texts and in_names and self.replacement:
            return REPLACE
        return EXCLUDE

    @property
    def title(self) -> str:
        kind = self.primary
        template = TITLES.get((kind, self.rule_code)) or TITLES[(kind, "")]
        return template.format(
            n=f"{self.messages:,}", s="" if self.messages == 1 else "s", rule=self.rule_code
        )


@dataclass
class ReviewPath:
    seen: int  # the newest audit event the path was read at (0: none yet)
    blocking: list[RuleAction]
    others: list[RuleAction]  # flagged for a look; approval does not wait for them


def review_path(*, batch_id: int) -> ReviewPath:
    # 0 when the batch has no event yet: any event after the preview is then "since".
    seen = (
        AuditEvent.objects.filter(batch_id=batch_id).order_by("-created_at", "-pk")
        .values_list("pk", flat=True).first()
    ) or 0
    groups = selectors.finding_groups(batch_id=batch_id)
    selectors.group_samples(groups=groups)
    actions = {
        code: RuleAction(rule_code=code, blocking=bool(blocking), messages=messages,
                         clears=int(clears or 0))
        for code, messages, blocking, clears in _rule_counts(batch_id, seen)
    }
    for group in groups:
        action = actions.get(group["rule_code"])
        if action is None:
            continue
        group = {**group, "key": json.dumps([group["field"], group["text"]])}
        if group["field"] not in TEXT_FIELDS or group["text"] is None:
            action.others.append(group)
        elif group["sample"] is not None:
            action.fixes.append(group)
        else:
            action.texts.append(group)
    for action in actions.values():
        action.replacement = _default_replacement(action.texts)
        for group in action.texts:
            group["sample"] = replacement_sample(group, action.replacement)
    ordered = sorted(actions.values(), key=lambda a: (-a.clears, -a.messages, a.rule_code))
    return ReviewPath(
        seen=seen,
        blocking=[a for a in ordered if a.blocking],
        others=[a for a in ordered if not a.blocking],
    )


def replacement_sample(group: dict[str, Any], replacement: str) -> FixPreview:
    """The group's sample message with `replacement` where its flagged text stands."""
    return fix_preview(
        text=group["sample_text"], start=group["sample_start"] - group["sample_from"],
        end=group["sample_end"] - group["sample_from"], suggestion=replacement,
        field=group["field"],
    )


def _rule_counts(batch_id: int, seen: int | None) -> list[tuple[str, int, int, int]]:
    key = f"review:rule-counts:{batch_id}:{seen}"
    counts: list[tuple[str, int, int, int]] | None = cache.get(key)
    if counts is None:
        with connection.cursor() as cursor:
            cursor.execute(RULE_COUNTS_SQL, [batch_id, batch_id])
            counts = [(str(code), int(n), int(blocking), int(clears or 0))
                      for code, n, blocking, clears in cursor.fetchall()]
        cache.set(key, counts, timeout=3600)
    return counts


def _default_replacement(texts: list[dict[str, Any]]) -> str:
    """"there" for first-name placeholders ("Hi [First Name]," -> "Hi there,"); otherwise the
    reviewer types the replacement."""
    if texts and all(FIRST_NAME_PLACEHOLDER.search(g["text"] or "") for g in texts):
        return "there"
    return ""
