"""Jobs that only tests enqueue, to look inside a real worker's work-horse."""

import gc


def collector_settings() -> tuple[int, tuple[int, int, int]]:
    """(objects frozen out of the cyclic collector's reach, its thresholds), as the horse runs."""
    return gc.get_freeze_count(), gc.get_threshold()
