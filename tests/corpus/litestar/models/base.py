"""advanced-alchemy's way, as litestar-fullstack uses it: a declarative base and mixins for a
UUID primary key and audit timestamps; the base shares the models' MetaData."""

import uuid
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlmodel import SQLModel


class Base(DeclarativeBase):
    metadata = SQLModel.metadata


class UUIDAuditBase(Base):
    __abstract__ = True

    id: Mapped[uuid.UUID] = mapped_column(
        sa.Uuid, primary_key=True, default=uuid.uuid4, server_default=sa.text("gen_random_uuid()")
    )
    created_at: Mapped[datetime] = mapped_column(
        sa.DateTime(timezone=True), server_default=sa.func.now()
    )
    updated_at: Mapped[datetime] = mapped_column(
        sa.DateTime(timezone=True), server_default=sa.func.now(), onupdate=sa.func.now()
    )
