"""An RQ worker on the pipeline's queues (all of them unless named), starting the embedded
Redis first when no REDIS_URL is configured."""

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError

from apps.core.cli import text_argument
from apps.core.embedded_redis import ensure_embedded_redis


class Command(BaseCommand):
    help = "Run an RQ worker on the generate, validate and send queues (or the ones named)."

    def add_arguments(self, parser):
        parser.add_argument("queues", nargs="*", help="queues to work (default: all stages)")
        parser.add_argument("--burst", action="store_true", help="exit when the queues are empty")

    def handle(self, *args, queues, burst, **options):
        for queue in queues:
            text_argument(queue, "queue")
        unknown = set(queues) - set(settings.PIPELINE_QUEUES)
        if unknown:
            raise CommandError(f"unknown queue(s): {', '.join(sorted(unknown))}")
        ensure_embedded_redis()
        # A worker takes its queues in order: finishing what is in flight first (send, then
        # validate) lets the first chunks reach review before every chunk is written.
        queues = queues or ("send", "validate", "generate")
        # A short TTL so /healthz notices a dead worker within a couple of minutes.
        # with_scheduler: jobs scheduled for later (enqueue_at) are moved to their queue on time.
        call_command(
            "rqworker", *queues, burst=burst, worker_ttl=60,
            with_scheduler=True,
        )
