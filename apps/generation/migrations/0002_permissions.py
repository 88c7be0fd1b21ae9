"""Operators import prospects, configure writers and watch generation; reviewers can watch."""

from django.db import migrations

from apps.core.permissions import grant


def grant_generation(apps, schema_editor):
    grant(apps, "generation", {
        "operator": [
            "view_prospectimport", "add_prospectimport", "view_importrowerror",
            "view_writerconfig", "add_writerconfig", "change_writerconfig",
            "view_batchgeneration",
        ],
        "reviewer": ["view_batchgeneration"],
    })


class Migration(migrations.Migration):
    dependencies = [("generation", "0001_initial"), ("core", "0005_suppression_permissions")]
    operations = [migrations.RunPython(grant_generation, migrations.RunPython.noop)]
