"""Staff screens for the core models no single stage owns: clients and their portal logins,
staff accounts (operators cannot hand out more than the groups carry) and the audit trail."""

from django.contrib import admin
from django.contrib.auth.admin import UserAdmin
from django.contrib.auth.models import Group, User

from apps.backoffice.admin._base import ReadOnlyAdmin
from apps.core.models import AuditEvent, Client, ClientUser


@admin.register(Client)
class ClientAdmin(admin.ModelAdmin):
    list_display = ("name", "tier", "review_policy", "recontact_days", "created_at")
    list_filter = ("tier", "review_policy")
    search_fields = ("name",)


@admin.register(ClientUser)
class ClientUserAdmin(admin.ModelAdmin):
    list_display = ("user", "client")
    list_select_related = ("user", "client")
    # A plain select, not autocomplete: Django's autocomplete widget fails (500) re-rendering
    # a posted client id that is not a number.


@admin.register(AuditEvent)
class AuditEventAdmin(ReadOnlyAdmin):
    list_display = (
        "created_at",
        "actor_label",
        "action",
        "batch",
        "message",
        "from_state",
        "to_state",
    )
    list_filter = ("action",)
    list_select_related = ("batch", "batch__campaign", "message")
    search_fields = ("actor_label", "reason")


admin.site.unregister(User)


@admin.register(User)
class StaffUserAdmin(UserAdmin):
    """Operators manage logins, but cannot hand out more than the groups carry: superuser
    status and per-user permissions stay with superusers, and a superuser's account is theirs."""

    LIMITED = ("is_superuser", "user_permissions")
    GROUPS_OPERATORS_ASSIGN = ("reviewer", "operator")

    def get_fieldsets(self, request, obj=None):
        fieldsets = super().get_fieldsets(request, obj)
        if request.user.is_superuser:
            return fieldsets
        return [
            (
                name,
                {**options, "fields": tuple(f for f in options["fields"] if f not in self.LIMITED)},
            )
            for name, options in fieldsets
        ]

    def formfield_for_manytomany(self, db_field, request, **kwargs):
        if db_field.name == "groups" and not request.user.is_superuser:
            kwargs["queryset"] = Group.objects.filter(name__in=self.GROUPS_OPERATORS_ASSIGN)
        return super().formfield_for_manytomany(db_field, request, **kwargs)

    def has_change_permission(self, request, obj=None):
        if obj is not None and obj.is_superuser and not request.user.is_superuser:
            return False
        return super().has_change_permission(request, obj)

    def has_delete_permission(self, request, obj=None):
        return request.user.is_superuser  # deactivate (is_active) instead: the audit keeps the name
