"""Field kinds the API schemas share."""

from typing import Any

from sqlmodel import Field


def _no_default(schema: dict[str, Any]) -> None:
    schema.pop("default", None)


def omittable(**constraints: Any) -> Any:
    """A PATCH field: leave it out to keep the stored value; an explicit null is a 422.

    Typed as the value (`name: str = omittable(...)`), so null fails validation; the None
    default only stands for "not given", and is kept out of the OpenAPI schema.
    """
    return Field(default=None, schema_extra={"json_schema_extra": _no_default}, **constraints)
