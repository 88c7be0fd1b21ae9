"""Operators read the rule statistics and proposals and decide the proposals."""

from django.db import migrations

from apps.core.permissions import grant

OPERATOR_PERMS = ["view_ruleproposal", "decide_ruleproposal"]


def seed(apps, schema_editor):
    grant(apps, "review", {"operator": OPERATOR_PERMS})


class Migration(migrations.Migration):
    dependencies = [("review", "0006_finding_dispositions_rule_proposals")]

    operations = [migrations.RunPython(seed, migrations.RunPython.noop)]
