"""Admin for the planning room's configuration: the reviewer roster and tier commitments.
Operators change them; reviewers may look at the roster."""

from django.contrib import admin

from apps.planning.models import Commitment, RosterException, Shift


@admin.register(Shift)
class ShiftAdmin(admin.ModelAdmin):
    list_display = ("reviewer", "weekday", "start_hour", "end_hour")
    list_filter = ("weekday", "reviewer")
    list_select_related = ("reviewer",)


@admin.register(RosterException)
class RosterExceptionAdmin(admin.ModelAdmin):
    list_display = ("date", "kind", "reviewer", "start_hour", "end_hour", "note")
    list_filter = ("kind",)
    date_hierarchy = "date"
    list_select_related = ("reviewer",)


@admin.register(Commitment)
class CommitmentAdmin(admin.ModelAdmin):
    list_display = (
        "tier", "covered_from_hour", "covered_to_hour", "weekdays_only", "extended_over_messages",
        "extended_target_minutes", "extended_target_pct",
    )
