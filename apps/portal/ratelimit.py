"""Requests per minute per API token, counted in Redis so all web processes share one count."""

import logging
import time

from django.conf import settings

from apps.core.embedded_redis import ensure_embedded_redis

log = logging.getLogger(__name__)


def over_limit(token_id: int) -> bool:
    """Count this request; True when the token is past its limit for the current minute."""
    import django_rq
    import redis

    window = int(time.time() // 60)
    key = f"api-rate:{token_id}:{window}"
    try:
        ensure_embedded_redis()
        connection = django_rq.get_connection(settings.PIPELINE_QUEUES[0])
        pipe = connection.pipeline()
        pipe.incr(key)
        pipe.expire(key, 120)
        count, _ = pipe.execute()
    except (redis.RedisError, OSError):
        # A limiter that cannot count lets the request through rather than take the API down.
        log.warning("API rate limiter unavailable; request for token %s not counted", token_id)
        return False
    return count > settings.API_RATE_LIMIT_PER_MINUTE
