"""The post-write hook: a revision file stays only if it compiles and passes ruff.

Alembic writes the file, then runs this hook (alembic.ini: `type = migration_toolkit`). It
formats the file and applies ruff's fixes, then checks it: a file that does not compile or
still has ruff findings is deleted and the command fails in one line, so a failed generation
leaves nothing behind. A good file is announced with the review warnings of autogenerate and
the lint findings of its SQL.
"""

import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path

from alembic.script import write_hooks
from alembic.util import CommandError

# Filled by the autogenerate hooks while env.py runs, read here once the file is written.
REVIEW: list[str] = []


def _ruff(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "ruff", *args], capture_output=True, text=True, check=False
    )


def problem(path: Path) -> str | None:
    """Why the file cannot stay, or None (after formatting it and applying ruff's fixes)."""
    _ruff("format", "--quiet", str(path))
    _ruff("check", "--fix", "--quiet", str(path))
    source = path.read_text()
    try:
        compile(source, str(path), "exec")
    except SyntaxError as exc:
        return f"it does not compile (line {exc.lineno}: {exc.msg})"
    lint = _ruff("check", "--quiet", "--no-fix", str(path))
    if lint.returncode != 0:
        print(lint.stdout + lint.stderr, file=sys.stderr, end="")
        return "it fails `ruff check` (findings above)"
    formatted = _ruff("format", "--check", "--quiet", str(path))
    if formatted.returncode != 0:
        return "it is not formatted by `ruff format`"
    return None


@write_hooks.register("migration_toolkit")
def review(filename: str, options: Mapping[str, str | int]) -> None:
    path = Path(filename)
    why = problem(path)
    if why is not None:
        path.unlink(missing_ok=True)
        raise CommandError(
            f"the generated revision was not kept because {why}: nothing was written; "
            "check the message and models, then generate again"
        )
    print(f"wrote {path.name}", file=sys.stderr)
    for warning in REVIEW:
        print(f"warning: {warning}", file=sys.stderr)
    REVIEW.clear()
    if str(options.get("lint", "true")).lower() != "false":
        from migration_toolkit.checks.lint import review_file

        review_file(path)
