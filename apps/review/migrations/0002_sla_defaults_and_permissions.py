"""Default SLA targets (standard: 95 % within 4 h; priority: 95 % within 30 min) and the
review app's permissions for the reviewer and operator groups."""

from django.db import migrations

from apps.core.permissions import grant
from apps.review.models import DEFAULT_SLA_TARGETS

# Reviewers see targets and their rounds; only operators change targets, reassign claims,
# recall anyone's approval and read the review-time statistics.
REVIEWER_PERMS = ["view_slatarget", "view_reviewround", "view_claim"]
OPERATOR_PERMS = REVIEWER_PERMS + [
    "change_slatarget", "view_review_stats", "reassign_claim", "recall_any_batch",
]


def seed(apps, schema_editor):
    SlaTarget = apps.get_model("review", "SlaTarget")
    for tier, (minutes, pct) in DEFAULT_SLA_TARGETS.items():
        SlaTarget.objects.get_or_create(tier=tier, defaults={"target_minutes": minutes, "target_pct": pct})
    grant(apps, "review", {"reviewer": REVIEWER_PERMS, "operator": OPERATOR_PERMS})


class Migration(migrations.Migration):
    dependencies = [
        ("review", "0001_holding_queue"),
        ("core", "0002_defaults_and_append_only_audit"),
    ]

    operations = [migrations.RunPython(seed, migrations.RunPython.noop)]
