from django.apps import AppConfig
from django.apps import apps as global_apps
from django.db.models.signals import post_migrate


class ValidationConfig(AppConfig):
    name = "apps.validation"
    label = "validation"

    def ready(self) -> None:
        # The rule rows come from the rule specs: every `migrate` adds a new spec's row.
        post_migrate.connect(sync_rules_after_migrate, sender=self)


def sync_rules_after_migrate(sender, *, apps=global_apps, using: str = "default",
                             **kwargs) -> None:
    """With the ValidationRule model as the migrations left it (the historical one, as Django's
    own post_migrate handlers use); `flush` sends no `apps`, and then the current one serves."""
    from apps.validation.services import rules_sync

    try:
        rule_model = apps.get_model("core", "ValidationRule")
    except LookupError:  # migrated back past the table
        return
    rules_sync(rule_model=rule_model, using=using)
