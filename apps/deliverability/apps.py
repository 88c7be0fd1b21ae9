from django.apps import AppConfig


class DeliverabilityConfig(AppConfig):
    name = "apps.deliverability"
    verbose_name = "Deliverability (bounces and complaints)"

    def ready(self) -> None:
        from apps.deliverability import webhooks  # noqa: F401  (connects anymail's tracking signal)
