from django.urls import path

from apps.health.views import healthz

urlpatterns = [path("", healthz, name="healthz")]
