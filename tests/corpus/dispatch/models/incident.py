"""Incidents: JSONB and ARRAY columns, a self-referential key, a computed column, partial and
functional indexes, an enum, and tags through a link table with a composite key."""

import enum
from datetime import datetime
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from app.models.base import Base
from sqlalchemy.dialects import postgresql
from sqlalchemy.orm import Mapped, mapped_column


class IncidentStatus(enum.StrEnum):
    active = "active"
    stable = "stable"
    closed = "closed"


class Incident(Base):
    __tablename__ = "incident"
    __table_args__ = (
        sa.Index(
            "ix_incident_open_reported_at",
            "reported_at",
            postgresql_where=sa.text("status <> 'closed'"),
        ),
        sa.Index("ix_incident_title_lower", sa.func.lower(sa.column("title"))),
    )

    id: Mapped[int] = mapped_column(sa.Integer, sa.Identity(), primary_key=True)
    title: Mapped[str] = mapped_column(sa.String(255))
    title_length: Mapped[int] = mapped_column(
        sa.Integer, sa.Computed("char_length(title)", persisted=True)
    )
    status: Mapped[IncidentStatus] = mapped_column(
        sa.Enum(IncidentStatus, name="incident_status"), default=IncidentStatus.active
    )
    meta: Mapped[dict[str, Any]] = mapped_column(
        postgresql.JSONB, server_default=sa.text("'{}'::jsonb")
    )
    labels: Mapped[list[str]] = mapped_column(postgresql.ARRAY(sa.String(64)), default=list)
    cost: Mapped[Decimal | None] = mapped_column(sa.Numeric(14, 2))
    reported_at: Mapped[datetime] = mapped_column(
        sa.DateTime(timezone=True), server_default=sa.func.now()
    )
    duplicate_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("incident.id", ondelete="SET NULL"), index=True
    )
    project_id: Mapped[int] = mapped_column(sa.ForeignKey("project.id"), index=True)


class Tag(Base):
    __tablename__ = "tag"

    id: Mapped[int] = mapped_column(sa.Integer, sa.Identity(), primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(255), unique=True)


class IncidentTag(Base):
    __tablename__ = "incident_tag"

    incident_id: Mapped[int] = mapped_column(
        sa.ForeignKey("incident.id", ondelete="CASCADE"), primary_key=True
    )
    tag_id: Mapped[int] = mapped_column(
        sa.ForeignKey("tag.id", ondelete="CASCADE"), primary_key=True
    )
