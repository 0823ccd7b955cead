"""An audit log in a schema of its own: a BIGINT identity key and a JSONB payload."""

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from app.models.base import Base
from sqlalchemy.dialects import postgresql
from sqlalchemy.orm import Mapped, mapped_column


class AuditLog(Base):
    __tablename__ = "audit_log"
    __table_args__ = ({"schema": "audit"},)

    id: Mapped[int] = mapped_column(sa.BigInteger, sa.Identity(), primary_key=True)
    action: Mapped[str] = mapped_column(sa.String(50), index=True)
    payload: Mapped[dict[str, Any]] = mapped_column(
        postgresql.JSONB, server_default=sa.text("'{}'::jsonb")
    )
    actor_id: Mapped[Any] = mapped_column(
        sa.ForeignKey("user_account.id", ondelete="SET NULL"), nullable=True
    )
    at: Mapped[datetime] = mapped_column(sa.DateTime(timezone=True), server_default=sa.func.now())
