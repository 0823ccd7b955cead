"""Book use cases."""

from collections.abc import Sequence

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from app.models import Author, Book, BookCreate, BookUpdate
from app.services.errors import ConflictError, NotFoundError


async def list_books(
    *, session: AsyncSession, offset: int, limit: int, author_id: int | None = None
) -> Sequence[Book]:
    """Books by id, one page, optionally of one author."""
    query = select(Book).order_by(col(Book.id)).offset(offset).limit(limit)
    if author_id is not None:
        query = query.where(col(Book.author_id) == author_id)
    result = await session.exec(query)
    return result.all()


async def get_book(*, session: AsyncSession, book_id: int) -> Book:
    """One book, or NotFoundError."""
    book = await session.get(Book, book_id)
    if book is None:
        raise NotFoundError("book", book_id)
    return book


async def _require_author(session: AsyncSession, author_id: int) -> None:
    if await session.get(Author, author_id) is None:
        raise ConflictError(f"author {author_id} does not exist; create the author first")


async def create_book(*, session: AsyncSession, book_in: BookCreate) -> Book:
    """Store a new book of an existing author."""
    await _require_author(session, book_in.author_id)
    book = Book.model_validate(book_in)
    session.add(book)
    await session.commit()
    await session.refresh(book)
    return book


async def update_book(*, session: AsyncSession, book_id: int, book_in: BookUpdate) -> Book:
    """Change the fields given; leave the others."""
    book = await get_book(session=session, book_id=book_id)
    changes = book_in.model_dump(exclude_unset=True)
    if "author_id" in changes:
        await _require_author(session, changes["author_id"])
    book.sqlmodel_update(changes)
    session.add(book)
    await session.commit()
    await session.refresh(book)
    return book


async def delete_book(*, session: AsyncSession, book_id: int) -> None:
    """Delete a book."""
    book = await get_book(session=session, book_id=book_id)
    await session.delete(book)
    await session.commit()
