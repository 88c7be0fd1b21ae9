"""Operators configure rate limits and send windows."""

from django.db import migrations

from apps.core.permissions import grant

CODENAMES = [
    f"{action}_{model}"
    for model in ("domainratelimit", "sendwindow")
    for action in ("view", "add", "change", "delete")
]


def grant_operator(apps, schema_editor):
    grant(apps, "sending", {"operator": CODENAMES})


class Migration(migrations.Migration):
    dependencies = [("sending", "0003_reputation"), ("sending", "0002_operator_permissions")]
    operations = [migrations.RunPython(grant_operator, migrations.RunPython.noop)]
