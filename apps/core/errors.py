"""Errors services raise; callers (views, admin, tests) match on the type."""


class ServiceError(Exception):
    """Base class: the message is fit to show a user as it is."""


class TransitionConflict(ServiceError):
    """The object was not in the state the caller expected: someone else moved it first."""

    def __init__(self, what: str, expected: str, actual: str, by: str = ""):
        self.expected = expected
        self.actual = actual
        self.by = by  # who moved it, and when ("rita at 14:03 UTC"), when the audit trail says
        who = f"{by} acted on it first" if by else "someone else acted on it first"
        super().__init__(f"{what} is {actual or 'gone'}, not {expected}: {who}.")


class ApprovalRefused(ServiceError):
    """Approval is not allowed as things stand (for instance, a blocking finding is open)."""
