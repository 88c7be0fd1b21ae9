from tests.review.conftest import (  # noqa: F401 (shared fixtures)
    empty_cache,
    seeded,
)
