"""The author table and its API schemas."""

from sqlmodel import Field, SQLModel

from app.models.fields import omittable


class AuthorBase(SQLModel):
    name: str = Field(min_length=1, max_length=255)


class Author(AuthorBase, table=True):
    id: int | None = Field(default=None, primary_key=True)


class AuthorCreate(AuthorBase):
    pass


class AuthorUpdate(SQLModel):
    name: str = omittable(min_length=1, max_length=255)


class AuthorRead(AuthorBase):
    id: int
