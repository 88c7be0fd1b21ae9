"""django-rq's dashboard in the admin, with the change, delete and history pages of its
table-less Dashboard model answering 404: they query a table that does not exist (a 500 for
any id). The URLs stay, because django-rq's templates name them."""

from django.contrib import admin
from django.http import Http404
from django_rq import models as rq_models
from django_rq.admin import QueueAdmin


class DashboardAdmin(QueueAdmin):
    def change_view(self, request, object_id, form_url="", extra_context=None):
        raise Http404("The queue dashboard has no rows to change.")

    def delete_view(self, request, object_id, extra_context=None):
        raise Http404("The queue dashboard has no rows to delete.")

    def history_view(self, request, object_id, extra_context=None):
        raise Http404("The queue dashboard has no rows with a history.")


if admin.site.is_registered(rq_models.Dashboard):
    admin.site.unregister(rq_models.Dashboard)
    admin.site.register(rq_models.Dashboard, DashboardAdmin)
