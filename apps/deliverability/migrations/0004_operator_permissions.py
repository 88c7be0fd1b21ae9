"""Operators read the bounce events and the bounce and complaint rates."""

from django.db import migrations

from apps.core.permissions import grant

GRANTS = {"operator": ["view_bounceevent"]}


def grant_operator(apps, schema_editor):
    grant(apps, "deliverability", GRANTS)


class Migration(migrations.Migration):
    dependencies = [("deliverability", "0003_bounce_sending_domain"),
                    ("core", "0005_suppression_permissions")]
    operations = [migrations.RunPython(grant_operator, migrations.RunPython.noop)]
