"""The personal_value rule (issue 13): formulas, markup or links where a name is expected."""

from django.db import migrations

RULE = (
    "personal_value",
    "block",
    "A name or company that is not one: a spreadsheet formula, markup or a link.",
)


def seed(apps, schema_editor):
    ValidationRule = apps.get_model("core", "ValidationRule")
    code, severity, description = RULE
    ValidationRule.objects.get_or_create(
        code=code, defaults={"severity": severity, "description": description}
    )


class Migration(migrations.Migration):
    dependencies = [("validation", "0002_more_rules")]
    operations = [migrations.RunPython(seed, migrations.RunPython.noop)]
