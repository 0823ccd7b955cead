"""Helpers for the migration-safety tests: hand-written revisions in scratch copies, held locks."""

import subprocess
import sys
import textwrap
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import asyncpg
from alembic.script import ScriptDirectory
from sqlalchemy.engine import URL

from migration_toolkit.revisions import alembic_config
from tests.support import pg
from tests.support.project import VERSIONS, Project

FORBIDDEN = "Traceback"


def head_of(project: Project) -> str:
    """The scratch copy's head revision (other revisions may have joined the first one)."""
    script = ScriptDirectory.from_config(alembic_config(project.root / "alembic.ini"))
    head = script.get_current_head()
    assert head is not None
    return head


def write_revision(
    project: Project,
    revision: str,
    down_revision: str,
    upgrade: str,
    downgrade: str = "pass",
    doc: str | None = None,
) -> Path:
    """A revision file written by hand, the way a teammate would (bodies are Python)."""
    doc = doc or f"hand-written {revision}"
    body = textwrap.dedent(
        f'''\
        """{doc}

        Revision ID: {revision}
        Revises: {down_revision}
        """

        import sqlalchemy as sa
        from alembic import op

        revision = "{revision}"
        down_revision = "{down_revision}"
        branch_labels = None
        depends_on = None


        def upgrade() -> None:
        {{upgrade}}


        def downgrade() -> None:
        {{downgrade}}
        '''
    ).format(upgrade=_indent(upgrade), downgrade=_indent(downgrade))
    path = project.root / VERSIONS / f"2099_01_01_0000-{revision}.py"
    path.write_text(body)
    return path


def _indent(code: str) -> str:
    return textwrap.indent(textwrap.dedent(code).strip(), "    ")


@asynccontextmanager
async def session(url: URL) -> AsyncIterator[asyncpg.Connection]:
    connection = await pg.connect(url)
    try:
        yield connection
    finally:
        await connection.close()


def cli(project: Project, *args: str) -> "subprocess.Popen[str]":
    """`python -m alembic ...` in the scratch copy, started and left running."""
    return subprocess.Popen(
        [sys.executable, "-m", "alembic", *args],
        cwd=project.root,
        env=project.environment(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        stdin=subprocess.DEVNULL,
        text=True,
    )
