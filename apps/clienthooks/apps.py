from django.apps import AppConfig


class ClientHooksConfig(AppConfig):
    name = "apps.clienthooks"
    label = "clienthooks"
    verbose_name = "Client webhooks"
