"""Errors services raise; callers (views, admin, tests) match on the type."""


class ServiceError(Exception):
    """Base class: the message is fit to show a user as it is."""


class TransitionConflict(ServiceError):
    """The object was not in the state the caller expected: someone else moved it first."""

    def __init__(self, what: str, expected: str, actual: str):
        self.expected = expected
        self.actual = actual
        super().__init__(f"{what} is {actual or 'gone'}, not {expected}: someone else acted on it first.")


class ApprovalRefused(ServiceError):
    """Approval is not allowed as things stand (for instance, a blocking finding is open)."""
