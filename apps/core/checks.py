"""System checks: a bad configuration fails `manage.py check` with an id and a clear message."""

from collections.abc import Sequence
from typing import Any

from django.apps import AppConfig
from django.conf import settings
from django.core.checks import CheckMessage, Error, Tags, register


@register(Tags.compatibility, deploy=False)
def settings_from_environment(
    app_configs: Sequence[AppConfig] | None, **kwargs: Any
) -> list[CheckMessage]:
    return [
        Error(
            problem, hint="See the Configuration section of docs/operations.md.", id="config.E001"
        )
        for problem in getattr(settings, "SETTINGS_ERRORS", [])
    ]
