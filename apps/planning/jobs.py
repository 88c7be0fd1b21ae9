"""Thin jobs of the planning room."""

from django.utils import timezone

from apps.planning.services import quotes_refresh


def refresh_quotes() -> int:
    return quotes_refresh(now=timezone.now())
