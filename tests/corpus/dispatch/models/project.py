"""Projects: composite unique name per organization, a CHECK on a Numeric cost."""

from decimal import Decimal

import sqlalchemy as sa
from app.models.base import Base
from sqlalchemy.orm import Mapped, mapped_column


class Project(Base):
    __tablename__ = "project"
    __table_args__ = (
        sa.UniqueConstraint("name", "organization_id"),
        sa.CheckConstraint("annual_employee_cost >= 0", name="cost_not_negative"),
    )

    id: Mapped[int] = mapped_column(sa.Integer, sa.Identity(), primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(255))
    organization_id: Mapped[int] = mapped_column(
        sa.ForeignKey("dispatch_core.organization.id", ondelete="CASCADE")
    )
    annual_employee_cost: Mapped[Decimal] = mapped_column(sa.Numeric(12, 2), server_default="50000")
