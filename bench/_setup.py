"""Shared by the bench scripts: Django settings without a database, and the seeded rules."""

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
    """Every rule at its default severity, as `migrate` seeds them (from the rule specs,
    apps/validation/specs.py), without asking a database."""
    from apps.validation.specs import SPECS

    return sorted((RuleConfig(spec.code, spec.severity) for spec in SPECS), key=lambda r: r.code)
