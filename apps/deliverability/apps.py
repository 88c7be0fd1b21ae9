from django.apps import AppConfig


class DeliverabilityConfig(AppConfig):
    name = "apps.deliverability"
    verbose_name = "Deliverability (bounces and complaints)"
