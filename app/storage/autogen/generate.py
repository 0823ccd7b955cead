"""`make migration`: autogenerate with rename answers, then check and review the file."""

import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.script import Script

from app.storage.autogen.answers import Answers, Rename, ask_terminal
from app.storage.autogen.directives import ANSWERS, REVIEW
from app.storage.errors import UserFacingError

Say = Callable[[str], None]


def answers_for(renames: list[Rename]) -> Answers:
    """rename= answers first; a person at a terminal answers the rest."""
    return Answers(given=renames, ask=ask_terminal if sys.stdin.isatty() else None)


def _ruff(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "ruff", *args], capture_output=True, text=True, check=False
    )


def check_file(path: Path) -> None:
    """The post-write hooks' exit codes are ignored by Alembic; a failure must not be."""
    source = path.read_text()
    try:
        compile(source, str(path), "exec")
    except SyntaxError as exc:
        raise UserFacingError(
            f"{path.name} was written but does not compile (line {exc.lineno}: {exc.msg}): "
            "fix the file by hand"
        ) from exc
    lint = _ruff("check", "--quiet", "--no-fix", str(path))
    if lint.returncode != 0:
        print(lint.stdout + lint.stderr, file=sys.stderr, end="")
        raise UserFacingError(
            f"{path.name} was written but fails `ruff check` (findings above): "
            "fix the file by hand before committing"
        )
    formatted = _ruff("format", "--check", "--quiet", str(path))
    if formatted.returncode != 0:
        raise UserFacingError(
            f"{path.name} was written but is not formatted: run `uv run ruff format {path}`"
        )


def generate(config: Config, message: str, answers: Answers, say: Say) -> list[Path]:
    """Write the revision (or nothing), check it, then print what the reviewer must weigh."""
    try:
        # Imported here first: a model module that fails stops us before env.py runs, and
        # as one line (app.models wraps any failure in ModelImportError, naming the module).
        import app.models  # noqa: F401
    except ImportError as exc:
        raise UserFacingError(str(exc)) from exc
    config.attributes[ANSWERS] = answers
    config.attributes[REVIEW] = []
    result = command.revision(config, message=message, autogenerate=True)
    scripts = [result] if isinstance(result, Script) else list(result or [])
    paths = [Path(script.path) for script in scripts if script is not None]
    for path in paths:
        check_file(path)
        say(f"wrote {path.name}")
        for warning in config.attributes[REVIEW]:
            say(f"warning: {warning}")
    return paths
