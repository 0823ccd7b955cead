"""The user_account table (litestar-fullstack's User)."""

import sqlalchemy as sa
from app.models.base import UUIDAuditBase
from sqlalchemy.orm import Mapped, mapped_column


class User(UUIDAuditBase):
    __tablename__ = "user_account"

    email: Mapped[str] = mapped_column(sa.String(255), unique=True, index=True)
    name: Mapped[str | None] = mapped_column(sa.String(255))
    hashed_password: Mapped[str | None] = mapped_column(sa.String(255))
    avatar_url: Mapped[str | None] = mapped_column(sa.String(500))
    is_active: Mapped[bool] = mapped_column(default=True)
