"""The rule specs (apps/validation/specs.py) are where every rule is written down: the rule
rows, the registry and the clients' wording all follow them, and `migrate` adds a new spec's
row without a migration of its own."""

import re
from pathlib import Path

import pytest
from django.conf import settings
from django.core.management.sql import emit_post_migrate_signal

from apps.core.models import ValidationRule
from apps.portal.selectors import plain_words
from apps.validation.services import rules_sync
from apps.validation.specs import BATCH, CLIENT_WORDS_UNKNOWN, MESSAGE, SPECS
from apps.validation.suite import BATCH_LEVEL, CHECKS, NEEDS_DNS


@pytest.mark.django_db
def test_each_spec_has_its_rule_row_with_the_specs_default_and_words():
    rows = {r.code: r for r in ValidationRule.objects.all()}

    assert set(rows) == {spec.code for spec in SPECS}
    for spec in SPECS:
        assert (rows[spec.code].severity, rows[spec.code].description) == (
            spec.severity, spec.reviewers
        ), spec.code


@pytest.mark.django_db
def test_sync_adds_a_missing_rule_and_keeps_what_operators_set():
    ValidationRule.objects.filter(code="recipient_relay").delete()
    ValidationRule.objects.filter(code="legal_form").update(
        severity="review", enabled=False, version=4, parameters={"x": 1}, description="stale"
    )

    created = rules_sync()

    assert created == ["recipient_relay"]
    relay = ValidationRule.objects.get(code="recipient_relay")
    assert (relay.severity, relay.enabled, relay.version) == ("review", True, 1)
    legal = ValidationRule.objects.get(code="legal_form")
    assert (legal.severity, legal.enabled, legal.version, legal.parameters) == (
        "review", False, 4, {"x": 1}
    )
    assert legal.description.startswith("A company legal form")
    assert rules_sync() == []


@pytest.mark.django_db
def test_migrate_puts_a_missing_rule_row_back():
    ValidationRule.objects.filter(code="personal_value").delete()

    emit_post_migrate_signal(verbosity=0, interactive=False, db="default")

    assert ValidationRule.objects.filter(code="personal_value", severity="block").exists()


def test_each_spec_runs_one_way_and_the_registry_follows():
    for spec in SPECS:
        assert (spec.check is None) == (spec.scope == BATCH), spec.code
        assert not (spec.needs_dns and spec.scope != MESSAGE), spec.code
    assert set(CHECKS) == {s.code for s in SPECS if s.scope == MESSAGE}
    assert {s.code for s in SPECS if s.scope == BATCH} == BATCH_LEVEL
    assert {"recipient_domain"} == NEEDS_DNS


def test_clients_read_every_rule_in_its_own_words():
    worded = {plain_words(rule_code=spec.code) for spec in SPECS}

    assert len(worded) == len(SPECS) and CLIENT_WORDS_UNKNOWN not in worded
    assert plain_words(rule_code="recipient_role") == plain_words(rule_code="recipient_role.error")
    assert "shared team inbox" in plain_words(rule_code="recipient_role")
    assert plain_words(rule_code="bounce_breaker") == CLIENT_WORDS_UNKNOWN


def test_the_rules_table_in_the_docs_lists_every_spec_with_its_default():
    table = Path(settings.BASE_DIR, "docs", "rules.md").read_text().split("\n## ")[0]
    documented = {}
    for line in table.splitlines():
        cells = [c.strip() for c in re.split(r"(?<!\\)\|", line)[1:-1]]
        if len(cells) == 3 and cells[0].startswith("`"):
            codes = [c.strip(" `") for c in cells[0].split("/")]
            severities = [s.strip() for s in cells[1].split("/")]
            documented.update(zip(codes, severities, strict=True))

    assert documented == {spec.code: spec.severity for spec in SPECS}
