"""Granting model permissions to the reviewer and operator groups, from data migrations."""

from django.apps.registry import Apps


def grant(apps: Apps, app_label: str, grants: dict[str, list[str]]) -> None:
    """Give each named group these permission codenames of `app_label` (creating both)."""
    from django.contrib.auth.management import create_permissions

    for app_config in apps.get_app_configs():
        # create_permissions skips an app without a models module; a migration's historical
        # app config has none, so it is given a stand-in for the call (only its truth is read).
        app_config.models_module = True  # type: ignore[assignment]  # read for its truth only
        create_permissions(app_config, verbosity=0)
        app_config.models_module = None
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    for name, codenames in grants.items():
        group, _ = Group.objects.get_or_create(name=name)
        group.permissions.add(
            *Permission.objects.filter(content_type__app_label=app_label, codename__in=codenames)
        )
