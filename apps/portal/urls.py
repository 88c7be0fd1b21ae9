from django.urls import path

from apps.portal import views

app_name = "portal"
urlpatterns = [
    path("", views.batch_list, name="batch-list"),
    path("batches/<int:batch_id>/", views.batch_detail, name="batch-detail"),
    path("batches/<int:batch_id>/progress.json", views.batch_progress, name="batch-progress"),
    path("batches/<int:batch_id>/approve/", views.batch_approve, name="batch-approve"),
    path("commitment/", views.commitment, name="commitment"),
    path("batches/<int:batch_id>/withdraw/", views.batch_withdraw_view, name="batch-withdraw"),
    path("settings/", views.settings_view, name="settings"),
    path("settings/webhook/", views.webhook_view, name="webhook"),
    path("settings/webhook/deliveries/<int:delivery_id>/", views.webhook_delivery_view,
         name="webhook-delivery"),
    path("deliverability/", views.deliverability, name="deliverability"),
]
