"""Scratch copies of the project, driven through the real Makefile."""

import os
import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy.engine import URL

_SKIP = {
    ".git",
    ".venv",
    ".tools",
    ".local",
    ".pytest_cache",
    ".mypy_cache",
    ".ruff_cache",
    "__pycache__",
    "uv.lock",
    ".env",
    "results",
}
PROJECT_ROOT = Path(__file__).resolve().parents[2]
VERSIONS = Path("app/storage/migrations/versions")


# Set per test by tests/conftest.py: only tests marked e2e make scratch copies (so that
# `make test-quick`, which leaves them out, is quick). Elsewhere (bench/) always allowed.
scratch_allowed = True


def copy_project(destination: Path) -> Path:
    """Copy the source tree (not the venv, caches or local data) to destination."""
    if not scratch_allowed:
        raise RuntimeError("a test that makes a scratch copy is end to end: mark it e2e")
    shutil.copytree(
        PROJECT_ROOT, destination, ignore=lambda _dir, names: [n for n in names if n in _SKIP]
    )
    return destination


def uv_binary() -> str:
    found = os.environ.get("UV") or shutil.which("uv")
    local = PROJECT_ROOT / ".tools" / "bin" / "uv"
    if found:
        return found
    if local.exists():
        return str(local)
    raise RuntimeError("uv is needed to run make in a scratch copy; run the tests with `make test`")


@dataclass
class Result:
    args: list[str]
    returncode: int
    stdout: str
    stderr: str

    @property
    def output(self) -> str:
        return self.stdout + self.stderr

    def errors(self) -> list[str]:
        """The error lines: ours (`error: ...` on stderr) and Alembic's (`FAILED: ...`)."""
        lines = [line for line in self.stderr.splitlines() if line.startswith("error:")]
        lines += [line for line in self.stdout.splitlines() if line.startswith("FAILED:")]
        return lines


@dataclass
class Project:
    """A scratch copy whose `make` uses this test run's venv and a given database."""

    root: Path
    database_url: URL
    # Extra variables for make; None removes one (e.g. DATABASE_URL, to use the DB_* parts).
    env: dict[str, str | None] = field(default_factory=dict)

    def environment(self) -> dict[str, str]:
        venv = Path(sys.prefix)
        # The scratch copy shares this run's venv: stamp it so make does not re-install.
        stamp = venv / ".installed"
        if (
            not stamp.exists()
            or stamp.stat().st_mtime < (self.root / "pyproject.toml").stat().st_mtime
        ):
            stamp.touch()
        env = {
            key: value
            for key, value in os.environ.items()
            if not key.startswith(("DB_", "DATABASE_URL", "MIGRATION_", "APP_ENV", "PYTEST_"))
        }
        uv = uv_binary()
        # Documented commands call `uv` by name, as a developer would.
        env["PATH"] = os.pathsep.join([str(Path(uv).parent), env.get("PATH", "")])
        env.update(
            UV=uv,
            UV_PROJECT_ENVIRONMENT=str(venv),
            VIRTUAL_ENV=str(venv),
            DATABASE_URL=self.database_url.render_as_string(hide_password=False),
            APP_ENV="development",
        )
        for key, value in self.env.items():
            if value is None:
                env.pop(key, None)
            else:
                env[key] = value
        return env

    def make(self, *args: str, stdin: str | None = None, timeout: float = 120) -> Result:
        command = ["make", "--no-print-directory", *args]
        completed = subprocess.run(
            command,
            cwd=self.root,
            env=self.environment(),
            input=stdin if stdin is not None else "",
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
        return Result(command, completed.returncode, completed.stdout, completed.stderr)

    def run(self, *args: str, timeout: float = 120) -> Result:
        completed = subprocess.run(
            list(args),
            cwd=self.root,
            env=self.environment(),
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
        return Result(list(args), completed.returncode, completed.stdout, completed.stderr)

    def versions(self) -> list[Path]:
        return sorted((self.root / VERSIONS).glob("*.py"))

    def new_versions(self, before: list[Path]) -> list[Path]:
        return [path for path in self.versions() if path not in before]

    def edit(self, relative: str, old: str, new: str) -> None:
        path = self.root / relative
        text = path.read_text()
        assert old in text, f"{old!r} not in {relative}"
        path.write_text(text.replace(old, new, 1))

    def write(self, relative: str, text: str) -> None:
        (self.root / relative).write_text(text)
