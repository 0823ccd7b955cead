"""Errors the service layer raises; the API maps each to one HTTP status."""


class NotFoundError(LookupError):
    def __init__(self, entity: str, entity_id: int) -> None:
        super().__init__(f"{entity} {entity_id} not found")


class ConflictError(ValueError):
    """The change contradicts data already stored (e.g. the author still has books)."""
