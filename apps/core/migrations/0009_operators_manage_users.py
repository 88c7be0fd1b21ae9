"""Operators manage logins (reviewers, operators, client users); the admin keeps superuser
status and per-user permissions out of their reach (apps/backoffice/admin/core.py)."""

from django.db import migrations

from apps.core.permissions import grant


def grant_users(apps, schema_editor):
    grant(apps, "auth", {"operator": ["view_user", "add_user", "change_user", "view_group"]})


class Migration(migrations.Migration):
    dependencies = [("core", "0008_finding_batch"), ("auth", "0012_alter_user_first_name_max_length")]
    operations = [migrations.RunPython(grant_users, migrations.RunPython.noop)]
