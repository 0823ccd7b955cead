"""What each error looks like on the wire: the bodies in the OpenAPI schema and the handlers."""

from typing import Any

from fastapi import FastAPI, Request, status
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from sqlalchemy.exc import DataError, DBAPIError, IntegrityError, ProgrammingError
from sqlmodel.ext.asyncio.session import AsyncSession

from app.services.errors import ConflictError, NotFoundError
from migration_toolkit.revisions import code_heads, database_revisions

# undefined_table, undefined_column: the code asks for what the database does not have (yet).
SCHEMA_MISMATCH = {"42P01", "42703"}


class ErrorBody(BaseModel):
    """A client error, said in one line."""

    detail: str


class SchemaMismatchBody(BaseModel):
    """The database's schema is not the one this code was written for."""

    detail: str
    database: list[str] | None
    code: list[str]


NOT_FOUND: dict[int | str, dict[str, Any]] = {
    status.HTTP_404_NOT_FOUND: {"model": ErrorBody, "description": "No row with this id"}
}
CONFLICT: dict[int | str, dict[str, Any]] = {
    status.HTTP_409_CONFLICT: {"model": ErrorBody, "description": "Contradicts stored data"}
}
UNAVAILABLE: dict[int | str, dict[str, Any]] = {
    status.HTTP_503_SERVICE_UNAVAILABLE: {
        "model": SchemaMismatchBody,
        "description": "The database is not at this code's revision (a migration is due)",
    }
}


async def not_found(_: Request, exc: Exception) -> JSONResponse:
    return JSONResponse({"detail": str(exc)}, status_code=status.HTTP_404_NOT_FOUND)


async def conflict(_: Request, exc: Exception) -> JSONResponse:
    detail = str(exc) if isinstance(exc, ConflictError) else "the change conflicts with stored data"
    return JSONResponse({"detail": detail}, status_code=status.HTTP_409_CONFLICT)


async def invalid_data(_: Request, exc: Exception) -> JSONResponse:
    # Input Postgres rejects (out of range, bad encoding) is the client's mistake, not a 500.
    return JSONResponse(
        {"detail": "the database rejected a value as invalid"},
        status_code=status.HTTP_422_UNPROCESSABLE_CONTENT,
    )


async def _revisions_of(session: AsyncSession | None) -> list[str] | None:
    if session is None:
        return None
    try:
        await session.rollback()  # the failed statement aborted the transaction
        return list(await database_revisions(await session.connection()))
    except (OSError, DBAPIError):
        return None


async def schema_mismatch(request: Request, exc: Exception) -> JSONResponse:
    """A missing table or column: 503 naming both revisions; any other error stays a 500."""
    sqlstate = getattr(getattr(exc, "orig", None), "sqlstate", None)
    if sqlstate not in SCHEMA_MISMATCH:
        raise exc
    database = await _revisions_of(getattr(request.state, "session", None))
    code = list(code_heads())
    shown = ", ".join(database) if database else ("base" if database == [] else "unknown")
    return JSONResponse(
        {
            "detail": f"the database schema (at {shown}) is not the one this code needs "
            f"({', '.join(code)}): the database has to be migrated",
            "database": database,
            "code": code,
        },
        status_code=status.HTTP_503_SERVICE_UNAVAILABLE,
        headers={"Retry-After": "5"},
    )


def register(app: FastAPI) -> None:
    """Map the service's errors and the database's to their HTTP statuses."""
    app.add_exception_handler(NotFoundError, not_found)
    app.add_exception_handler(ConflictError, conflict)
    # A race the service checks cannot see (a row deleted in between) is still a conflict.
    app.add_exception_handler(IntegrityError, conflict)
    app.add_exception_handler(DataError, invalid_data)
    app.add_exception_handler(ProgrammingError, schema_mismatch)
