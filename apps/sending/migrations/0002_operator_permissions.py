"""Operators see and resolve unknown sends and see deferrals."""

from django.db import migrations

GRANTS = {
    "operator": ["view_unknownsend", "resolve_unknownsend", "view_senddeferral"],
}


def grant(apps, schema_editor):
    from django.contrib.auth.management import create_permissions

    for app_config in apps.get_app_configs():
        app_config.models_module = True
        create_permissions(app_config, verbosity=0)
        app_config.models_module = None
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    for name, codenames in GRANTS.items():
        group, _ = Group.objects.get_or_create(name=name)
        group.permissions.add(
            *Permission.objects.filter(content_type__app_label="sending", codename__in=codenames)
        )


class Migration(migrations.Migration):
    dependencies = [("sending", "0001_initial"), ("core", "0005_suppression_permissions")]
    operations = [migrations.RunPython(grant, migrations.RunPython.noop)]
