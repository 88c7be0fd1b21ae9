from tests.review.conftest import empty_cache, fast_password_hasher, seeded  # noqa: F401 (shared fixtures)
