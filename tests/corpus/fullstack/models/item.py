"""Items owned by users: the owner's key cascades on delete, a status enum."""

import enum
import uuid

import sqlalchemy as sa
from sqlmodel import Field, SQLModel


class ItemStatus(enum.StrEnum):
    draft = "draft"
    published = "published"


class ItemBase(SQLModel):
    title: str = Field(min_length=1, max_length=255)
    description: str | None = Field(default=None, max_length=255)


class Item(ItemBase, table=True):
    id: uuid.UUID = Field(
        default_factory=uuid.uuid4,
        primary_key=True,
        sa_column_kwargs={"server_default": sa.text("gen_random_uuid()")},
    )
    owner_id: uuid.UUID = Field(foreign_key="user.id", nullable=False, ondelete="CASCADE")
    status: ItemStatus = Field(default=ItemStatus.draft)


class ItemPublic(ItemBase):
    id: uuid.UUID
    owner_id: uuid.UUID
