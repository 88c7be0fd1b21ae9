"""The recently_contacted rule (issue 14): the client mailed this person fewer than
Client.recontact_days days ago, or the person is in another live batch."""

from django.db import migrations

RULE = (
    "recently_contacted",
    "review",
    "The client mailed this person recently (within its re-contact cap) or has them in another "
    "batch in review, approved or sending.",
)


def seed(apps, schema_editor):
    ValidationRule = apps.get_model("core", "ValidationRule")
    code, severity, description = RULE
    ValidationRule.objects.get_or_create(
        code=code, defaults={"severity": severity, "description": description}
    )


class Migration(migrations.Migration):
    dependencies = [("validation", "0004_operator_settings_checks"), ("core", "0014_client_recontact_days")]
    operations = [migrations.RunPython(seed, migrations.RunPython.noop)]
