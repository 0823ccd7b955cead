"""The FastAPI app: routers, error mapping, and engine disposal at shutdown."""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from app.api import authors, books, errors, health
from app.storage.database import get_engine


@asynccontextmanager
async def lifespan(_: FastAPI) -> AsyncIterator[None]:
    yield
    await get_engine().dispose()


def create_app() -> FastAPI:
    app = FastAPI(title="Bookshelf", lifespan=lifespan)
    app.include_router(health.router)
    app.include_router(authors.router)
    app.include_router(books.router)
    errors.register(app)
    return app


app = create_app()
