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
    unmarked: tuple[Script, ...]
    stamp: bool

    @property
    def confirmation(self) -> str:
        return f"{','.join(self.before) or 'base'}:{','.join(self.after) or 'base'}"

    @property
    def needs_confirmation(self) -> bool:
        return bool(self.undone) or self.stamp


def _applied(script: ScriptDirectory, heads: Sequence[str]) -> list[Script]:
    """Every revision at or below heads, newest first."""
    if not heads:
        return []
    return list(script.iterate_revisions(tuple(heads), "base"))


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
        below |= {found.revision for found in _applied(script, (head,))} - {head}
    return tuple(sorted(current - below))


def plan(
    script: ScriptDirectory, heads: Sequence[str], steps: Sequence[object], *, purge: bool
) -> Plan:
    stamp = purge or any(isinstance(step, StampStep) for step in steps)
    after = heads_after(script, () if purge else heads, steps)
    undone: list[Script] = []
    if not stamp:
        for step in steps:
            revision = getattr(step, "revision", None)
            if not getattr(step, "is_upgrade", True) and isinstance(revision, Script):
                undone.append(revision)
    before_set = {found.revision for found in _applied(script, heads)}
    after_list = _applied(script, after)
    after_set = {found.revision for found in after_list}
    marked = [found for found in after_list if found.revision not in before_set] if stamp else []
    unmarked = (
        [found for found in _applied(script, heads) if found.revision not in after_set]
        if stamp
        else []
    )
    return Plan(
        before=tuple(sorted(heads)),
        after=after,
        undone=tuple(undone),
        marked=tuple(marked),
        unmarked=tuple(unmarked),
        stamp=stamp,
    )


def offline_sql(ini: Path, plan: Plan) -> str:
    """The downgrade's SQL in offline mode, from a separate Alembic process (review only)."""
    if not plan.undone or plan.stamp:
        return ""
    if len(plan.before) <= 1 and len(plan.after) <= 1:
        return _downgrade_sql(ini, f"{','.join(plan.before)}:{','.join(plan.after) or 'base'}")
    # Across branches offline mode takes no range of several heads: one revision at a time,
    # each from itself to one of its parents (that undoes it alone).
    parts = []
    for script in plan.undone:
        parent = next(iter(_down_revisions(script)), "base")
        parts.append(_downgrade_sql(ini, f"{script.revision}:{parent}"))
    return "".join(parts)


def _down_revisions(script: Script) -> tuple[str, ...]:
    down = script.down_revision
    if down is None:
        return ()
    return (down,) if isinstance(down, str) else tuple(down)


def _downgrade_sql(ini: Path, revision_range: str) -> str:
    result = subprocess.run(
        [sys.executable, "-m", "alembic", "-c", str(ini), "downgrade", revision_range, "--sql"],
        capture_output=True,
        text=True,
        check=False,
        stdin=subprocess.DEVNULL,
    )
    if result.returncode != 0:
        return "(the offline SQL could not be produced: review the revisions' downgrade())\n"
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
    if plan.unmarked:
        lines.append("records as not applied, without running their downgrade:")
        lines.extend(f"  {script.revision}  {script.doc}" for script in plan.unmarked)
    if plan.stamp and not (plan.marked or plan.unmarked):
        lines.append("changes no revision: the database is at that revision already")
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
