"""Liveness and readiness: ready means the database is at the code's head revision."""

from typing import Any

from fastapi import APIRouter, Response, status
from sqlalchemy.exc import DBAPIError

from app.api.deps import SessionDep
from migration_toolkit.revisions import code_heads, database_revisions

router = APIRouter(prefix="/health", tags=["health"])


@router.get("")
async def health() -> dict[str, str]:
    """The process is up."""
    return {"status": "ok"}


@router.get("/ready")
async def ready(session: SessionDep, response: Response) -> dict[str, Any]:
    """200 when the database answers at the code's head revision, else 503 with both."""
    expected = list(code_heads())
    try:
        current = list(await database_revisions(await session.connection()))
    except (OSError, DBAPIError) as exc:
        response.status_code = status.HTTP_503_SERVICE_UNAVAILABLE
        return {"status": "database unavailable", "error": type(exc).__name__, "code": expected}
    if current != expected:
        response.status_code = status.HTTP_503_SERVICE_UNAVAILABLE
        return {"status": "schema out of date", "database": current, "code": expected}
    return {"status": "ready", "database": current, "code": expected}
