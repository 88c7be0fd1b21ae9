"""Record how findings ended before dispositions were recorded, as far as the audit trail
allows (apps/review/services/dispositions.py, backfill_from_trail).

A command, not a data migration: it reads the whole audit trail, which may be large, so it is
run when an operator chooses rather than holding a deploy's migrate; it is safe to run again
(what is recorded is skipped); and it uses the review stage's own code, which a migration must
not (a migration runs against historical models, forever).

    manage.py backfill_dispositions
"""

from django.core.management.base import BaseCommand
from django.db import transaction

from apps.review.services.dispositions import backfill_from_trail


class Command(BaseCommand):
    help = "Record past findings' endings from the audit trail (safe to run again)."

    def handle(self, *args, **options):
        with transaction.atomic():
            counts = backfill_from_trail()
        total = sum(counts.values())
        detail = ", ".join(f"{kind} {n}" for kind, n in sorted(counts.items())) or "nothing new"
        self.stdout.write(f"{total} finding ending(s) recorded from the audit trail ({detail}).")
