from django.urls import path

from apps.portal import views

app_name = "portal"
urlpatterns = [
    path("", views.batch_list, name="batch-list"),
    path("batches/<int:batch_id>/", views.batch_detail, name="batch-detail"),
]
