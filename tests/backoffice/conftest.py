from tests.review.conftest import (  # noqa: F401 (shared fixtures)
    empty_cache,
    fast_password_hasher,
    seeded,
)
