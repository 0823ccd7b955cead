"""Production guard: a downgrade or a stamp shows what it will do, then runs only when confirmed.

With APP_ENV=production, any Alembic run whose steps undo a revision or stamp one (`make
rollback`, `make migration-stamp`, `uv run alembic downgrade ...`, a deploy script calling
command.downgrade) prints the revisions it undoes or marks and their SQL (offline mode), then
goes on only after `yes` typed at a terminal, or with `-x confirm=<from>:<to>` where there is
no terminal. The confirmation names both ends, so it authorizes one exact change: the one
shown, from the revision the database is at now to the revision it will be at.

It runs under the migration lock, before the first step, with the steps Alembic computed: what
is shown is what runs.
"""

import subprocess
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from alembic.runtime.migration import StampStep
from alembic.script import Script, ScriptDirectory

from migration_toolkit.errors import UserFacingError

Ask = Callable[[str], str | None]


class NotConfirmed(UserFacingError):
    """A guarded command was not confirmed; nothing was changed."""


@dataclass(frozen=True)
class Plan:
    """What a guarded run will do to the database."""

    before: tuple[str, ...]
    after: tuple[str, ...]
    undone: tuple[Script, ...]
    marked: tuple[Script, ...]
    stamp: bool

    @property
    def confirmation(self) -> str:
        return f"{','.join(self.before) or 'base'}:{','.join(self.after) or 'base'}"

    @property
    def needs_confirmation(self) -> bool:
        return bool(self.undone) or self.stamp


def _ancestors(script: ScriptDirectory, revision: str) -> set[str]:
    return {found.revision for found in script.iterate_revisions(revision, "base")} - {revision}


def heads_after(
    script: ScriptDirectory, heads: Sequence[str], steps: Sequence[object]
) -> tuple[str, ...]:
    """The heads once the steps ran: each step moves its from-revisions to its to-revisions."""
    current = set(heads)
    for step in steps:
        current -= set(getattr(step, "from_revisions", ()))
        current |= set(getattr(step, "to_revisions", ()))
    # A revision below another head is not a head of its own (a branch merged further up).
    below: set[str] = set()
    for head in current:
        below |= _ancestors(script, head)
    return tuple(sorted(current - below))


def plan(script: ScriptDirectory, heads: Sequence[str], steps: Sequence[object]) -> Plan:
    undone: list[Script] = []
    marked: list[Script] = []
    stamp = False
    for step in steps:
        if isinstance(step, StampStep):
            stamp = True
            marked.extend(
                found
                for revision in step.to_revisions
                if (found := script.get_revision(revision)) is not None
            )
        elif not getattr(step, "is_upgrade", True):
            revision = getattr(step, "revision", None)
            if isinstance(revision, Script):
                undone.append(revision)
    return Plan(
        before=tuple(sorted(heads)),
        after=heads_after(script, heads, steps),
        undone=tuple(undone),
        marked=tuple(marked),
        stamp=stamp,
    )


def offline_sql(ini: Path, plan: Plan) -> str:
    """The downgrade's SQL in offline mode, from a separate Alembic process (review only)."""
    if not plan.undone or plan.stamp:
        return ""
    start, end = ",".join(plan.before), ",".join(plan.after) or "base"
    result = subprocess.run(
        [sys.executable, "-m", "alembic", "-c", str(ini), "downgrade", f"{start}:{end}", "--sql"],
        capture_output=True,
        text=True,
        check=False,
        stdin=subprocess.DEVNULL,
    )
    if result.returncode != 0:
        return "(the offline SQL could not be produced: review the revisions' downgrade())"
    return result.stdout


def describe_plan(plan: Plan, *, where: str, sql: str, shown_path: Callable[[str], str]) -> str:
    lines = [f"APP_ENV=production: this run changes {where}"]
    lines.append(f"  from {plan.confirmation.replace(':', ' to ')}")
    if plan.undone:
        lines.append("undoes:")
        for script in plan.undone:
            path = f"  ({shown_path(script.path)})" if script.path else ""
            lines.append(f"  {script.revision}  {script.doc}{path}")
    if plan.marked:
        lines.append("records as applied, without running them:")
        lines.extend(f"  {script.revision}  {script.doc}" for script in plan.marked)
    if plan.stamp and not plan.marked:
        lines.append("records the new revision(s) without running any SQL")
    if sql.strip():
        lines.append("SQL (offline mode, for review):")
        lines.extend("  " + line for line in sql.splitlines() if line.strip())
    return "\n".join(lines)


def ask_at_terminal(prompt: str) -> str | None:
    if not sys.stdin.isatty():
        return None
    print(prompt, end="", file=sys.stderr, flush=True)
    try:
        answer = sys.stdin.readline().strip()
    except (EOFError, OSError):
        answer = ""
    if not sys.stderr.isatty():
        # The terminal echoed the Enter; a log of stderr ends the prompt's line itself.
        print(file=sys.stderr)
    return answer


def confirm(plan: Plan, *, given: str | None, where: str, retry: str, ask: Ask) -> None:
    """Raise NotConfirmed unless the run was confirmed for exactly this change."""
    expected = plan.confirmation
    if given is not None:
        if given != expected:
            raise NotConfirmed(
                f"confirm={given} does not match this change of {where} ({expected}): "
                f"nothing was changed; review the above, then use confirm={expected}"
            )
        return
    answer = ask(f"Type yes to change {where} from {expected.replace(':', ' to ')}: ")
    if answer is None:
        raise NotConfirmed(
            f"APP_ENV=production: this change needs confirmation and there is no terminal to "
            f"ask at: review the above, then run `{retry} confirm={expected}` "
            f"(with Alembic directly: -x confirm={expected})"
        )
    if answer != "yes":
        raise NotConfirmed("not confirmed (answer was not `yes`): nothing was changed")
