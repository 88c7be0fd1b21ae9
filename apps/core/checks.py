"""System checks: a bad configuration fails `manage.py check` with an id and a clear message."""

from django.conf import settings
from django.core.checks import Error, Tags, register


@register(Tags.compatibility, deploy=False)
def settings_from_environment(app_configs, **kwargs):
    return [
        Error(
            problem, hint="See the Configuration section of docs/operations.md.", id="config.E001"
        )
        for problem in getattr(settings, "SETTINGS_ERRORS", [])
    ]
