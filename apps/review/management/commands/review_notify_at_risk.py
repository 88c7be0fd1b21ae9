from django.core.management.base import BaseCommand

from apps.review.services import notify_at_risk


class Command(BaseCommand):
    help = "E-mail the operators about batches at risk of missing their review SLA (once each)."

    def handle(self, *args, **options):
        self.stdout.write(f"{notify_at_risk()} batch(es) reported at risk")
