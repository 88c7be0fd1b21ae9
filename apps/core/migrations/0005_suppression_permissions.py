"""Operators manage the suppression list; reviewers can see it."""

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
        "operator": ["view_suppression", "add_suppression", "delete_suppression"],
        "reviewer": ["view_suppression"],
    }
    for name, codenames in grants.items():
        group, _ = Group.objects.get_or_create(name=name)
        group.permissions.add(
            *Permission.objects.filter(content_type__app_label="core", codename__in=codenames)
        )


class Migration(migrations.Migration):
    dependencies = [("core", "0004_suppression")]
    operations = [migrations.RunPython(grant, migrations.RunPython.noop)]
