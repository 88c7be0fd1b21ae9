"""Operators issue and revoke API tokens; client users never reach the admin."""

from django.db import migrations

from apps.core.permissions import grant


def grant_tokens(apps, schema_editor):
    grant(apps, "portal", {"operator": ["view_apitoken", "add_apitoken", "change_apitoken"]})


class Migration(migrations.Migration):
    dependencies = [("portal", "0001_initial"), ("core", "0005_suppression_permissions")]
    operations = [migrations.RunPython(grant_tokens, migrations.RunPython.noop)]
