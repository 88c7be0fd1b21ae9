from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path
from django.views.generic import RedirectView

from apps.deliverability.webhooks import amazon_ses_tracking, mailgun_tracking, postmark_tracking
from apps.portal.api import api
from apps.sending.views import unsubscribe

# The staff admin's modules load here, with the URLs, rather than at start-up
# (SimpleAdminConfig): commands such as `validate` never import the admin.
admin.autodiscover()

urlpatterns = [
    path("", RedirectView.as_view(pattern_name="portal:batch-list", permanent=False)),
    path("admin/", admin.site.urls),
    path("accounts/login/", auth_views.LoginView.as_view(), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("portal/", include("apps.portal.urls")),
    path("api/v1/", api.urls),
    path("healthz", include("apps.health.urls")),
]

# --- sending: the one-click unsubscribe link carried by every message (RFC 8058) ---
urlpatterns += [path("unsubscribe/<str:token>", unsubscribe, name="unsubscribe")]

# --- deliverability: ESP tracking webhooks (docs/deliverability.md; 404 until configured) ---
urlpatterns += [
    path("webhooks/postmark/tracking/", postmark_tracking, name="webhook-postmark"),
    path("webhooks/mailgun/tracking/", mailgun_tracking, name="webhook-mailgun"),
    path("webhooks/amazon_ses/tracking/", amazon_ses_tracking, name="webhook-amazon-ses"),
]
