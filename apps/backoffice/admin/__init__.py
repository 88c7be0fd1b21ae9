"""All staff UI (the Django admin at /admin/) lives in this package: one module per stage, the
shared base classes in _base.py. Stages never import it; it imports their services and
selectors (docs/architecture.md). Importing the package registers every model's admin."""

from django.contrib import admin

admin.site.site_header = "Outbound review"
admin.site.site_title = "Outbound review"
admin.site.index_title = "Review queue and configuration"

from apps.backoffice.admin import (  # noqa: E402,F401  (each module registers its models)
    clienthooks,
    core,
    deliverability,
    generation,
    pipeline,
    planning,
    portal,
    review,
    review_time,
    rule_learning,
    sending,
    validation,
)
