"""Teams, their members and invitations: one role enum shared by two tables, a composite
primary key, tags through a link table."""

import enum
import uuid

import sqlalchemy as sa
from app.models.base import Base, UUIDAuditBase
from sqlalchemy.orm import Mapped, mapped_column


class TeamRole(enum.StrEnum):
    admin = "admin"
    member = "member"


role_type = sa.Enum(TeamRole, name="team_role")


class Team(UUIDAuditBase):
    __tablename__ = "team"

    name: Mapped[str] = mapped_column(sa.String(100))
    slug: Mapped[str] = mapped_column(sa.String(100), unique=True)
    description: Mapped[str | None] = mapped_column(sa.String(500))
    max_members: Mapped[int] = mapped_column(sa.Integer, server_default="50")
    is_active: Mapped[bool] = mapped_column(default=True)


class TeamMember(Base):
    __tablename__ = "team_member"

    team_id: Mapped[uuid.UUID] = mapped_column(
        sa.ForeignKey("team.id", ondelete="CASCADE"), primary_key=True
    )
    user_id: Mapped[uuid.UUID] = mapped_column(
        sa.ForeignKey("user_account.id", ondelete="CASCADE"), primary_key=True
    )
    role: Mapped[TeamRole] = mapped_column(role_type, default=TeamRole.member)


class TeamInvitation(UUIDAuditBase):
    __tablename__ = "team_invitation"
    __table_args__ = (sa.UniqueConstraint("team_id", "email"),)

    team_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("team.id", ondelete="CASCADE"))
    email: Mapped[str] = mapped_column(sa.String(255))
    role: Mapped[TeamRole] = mapped_column(role_type, default=TeamRole.member)


class Tag(UUIDAuditBase):
    __tablename__ = "tag"

    slug: Mapped[str] = mapped_column(sa.String(100), unique=True)
    name: Mapped[str] = mapped_column(sa.String(100), index=True)


class TeamTag(Base):
    __tablename__ = "team_tag"

    team_id: Mapped[uuid.UUID] = mapped_column(
        sa.ForeignKey("team.id", ondelete="CASCADE"), primary_key=True
    )
    tag_id: Mapped[uuid.UUID] = mapped_column(
        sa.ForeignKey("tag.id", ondelete="CASCADE"), primary_key=True
    )
