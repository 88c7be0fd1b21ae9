"""How the pipeline compares e-mail addresses."""


def address_key(address: str) -> str:
    """An address as suppressions, unsubscribe links and the duplicate rule's look-up compare
    it (as lower(trim(...)) does in the database): trimmed and lower-cased. A superset of what
    the duplicate rule itself calls the same mailbox is looked up."""
    return address.strip().lower()
