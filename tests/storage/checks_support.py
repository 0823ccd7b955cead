"""Hand-written revisions for the checks' tests, added to (and removed from) a scratch copy."""

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from textwrap import dedent, indent

from tests.support.project import VERSIONS, Project

FIRST = "8ef2faae17b8"

_TEMPLATE = '''"""{message}

Revision ID: {revision}
Revises: {down}
"""

import sqlalchemy as sa
from alembic import op

{header}
revision = "{revision}"
down_revision = {down_repr}
branch_labels = None
depends_on = None


def upgrade() -> None:
{upgrade}


def downgrade() -> None:
{downgrade}
'''


def revision_text(
    revision: str,
    down: str | None,
    upgrade: str,
    downgrade: str = "pass",
    message: str = "hand written",
    header: str = "",
) -> str:
    return _TEMPLATE.format(
        message=message,
        revision=revision,
        down=down or "",
        down_repr=repr(down),
        header=header,
        upgrade=indent(dedent(upgrade).strip(), "    "),
        downgrade=indent(dedent(downgrade).strip(), "    "),
    )


def revision_path(project: Project, revision: str, slug: str = "hand_written") -> Path:
    return project.root / VERSIONS / f"2026_12_01_0000-{slug}-{revision}.py"


@contextmanager
def revisions(project: Project, *texts: tuple[str, str]) -> Iterator[list[Path]]:
    """Add (revision id, file text) pairs to versions/, removed again afterwards."""
    written = []
    try:
        for revision, text in texts:
            path = revision_path(project, revision)
            path.write_text(text)
            written.append(path)
        yield written
    finally:
        for path in written:
            path.unlink(missing_ok=True)


@contextmanager
def edited(project: Project, relative: str, old: str, new: str) -> Iterator[None]:
    """Edit a file of the scratch copy for one test, restored afterwards."""
    path = project.root / relative
    original = path.read_text()
    project.edit(relative, old, new)
    try:
        yield
    finally:
        path.write_text(original)


@contextmanager
def added_file(project: Project, relative: str, text: str) -> Iterator[Path]:
    path = project.root / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    try:
        yield path
    finally:
        path.unlink(missing_ok=True)
