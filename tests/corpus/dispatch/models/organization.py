"""Organizations live in a schema of their own, as Dispatch's core tables do."""

from datetime import datetime

import sqlalchemy as sa
from app.models.base import Base
from sqlalchemy.orm import Mapped, mapped_column


class Organization(Base):
    __tablename__ = "organization"
    __table_args__ = ({"schema": "dispatch_core"},)

    id: Mapped[int] = mapped_column(sa.Integer, sa.Identity(always=True), primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(255), unique=True)
    slug: Mapped[str] = mapped_column(sa.String(255))
    description: Mapped[str | None] = mapped_column(sa.Text)
    created_at: Mapped[datetime] = mapped_column(
        sa.DateTime(timezone=True), server_default=sa.func.now()
    )
