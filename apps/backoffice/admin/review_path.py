"""The reviewer's path on the review screen: one action per rule (apps/review/review_path.py),
what blocks approval first, each with its preview, and the view that runs the group action
the reviewer chose (fix, replace, exclude) through apps/review/services/group_actions.py.

A mixin of BatchAdmin (admin/review.py), which claims the batch and reports refusals
(`_decide`)."""

import json

from django.contrib import messages
from django.http import HttpRequest, HttpResponseRedirect
from django.urls import path
from django.views.decorators.http import require_POST

from apps.review.review_path import ReviewPath, review_path
from apps.review.services import (
    GroupActionResult,
    RuleChange,
    rule_exclude,
    rule_fix,
    rule_replace,
)
from apps.review.services.group_actions import EXCLUDE, FIX, REPLACE

DONE = {FIX: "Fixed", REPLACE: "Replaced the flagged text in", EXCLUDE: "Excluded"}


class ReviewPathMixin:
    """Adds the path to the review screen's context and the URL of its group actions."""

    def path_urls(self) -> list:
        view = self.admin_site.admin_view  # type: ignore[attr-defined]
        return [
            path("<int:batch_id>/rule-action/", view(require_POST(self.rule_action_view)),
                 name="core_batch_rule_action"),
        ]

    def path_context(self, batch_id: int) -> dict[str, ReviewPath]:
        return {"review_path": review_path(batch_id=batch_id)}

    def rule_action_view(self, request: HttpRequest, batch_id: int) -> HttpResponseRedirect:
        rule_code = request.POST.get("rule_code", "")[:50]
        kind = request.POST.get("do", "")
        changes = _changes_from(request.POST.getlist("change"))
        seen_text = request.POST.get("seen", "")
        seen = int(seen_text) if seen_text.isdigit() else None

        def decide() -> None:
            if kind not in DONE or not rule_code:
                self.message_user(request, "Choose an action.", level=messages.ERROR)  # type: ignore[attr-defined]
                return
            result = _run(kind, batch_id=batch_id, actor=request.user, rule_code=rule_code,
                          changes=changes, seen=seen, post=request.POST)
            self.message_user(request, _result_text(kind, result), level=_level(result))  # type: ignore[attr-defined]

        return self._decide(request, batch_id, decide)  # type: ignore[attr-defined]


def _run(kind: str, *, post, **common) -> GroupActionResult:
    if kind == FIX:
        return rule_fix(**common)
    if kind == REPLACE:
        return rule_replace(**common, replacement=post.get("replacement", ""))
    return rule_exclude(**common, reason=post.get("reason", ""))


def _changes_from(values: list[str]) -> set[RuleChange]:
    """The ticked changes, as the preview named them: [field, flagged text or null]."""
    changes = set()
    for value in values:
        try:
            field, text = json.loads(value)
        except (ValueError, TypeError):
            continue
        if isinstance(field, str) and (text is None or isinstance(text, str)):
            changes.add(RuleChange(field=field[:20], text=text))
    return changes


def _result_text(kind: str, result: GroupActionResult) -> str:
    text = f"{DONE[kind]} {result.changed:,} message(s) in {result.seconds:.1f} s"
    text += "; re-validated." if kind != EXCLUDE else "."
    if result.skipped:
        text += f" {result.skipped:,} changed since you looked and were left alone."
    return text


def _level(result: GroupActionResult) -> int:
    if result.changed == 0:
        return messages.ERROR
    return messages.WARNING if result.skipped else messages.SUCCESS
