from django.apps import AppConfig


class SecurityConfig(AppConfig):
    """Hostile input (issue 13): login throttling with django-axes (its lockouts audited),
    the API's body limit and JSON errors, and the policy checks of apps/security/checks.py."""

    name = "apps.security"
    label = "security"

    def ready(self):
        from apps.security import lockouts  # noqa: F401  (connects axes' user_locked_out)
