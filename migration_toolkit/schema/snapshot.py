"""The committed schema snapshot: what the revisions build at head, as pg_dump prints it.

`make migration` and `make migration-snapshot` write it; `make migration-check` rebuilds it on
a throwaway database and fails, showing the diff, when the committed file is not that. The
header names the head it was built at, so a revision that changes no table still changes the
file, and the test session knows which revision to stamp after loading it.
"""

import difflib
import re
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

from alembic import command
from alembic.script import ScriptDirectory
from sqlalchemy.engine import URL, Connection

from migration_toolkit.checks.connection import config_for, idle, run_on
from migration_toolkit.config import Project, current_project
from migration_toolkit.local import throwaway
from migration_toolkit.schema import dump

Say = Callable[[str], None]
HEADER = (
    "-- Schema snapshot: what the revisions build at head, as `pg_dump --schema-only` prints "
    "it\n"
    "-- (normalised). Written by `make migration` and `make migration-snapshot`; "
    "`make migration-check`\n"
    "-- fails when it differs from what the revisions build. Review its diff; do not edit it.\n"
)
_HEADS = re.compile(r"^-- Heads?: (.+)$", re.MULTILINE)


def _say(line: str) -> None:
    print(line, file=sys.stderr)


def header(heads: Sequence[str]) -> str:
    label = "Head" if len(heads) == 1 else "Heads"
    return f"{HEADER}-- {label}: {', '.join(sorted(heads)) or 'base'}\n\n"


def heads_of(text: str) -> tuple[str, ...]:
    """The head(s) a snapshot was built at, from its header; () if it has none."""
    found = _HEADS.search(text)
    if found is None or found.group(1) == "base":
        return ()
    return tuple(sorted(part.strip() for part in found.group(1).split(",")))


def upgrade_to_heads(connection: Connection) -> tuple[str, ...]:
    """Upgrade through env.py (its lock-free connection-sharing path) and return the heads."""
    config = config_for(connection)
    command.upgrade(config, "heads")
    idle(connection)
    return tuple(sorted(ScriptDirectory.from_config(config).get_heads()))


def code_heads() -> tuple[str, ...]:
    return tuple(sorted(ScriptDirectory.from_config(config_for()).get_heads()))


def new_head(path: Path) -> bool:
    """True when the revisions' head(s) are not the ones the snapshot at path was built at."""
    if not path.is_file():
        return True
    return heads_of(path.read_text()) != code_heads()


def render(url: URL, heads: Sequence[str]) -> str:
    """The snapshot's text for the database at url, built at heads."""
    return header(heads) + dump.dump(url)


def build(say: Say = _say) -> str:
    """Migrate a throwaway database to head and dump it."""
    with throwaway.database(say, major=dump.pg_dump_major()) as url:
        heads = run_on(url, upgrade_to_heads)
        return render(url, heads)


def shown(path: Path, project: Project | None = None) -> str:
    root = (project or current_project()).root
    try:
        return str(path.relative_to(root))
    except ValueError:
        return str(path)


def write(text: str, path: Path, say: Say = _say) -> bool:
    """Write text to path when it differs; True if it was written."""
    if path.is_file() and path.read_text() == text:
        say(f"{shown(path)} is current")
        return False
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    say(f"wrote {shown(path)}")
    return True


def difference(expected: str, path: Path, fix: str, say: Say) -> str | None:
    """None when path holds expected; else print a unified diff and return the problem."""
    where = shown(path)
    if not path.is_file():
        return f"{where} is missing: run `{fix}` to write it, and commit it"
    committed = path.read_text()
    if committed == expected:
        return None
    diff = difflib.unified_diff(
        committed.splitlines(),
        expected.splitlines(),
        fromfile=f"{where} (committed)",
        tofile=f"{where} (what the code builds)",
        lineterm="",
    )
    for line in diff:
        say(f"  {line}")
    return f"{where} is out of date (diff above): run `{fix}` and commit the result"
