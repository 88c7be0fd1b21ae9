from tests.review.conftest import seeded  # noqa: F401 (the review app's seed, after flushes)
