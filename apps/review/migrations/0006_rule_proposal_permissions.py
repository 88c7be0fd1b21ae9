"""Operators read the rule statistics and proposals and decide the proposals; reviewers read
how findings ended."""

from django.db import migrations

from apps.core.permissions import grant

REVIEWER_PERMS = ["view_findingdisposition"]
OPERATOR_PERMS = REVIEWER_PERMS + ["view_ruleproposal", "decide_ruleproposal"]


def seed(apps, schema_editor):
    grant(apps, "review", {"reviewer": REVIEWER_PERMS, "operator": OPERATOR_PERMS})


class Migration(migrations.Migration):
    dependencies = [("review", "0005_finding_dispositions_rule_proposals")]

    operations = [migrations.RunPython(seed, migrations.RunPython.noop)]
