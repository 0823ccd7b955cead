"""Book endpoints."""

from collections.abc import Sequence

from fastapi import APIRouter, status

from app.api.deps import Limit, Offset, RowId, SessionDep
from app.api.errors import CONFLICT, NOT_FOUND, UNAVAILABLE
from app.models import Book, BookCreate, BookRead, BookUpdate
from app.services import books

router = APIRouter(prefix="/books", tags=["books"], responses=UNAVAILABLE)


@router.get("", response_model=list[BookRead])
async def list_books(
    session: SessionDep, offset: Offset = 0, limit: Limit = 20, author_id: int | None = None
) -> Sequence[Book]:
    """List books, one page, optionally of one author."""
    return await books.list_books(session=session, offset=offset, limit=limit, author_id=author_id)


@router.get("/{book_id}", response_model=BookRead, responses=NOT_FOUND)
async def get_book(session: SessionDep, book_id: RowId) -> Book:
    """Get one book."""
    return await books.get_book(session=session, book_id=book_id)


@router.post("", response_model=BookRead, status_code=status.HTTP_201_CREATED, responses=CONFLICT)
async def create_book(session: SessionDep, book_in: BookCreate) -> Book:
    """Create a book of an existing author."""
    return await books.create_book(session=session, book_in=book_in)


@router.patch("/{book_id}", response_model=BookRead, responses=NOT_FOUND | CONFLICT)
async def update_book(session: SessionDep, book_id: RowId, book_in: BookUpdate) -> Book:
    """Update a book's fields."""
    return await books.update_book(session=session, book_id=book_id, book_in=book_in)


@router.delete("/{book_id}", status_code=status.HTTP_204_NO_CONTENT, responses=NOT_FOUND)
async def delete_book(session: SessionDep, book_id: RowId) -> None:
    """Delete a book."""
    await books.delete_book(session=session, book_id=book_id)
