"""Shared by the bench scripts: Django settings without a database, and the seeded rules."""

import importlib
import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

import django  # noqa: E402

django.setup()

from apps.validation.checks.base import RuleConfig  # noqa: E402


def seeded_rules() -> list[RuleConfig]:
    """The rules as the migrations seed them, without asking a database."""
    core = importlib.import_module("apps.core.migrations.0002_defaults_and_append_only_audit")
    more = importlib.import_module("apps.validation.migrations.0002_more_rules")
    rows = core.DEFAULT_RULES + more.NEW_RULES
    return sorted((RuleConfig(code, severity) for code, severity, _ in rows), key=lambda r: r.code)
