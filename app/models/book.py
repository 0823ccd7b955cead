"""The book table and its API schemas."""

from sqlmodel import Field, SQLModel

from app.models.fields import omittable


class BookBase(SQLModel):
    title: str = Field(min_length=1, max_length=255)
    author_id: int = Field(foreign_key="author.id", index=True, ge=1, le=2_147_483_647)


class Book(BookBase, table=True):
    id: int | None = Field(default=None, primary_key=True)


class BookCreate(BookBase):
    pass


class BookUpdate(SQLModel):
    title: str = omittable(min_length=1, max_length=255)
    author_id: int = omittable(ge=1, le=2_147_483_647)


class BookRead(BookBase):
    id: int
