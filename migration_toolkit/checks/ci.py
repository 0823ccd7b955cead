"""`make ci`: every gate a merge needs, in order, timed, on one throwaway Postgres.

Without TEST_DATABASE_URL (a laptop, .ci/run) one Postgres is started for the whole run and
handed to every step through TEST_DATABASE_URL, so no step starts its own or touches the
developer's server. Every step runs even after a failure, so one run shows all of them.
"""

import argparse
import os
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass

from migration_toolkit.config import current_project
from migration_toolkit.local.throwaway import own_server


@dataclass(frozen=True)
class Step:
    name: str
    argv: tuple[str, ...]


@dataclass(frozen=True)
class Outcome:
    step: Step
    returncode: int
    seconds: float


def steps(base: str | None = None) -> list[Step]:
    python = sys.executable
    cli = (python, "-m", "migration_toolkit")
    since = ("--base", base) if base else ()
    return [
        Step("ruff check", (python, "-m", "ruff", "check", ".")),
        Step("ruff format", (python, "-m", "ruff", "format", "--check", ".")),
        Step("mypy", (python, "-m", "mypy", "app", "migration_toolkit", "tests")),
        Step("migration-check", (*cli, "check", *since)),
        Step("migration-lint", (*cli, "lint", *since)),
        Step("migration-test", (*cli, "roundtrip")),
        # The README's test command, as a developer types it.
        Step("test", (os.environ.get("MAKE", "make"), "test")),
    ]


def _environment() -> dict[str, str]:
    env = dict(os.environ)
    # The uv the Makefile uses (maybe its own copy in .tools/) is the one steps call as `uv`.
    uv = env.get("UV")
    if uv and os.sep in uv:
        env["PATH"] = os.pathsep.join([os.path.dirname(uv), env.get("PATH", "")])
    return env


@contextmanager
def shared_server() -> Iterator[dict[str, str]]:
    """The environment for every step: TEST_DATABASE_URL, ours if none is given."""
    env = _environment()
    if env.get("TEST_DATABASE_URL"):
        yield env
        return
    with own_server(lambda line: print(line, file=sys.stderr)) as url:
        yield {**env, "TEST_DATABASE_URL": url.render_as_string(hide_password=False)}


def run(plan: Sequence[Step], env: dict[str, str]) -> list[Outcome]:
    outcomes = []
    for step in plan:
        print(f"==> {step.name}", flush=True)
        started = time.monotonic()
        completed = subprocess.run(step.argv, cwd=current_project().root, env=env, check=False)
        outcomes.append(Outcome(step, completed.returncode, time.monotonic() - started))
    return outcomes


def breakdown(outcomes: Sequence[Outcome], total: float) -> list[str]:
    lines = ["", "make ci:"]
    for outcome in outcomes:
        verdict = "ok" if outcome.returncode == 0 else f"FAILED (exit {outcome.returncode})"
        lines.append(f"  {outcome.step.name:<16} {outcome.seconds:6.1f} s  {verdict}")
    lines.append(f"  {'total':<16} {total:6.1f} s")
    return lines


def main(argv: Sequence[str] | None = None, plan: Sequence[Step] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="make ci", description=__doc__.splitlines()[0])
    parser.add_argument("--base", default=None, help="lint only revisions after this rev/ref")
    args = parser.parse_args(argv)
    started = time.monotonic()
    with shared_server() as env:
        outcomes = run(plan if plan is not None else steps(args.base), env)
    for line in breakdown(outcomes, time.monotonic() - started):
        print(line)
    failed = [outcome.step.name for outcome in outcomes if outcome.returncode != 0]
    if failed:
        print(f"error: make ci failed: {', '.join(failed)}: see the output above", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
