"""Author use cases."""

from collections.abc import Sequence

from sqlalchemy import func
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from app.models import Author, AuthorCreate, AuthorUpdate, Book
from app.services.errors import ConflictError, NotFoundError


async def list_authors(*, session: AsyncSession, offset: int, limit: int) -> Sequence[Author]:
    """Authors by id, one page."""
    result = await session.exec(select(Author).order_by(col(Author.id)).offset(offset).limit(limit))
    return result.all()


async def get_author(*, session: AsyncSession, author_id: int) -> Author:
    """One author, or NotFoundError."""
    author = await session.get(Author, author_id)
    if author is None:
        raise NotFoundError("author", author_id)
    return author


async def create_author(*, session: AsyncSession, author_in: AuthorCreate) -> Author:
    """Store a new author."""
    author = Author.model_validate(author_in)
    session.add(author)
    await session.commit()
    await session.refresh(author)
    return author


async def update_author(
    *, session: AsyncSession, author_id: int, author_in: AuthorUpdate
) -> Author:
    """Change the fields given; leave the others."""
    author = await get_author(session=session, author_id=author_id)
    changes = author_in.model_dump(exclude_unset=True)
    author.sqlmodel_update(changes)
    session.add(author)
    await session.commit()
    await session.refresh(author)
    return author


async def delete_author(*, session: AsyncSession, author_id: int) -> None:
    """Delete an author who has no books; one with books is a conflict."""
    author = await get_author(session=session, author_id=author_id)
    books = await session.exec(
        select(func.count()).select_from(Book).where(col(Book.author_id) == author_id)
    )
    count = books.one()
    if count:
        raise ConflictError(f"author {author_id} still has {count} book(s); delete them first")
    await session.delete(author)
    await session.commit()
