"""Author endpoints."""

from collections.abc import Sequence

from fastapi import APIRouter, status

from app.api.deps import Limit, Offset, RowId, SessionDep
from app.api.errors import CONFLICT, NOT_FOUND, UNAVAILABLE
from app.models import Author, AuthorCreate, AuthorRead, AuthorUpdate
from app.services import authors

router = APIRouter(prefix="/authors", tags=["authors"], responses=UNAVAILABLE)


@router.get("", response_model=list[AuthorRead])
async def list_authors(
    session: SessionDep, offset: Offset = 0, limit: Limit = 20
) -> Sequence[Author]:
    """List authors, one page."""
    return await authors.list_authors(session=session, offset=offset, limit=limit)


@router.get("/{author_id}", response_model=AuthorRead, responses=NOT_FOUND)
async def get_author(session: SessionDep, author_id: RowId) -> Author:
    """Get one author."""
    return await authors.get_author(session=session, author_id=author_id)


@router.post("", response_model=AuthorRead, status_code=status.HTTP_201_CREATED)
async def create_author(session: SessionDep, author_in: AuthorCreate) -> Author:
    """Create an author."""
    return await authors.create_author(session=session, author_in=author_in)


@router.patch("/{author_id}", response_model=AuthorRead, responses=NOT_FOUND)
async def update_author(session: SessionDep, author_id: RowId, author_in: AuthorUpdate) -> Author:
    """Update an author's fields."""
    return await authors.update_author(session=session, author_id=author_id, author_in=author_in)


@router.delete(
    "/{author_id}", status_code=status.HTTP_204_NO_CONTENT, responses=NOT_FOUND | CONFLICT
)
async def delete_author(session: SessionDep, author_id: RowId) -> None:
    """Delete an author who has no books."""
    await authors.delete_author(session=session, author_id=author_id)
