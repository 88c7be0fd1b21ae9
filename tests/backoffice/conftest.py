from tests.review.conftest import fast_password_hasher, seeded  # noqa: F401 (shared fixtures)
