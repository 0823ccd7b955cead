"""The author table and its API schemas."""

from sqlmodel import Field, SQLModel


class AuthorBase(SQLModel):
    name: str = Field(min_length=1, max_length=255)


class Author(AuthorBase, table=True):
    id: int | None = Field(default=None, primary_key=True)


class AuthorCreate(AuthorBase):
    pass


class AuthorUpdate(SQLModel):
    name: str | None = Field(default=None, min_length=1, max_length=255)


class AuthorRead(AuthorBase):
    id: int
