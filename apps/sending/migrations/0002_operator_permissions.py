"""Operators see and resolve unknown sends and see deferrals."""

from django.db import migrations

from apps.core.permissions import grant

GRANTS = {
    "operator": ["view_unknownsend", "resolve_unknownsend", "view_senddeferral"],
}


def grant_operator(apps, schema_editor):
    grant(apps, "sending", GRANTS)


class Migration(migrations.Migration):
    dependencies = [("sending", "0001_initial"), ("core", "0005_suppression_permissions")]
    operations = [migrations.RunPython(grant_operator, migrations.RunPython.noop)]
