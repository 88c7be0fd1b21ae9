"""Operators configure rate limits and send windows."""

from django.db import migrations

CODENAMES = [
    f"{action}_{model}"
    for model in ("domainratelimit", "sendwindow")
    for action in ("view", "add", "change", "delete")
]


def grant(apps, schema_editor):
    from django.contrib.auth.management import create_permissions

    for app_config in apps.get_app_configs():
        app_config.models_module = True
        create_permissions(app_config, verbosity=0)
        app_config.models_module = None
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    group, _ = Group.objects.get_or_create(name="operator")
    group.permissions.add(
        *Permission.objects.filter(content_type__app_label="sending", codename__in=CODENAMES)
    )


class Migration(migrations.Migration):
    dependencies = [("sending", "0003_reputation"), ("sending", "0002_operator_permissions")]
    operations = [migrations.RunPython(grant, migrations.RunPython.noop)]
