"""The FastAPI app: routers, error mapping, and engine disposal at shutdown."""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request, status
from fastapi.responses import JSONResponse
from sqlalchemy.exc import DataError, IntegrityError

from app.api import authors, books, health
from app.services.errors import ConflictError, NotFoundError
from app.storage.database import get_engine


@asynccontextmanager
async def lifespan(_: FastAPI) -> AsyncIterator[None]:
    yield
    await get_engine().dispose()


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


def create_app() -> FastAPI:
    app = FastAPI(title="Bookshelf", lifespan=lifespan)
    app.include_router(health.router)
    app.include_router(authors.router)
    app.include_router(books.router)
    app.add_exception_handler(NotFoundError, not_found)
    app.add_exception_handler(ConflictError, conflict)
    # A race the service checks cannot see (a row deleted in between) is still a conflict.
    app.add_exception_handler(IntegrityError, conflict)
    app.add_exception_handler(DataError, invalid_data)
    return app


app = create_app()
