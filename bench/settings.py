"""The project's settings plus django-post_office, for bench/send_throughput.py's baseline."""

from config.settings import *  # noqa: F403

INSTALLED_APPS = [*INSTALLED_APPS, "post_office"]  # noqa: F405
POST_OFFICE = {
    "BACKENDS": {"default": "django.core.mail.backends.smtp.EmailBackend"},
    "BATCH_SIZE": 1000,
}
LOGGING = {**LOGGING, "root": {"handlers": ["console"], "level": "WARNING"}}  # noqa: F405
