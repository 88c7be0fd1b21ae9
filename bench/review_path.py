"""Benchmark: how many actions the review screen needs to clear a messy batch, and how long
each group action takes, on PostgreSQL.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/outbound_bench_path \\
    REDIS_URL=redis://127.0.0.1:6379/8 .venv/bin/python bench/review_path.py \\
        [--prospects 5000] [--rounds 3]

Each round builds a batch through the services (batch_start, then each chunk's
generate_chunk_job in this process, which writes, validates and routes it): --prospects
prospects named after the real companies of tests/data/sec_foreign_issuers_2002.csv (most with
a legal form), 2 % at a typo'd provider domain, 1 % at a role address, 0.5 % with a
placeholder first name ("[First Name]"), and a template that writes the raw company name into
the subject and the body. Then it follows the reviewer's path the review screen offers
(apps/review/review_path.py): the first blocking action, with every change ticked, until
nothing blocks; then approve. It counts those actions and times each group action (the
service call: lock, texts, conditional writes, re-validation, audit).

Baselines, in the same run:
- actions: what the screen offered before the path, one "Fix all" per blocking group with a
  fix, one edit or exclusion per blocking message without one, then approve;
- seconds: re-validating the same messages alone (rolled back), which every action does.
The recipient_domain rule is off (no DNS here). Targets: <= 25 actions for 5,000 messages,
p95 < 2 s per group action.
"""

import argparse
import csv
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

SUBJECT = "A question for {{ company }}"
BODY = (
    "Hi {{ first_name }},\n\nI noticed {{ company }} has been expanding this year, and I wanted "
    "to reach out: we help teams like yours cut the time they spend on supplier onboarding by "
    "about a third.\n\nIf it is useful, I could send over a two-page summary of how a company "
    "of a similar size to {{ company }} set this up in a few weeks.\n\nWould a short call next "
    "Tuesday work for you?\n\nBest regards,\nSam\n\nReply STOP to unsubscribe."
)
FIRST_NAMES = "Anna Ben Carla David Emma Farid Grace Hugo Ines Jonas Kenji Lena Marco Nora".split()
TYPO_DOMAINS = ("gmial.com", "hotmial.com", "yahooo.com", "outlok.com", "gmail.con")
ROLE_PARTS = ("info", "sales", "contact", "office")


def parse_args():
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--prospects", type=int, default=5000)
    parser.add_argument("--rounds", type=int, default=3)
    return parser.parse_args()


def company_rows() -> list[str]:
    path = ROOT / "tests" / "data" / "sec_foreign_issuers_2002.csv"
    with path.open(encoding="utf-8", newline="") as handle:
        return [row["name"] for row in csv.DictReader(handle, delimiter=";")]


def prospect_rows(count: int, *, tag: str) -> list[dict]:
    """Deterministic: every 50th at a typo'd provider, every 100th a role address, every 200th
    with a placeholder first name (none of them the same prospect)."""
    companies = company_rows()
    rows = []
    for i in range(count):
        company = companies[i % len(companies)]
        first = FIRST_NAMES[i % len(FIRST_NAMES)]
        slug = "".join(ch for ch in company.lower() if ch.isalnum())[:20] or "x"
        email = f"{first.lower()}.{tag}{i}@{slug}.com"
        if i % 50 == 1:
            email = f"{first.lower()}.{tag}{i}@{TYPO_DOMAINS[i % len(TYPO_DOMAINS)]}"
        elif i % 100 == 2:
            email = f"{ROLE_PARTS[i % len(ROLE_PARTS)]}.{tag}{i}@{slug}.com"
        elif i % 200 == 3:
            first = "[First Name]"
        rows.append({"email": email, "first_name": first, "company": company})
    return rows


def build_batch(count: int, round_number: int):
    from apps.core.models import Batch, Campaign, Client, Prospect
    from apps.generation.models import GenerationChunk
    from apps.generation.services import batch_start
    from apps.pipeline.jobs import generate_chunk_job

    client = Client.objects.create(name=f"Messy CRM {round_number}")
    campaign = Campaign.objects.create(
        client=client, name="Raw names", subject_template=SUBJECT, body_template=BODY,
        sender_email="sam@outbound.test",
    )
    prospects = Prospect.objects.bulk_create(
        Prospect(client=client, **row) for row in prospect_rows(count, tag=f"r{round_number}")
    )
    batch = batch_start(campaign=campaign, prospects=prospects, actor=None)
    for chunk_id in GenerationChunk.objects.filter(batch=batch).values_list("pk", flat=True):
        generate_chunk_job(chunk_id)
    return Batch.objects.get(pk=batch.pk)


def screen_before(batch_id: int) -> dict:
    """What the screen offered before the path: a Fix all per blocking group with a fix, an
    edit or exclusion per blocking message without one, then approve."""
    from apps.core.models import Finding, Message
    from apps.review.selectors import finding_groups

    groups = finding_groups(batch_id=batch_id)
    fixable = [g for g in groups if g["severity"] == "block" and g["suggestion"] is not None
               and g["field"] in ("subject", "body") and g["text"] is not None]
    unfixable = set(
        Finding.objects.of_included_messages([batch_id])
        .filter(severity="block", suggestion__isnull=True).values_list("message_id", flat=True)
    )
    flagged = Message.objects.filter(batch_id=batch_id, worst_severity__in=("block", "review"))
    return {
        "groups": len(groups),
        "flagged": flagged.count(),
        "blocking": flagged.filter(worst_severity="block").count(),
        "actions": len(fixable) + len(unfixable) + 1,
    }


def revalidate_alone(batch_id: int, rule_code: str) -> float:
    """Seconds to re-validate the messages the rule flags, alone, rolled back."""
    from django.db import transaction

    from apps.core.models import Finding, Message
    from apps.review.services.edits import _revalidate

    ids = set(
        Finding.objects.of_included_messages([batch_id]).filter(rule_code=rule_code)
        .values_list("message_id", flat=True)
    )
    messages = list(Message.objects.filter(pk__in=ids))
    started = time.perf_counter()
    with transaction.atomic():
        _revalidate(messages)
        seconds = time.perf_counter() - started
        transaction.set_rollback(True)
    return seconds


def follow_path(batch_id: int, reviewer) -> tuple[int, list[tuple[str, float, float, int]]]:
    """Take the path's first blocking action until nothing blocks, then approve. Returns the
    number of actions and (rule, action seconds, revalidation-alone seconds, messages)."""
    from apps.review.review_path import review_path
    from apps.review.services import RuleChange, batch_approve, rule_exclude, rule_fix, rule_replace

    timings: list[tuple[str, float, float, int]] = []
    for actions in range(100):
        path = review_path(batch_id=batch_id)
        if not path.blocking:
            batch_approve(batch_id=batch_id, actor=reviewer)
            return actions + 1, timings
        action = path.blocking[0]
        baseline = revalidate_alone(batch_id, action.rule_code)
        common = {"batch_id": batch_id, "actor": reviewer, "rule_code": action.rule_code,
                  "seen": path.seen}
        if action.primary == "fix":
            changes = {RuleChange(g["field"], g["text"]) for g in action.fixes}
            result = rule_fix(**common, changes=changes)
        elif action.primary == "replace":
            changes = {RuleChange(g["field"], g["text"]) for g in action.texts}
            result = rule_replace(**common, changes=changes, replacement=action.replacement)
        else:
            changes = {RuleChange(g["field"], g["text"])
                       for g in action.fixes + action.texts + action.others}
            result = rule_exclude(**common, changes=changes, reason="bench: cannot be fixed")
        timings.append((f"{action.primary} {action.rule_code}", result.seconds, baseline,
                        result.changed))
        if result.changed == 0:
            sys.exit(f"the path offered {action.title!r} and it changed nothing")
    sys.exit("no approval after 100 actions")


def main() -> None:
    args = parse_args()
    from _common import recreate_database, setup_django

    if not os.environ.get("DATABASE_URL", "").startswith("postgres"):
        sys.exit("set DATABASE_URL to a PostgreSQL database the benchmark may drop and re-create")
    recreate_database(os.environ["DATABASE_URL"])
    setup_django()
    from django.contrib.auth.models import Group, User

    from apps.core.models import ValidationRule

    ValidationRule.objects.filter(code="recipient_domain").update(enabled=False)
    reviewer = User.objects.create_user("rita", is_staff=True)
    reviewer.groups.add(Group.objects.get(name="reviewer"))

    all_timings = []
    for round_number in range(args.rounds):
        started = time.perf_counter()
        batch = build_batch(args.prospects, round_number)
        built = time.perf_counter() - started
        before = screen_before(batch.pk)
        actions, timings = follow_path(batch.pk, reviewer)
        all_timings += timings
        print(f"round {round_number + 1}: built in {built:.1f} s, status then {batch.status}; "
              f"{before['flagged']} flagged, {before['blocking']} blocking, "
              f"{before['groups']} groups on the screen")
        print(f"  actions to approval: path {actions} (before the path: {before['actions']}, "
              f"x{before['actions'] / actions:.1f}); "
              f"{actions / max(before['flagged'], 1):.4f} per flagged message")
        spent = sum(t[1] for t in timings)
        print(f"  the group actions' own time: {spent:.2f} s, "
              f"{spent / max(before['flagged'], 1) * 1000:.2f} ms per flagged message")
        for name, seconds, baseline, changed in timings:
            print(f"  {name}: {changed} messages in {seconds:.2f} s "
                  f"(re-validating them alone {baseline:.2f} s, x{seconds / baseline:.2f})")
    durations = sorted(t[1] for t in all_timings)
    p95 = durations[min(len(durations) - 1, round(0.95 * (len(durations) - 1)))]
    print(f"group actions: {len(durations)}, p50 {statistics.median(durations):.2f} s, "
          f"p95 {p95:.2f} s, max {durations[-1]:.2f} s (target p95 < 2 s)")


if __name__ == "__main__":
    main()
