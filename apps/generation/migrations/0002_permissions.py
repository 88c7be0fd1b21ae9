"""Operators import prospects, configure writers and watch generation; reviewers can watch."""

from django.db import migrations


def grant(apps, schema_editor):
    from django.contrib.auth.management import create_permissions

    for app_config in apps.get_app_configs():
        app_config.models_module = True
        create_permissions(app_config, verbosity=0)
        app_config.models_module = None
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    grants = {
        "operator": [
            "view_prospectimport", "add_prospectimport", "view_importrowerror",
            "view_writerconfig", "add_writerconfig", "change_writerconfig",
            "view_batchgeneration",
        ],
        "reviewer": ["view_batchgeneration"],
    }
    for name, codenames in grants.items():
        group, _ = Group.objects.get_or_create(name=name)
        group.permissions.add(
            *Permission.objects.filter(content_type__app_label="generation", codename__in=codenames)
        )


class Migration(migrations.Migration):
    dependencies = [("generation", "0001_initial"), ("core", "0005_suppression_permissions")]
    operations = [migrations.RunPython(grant, migrations.RunPython.noop)]
