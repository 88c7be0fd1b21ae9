"""Operators manage the suppression list; reviewers can see it."""

from django.db import migrations

from apps.core.permissions import grant


def grant_suppression(apps, schema_editor):
    grant(apps, "core", {
        "operator": ["view_suppression", "add_suppression", "delete_suppression"],
        "reviewer": ["view_suppression"],
    })


class Migration(migrations.Migration):
    dependencies = [("core", "0004_suppression")]
    operations = [migrations.RunPython(grant_suppression, migrations.RunPython.noop)]
