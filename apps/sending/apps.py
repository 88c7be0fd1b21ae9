from django.apps import AppConfig


class SendingConfig(AppConfig):
    name = "apps.sending"
    label = "sending"
