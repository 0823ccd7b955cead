"""Driving `make migration` in a scratch copy: one round = generate, apply, roll back, re-apply,
with the database's real state captured at each step for the tests to assert on.
"""

import os
import pty
import select
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy.engine import URL

from tests.support import pg
from tests.support.project import Project, Result


@dataclass
class State:
    """What information_schema and pg_catalog say about the tables a round touches."""

    tables: set[str]
    columns: dict[str, dict[str, dict[str, Any]]]
    indexes: dict[str, dict[str, str]]
    constraints: dict[str, dict[str, str]]
    enums: dict[str, list[str]]


def enums(url: URL) -> dict[str, list[str]]:
    rows = pg.fetch(
        url,
        "SELECT t.typname, e.enumlabel FROM pg_type t JOIN pg_enum e ON e.enumtypid = t.oid "
        "JOIN pg_namespace n ON n.oid = t.typnamespace WHERE n.nspname = 'public' "
        "ORDER BY t.typname, e.enumsortorder",
    )
    found: dict[str, list[str]] = {}
    for row in rows:
        found.setdefault(row["typname"], []).append(row["enumlabel"])
    return found


def state(url: URL) -> State:
    tables = pg.tables(url) - {"alembic_version"}
    return State(
        tables=tables,
        columns={table: pg.columns(url, table) for table in tables},
        indexes={table: pg.indexes(url, table) for table in tables},
        constraints={table: pg.constraints(url, table) for table in tables},
        enums=enums(url),
    )


@dataclass
class Round:
    generated: Result
    source: str
    upgraded: State
    downgraded: State
    steps: list[Result] = field(default_factory=list)


def run_round(project: Project, *args: str) -> Round:
    """make migration ARGS, then migrate / rollback / migrate, capturing the state after each."""
    before = project.versions()
    generated = project.make("migration", *args)
    assert generated.returncode == 0, generated.output
    written = project.new_versions(before)
    assert len(written) == 1, generated.output
    return apply_round(project, generated, written[0])


def apply_round(project: Project, generated: Result, path: Path) -> Round:
    url = project.database_url
    migrate = project.make("migrate")
    assert migrate.returncode == 0, migrate.output
    upgraded = state(url)
    rollback = project.make("rollback")
    assert rollback.returncode == 0, rollback.output
    downgraded = state(url)
    again = project.make("migrate")
    assert again.returncode == 0, again.output
    return Round(generated, path.read_text(), upgraded, downgraded, [migrate, rollback, again])


def make_on_terminal(
    project: Project, *args: str, answers: dict[str, str], timeout: float = 60
) -> tuple[int, str]:
    """Run the real `make` with stdin on a pseudo-terminal, answering each prompt it shows.

    answers maps a piece of a question to the reply typed at it; any other question gets "n".
    """
    controller, terminal = pty.openpty()
    process = subprocess.Popen(
        ["make", "--no-print-directory", *args],
        cwd=project.root,
        env=project.environment(),
        stdin=terminal,
        stdout=terminal,
        stderr=terminal,
        close_fds=True,
    )
    os.close(terminal)
    transcript = ""
    replied: list[str] = []
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            ready, _, _ = select.select([controller], [], [], 0.2)
            if ready:
                try:
                    chunk = os.read(controller, 4096)
                except OSError:  # the terminal closes when make exits
                    break
                if not chunk:
                    break
                transcript += chunk.decode(errors="replace")
                questions = transcript.split("[y/N]")[:-1]
                while len(replied) < len(questions):
                    question = questions[len(replied)].rsplit("\n", 1)[-1]
                    # A question nobody expected gets "n", as at a real terminal's Enter.
                    reply = next((r for piece, r in answers.items() if piece in question), "n")
                    os.write(controller, reply.encode() + b"\n")
                    replied.append(reply)
            elif process.poll() is not None:
                break
        try:
            returncode = process.wait(timeout=max(1.0, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            transcript += "\n[timed out: killed]"
            returncode = -9
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        os.close(controller)
    return returncode, transcript.replace("\r\n", "\n")
