"""${message}

Revision ID: ${up_revision}
Revises: ${down_revision | comma,n}
Create Date: ${create_date}
"""

from collections.abc import Sequence

<%
    # Anything besides Alembic's comments and `pass`: autogenerate found changes.
    def has_code(body):
        lines = [line.strip() for line in (body or "").splitlines()]
        return any(line and not line.startswith("#") and line != "pass" for line in lines)
    written = has_code(upgrades) or has_code(downgrades)
%>
% if written:
import sqlalchemy as sa
from alembic import op
% else:
# A revision to write by hand: the post-write hook keeps these for the code you add.
import sqlalchemy as sa  # noqa: F401
from alembic import op  # noqa: F401
% endif
${imports if imports else ""}
# revision identifiers, used by Alembic.
revision: str = ${repr(up_revision)}
down_revision: str | Sequence[str] | None = ${repr(down_revision)}
branch_labels: str | Sequence[str] | None = ${repr(branch_labels)}
depends_on: str | Sequence[str] | None = ${repr(depends_on)}


def upgrade() -> None:
    ${upgrades if written else "pass"}


def downgrade() -> None:
    ${downgrades if written else "pass"}
