"""`make migration-test`: every revision up, every revision down, up again, on a throwaway DB.

Revisions go up one at a time in dependency order (history.ordered: on a branched history,
the older branch first, the merge after both), and down one at a time with `-1`, which undoes
a merge revision first and then each branch, newest first.

After each step the schema is read from pg_catalog (snapshot.py) and compared with the one
recorded at the same revision on the way up, so a failure names its revision: a downgrade
that leaves a column behind, an upgrade that cannot run a second time, or one that builds
something different the second time.
"""

import sys
from collections.abc import Callable
from pathlib import Path

from alembic import command
from alembic.script import ScriptDirectory
from sqlalchemy import text
from sqlalchemy.engine import Connection

from migration_toolkit import history
from migration_toolkit.checks import snapshot
from migration_toolkit.checks.connection import config_for, idle, run_on
from migration_toolkit.errors import UserFacingError, root_cause
from migration_toolkit.local import throwaway
from migration_toolkit.revisions import VERSION_TABLE, qualified

Say = Callable[[str], None]
State = frozenset[str]


class RoundTripFailure(UserFacingError):
    """A step of the round trip failed; details say what differs."""

    def __init__(self, message: str, details: list[str] | None = None) -> None:
        super().__init__(message)
        self.details = details or []


def _state(connection: Connection) -> State:
    table = qualified(VERSION_TABLE)
    present = connection.scalar(text(f"SELECT to_regclass('{table}') IS NOT NULL"))
    state: State = frozenset()
    if present:
        state = frozenset(connection.scalars(text(f"SELECT version_num FROM {table}")))
    idle(connection)
    return state


def _take(connection: Connection) -> snapshot.Snapshot:
    taken = snapshot.take(connection)
    idle(connection)
    return taken


def _cause(exc: BaseException) -> str:
    cause = root_cause(exc)
    lines = str(cause).strip().splitlines()
    return f"{type(cause).__name__}: {lines[0] if lines else ''}".rstrip(": ")


def _refuse_model_failure(exc: BaseException) -> None:
    """A revision that imports the models fails with them: name the model module instead."""
    from migration_toolkit.environment import model_failure

    message = model_failure(exc)
    if message is not None:
        raise UserFacingError(message) from None


class _Walk:
    def __init__(self, connection: Connection) -> None:
        self.connection = connection
        self.config = config_for(connection)
        self.script = ScriptDirectory.from_config(self.config)
        self.snapshots: dict[State, snapshot.Snapshot] = {}

    def name(self, revisions: State | str) -> str:
        ids = [revisions] if isinstance(revisions, str) else sorted(revisions)
        named = []
        for rev in ids:
            found = self.script.get_revision(rev)
            path = Path(found.path).name if found is not None and found.path else "?"
            named.append(f"{rev} ({path})")
        return ", ".join(named)

    def order(self) -> list[str]:
        """Every revision, each after those it depends on (branches and merges included)."""
        duplicated = history.duplicate_problem(self.script)
        if duplicated is not None:
            raise UserFacingError(duplicated)
        return [revision.revision for revision in history.ordered(self.script)]

    def up(self, revision: str, second: bool) -> None:
        try:
            command.upgrade(self.config, revision)
        except Exception as exc:
            _refuse_model_failure(exc)
            when = " a second time (after its downgrade)" if second else ""
            raise RoundTripFailure(
                f"upgrade of {self.name(revision)} fails{when}: {_cause(exc)}: make it "
                "re-runnable, or make its downgrade undo all it does"
            ) from None
        idle(self.connection)
        state = _state(self.connection)
        taken = _take(self.connection)
        if not second:
            self.snapshots[state] = taken
            return
        diff = snapshot.differences(self.snapshots.get(state, {}), taken)
        if diff:
            raise RoundTripFailure(
                f"upgrade of {self.name(revision)} run a second time builds a different schema: "
                "make its downgrade undo all it does",
                diff,
            )

    def below(self, revision: str, state: State) -> str:
        """The downgrade target that removes exactly revision (a head of state), nothing else."""
        found = self.script.get_revision(revision)
        parents = found.down_revision if found is not None else None
        if isinstance(parents, tuple | list):
            # A merge: down to either parent leaves both parents applied, as before it.
            return str(parents[0])
        if parents is None and state == {revision}:
            return "base"
        # One step down that revision's own branch: other heads stay where they are.
        return f"{revision}@-1"

    def down(self, revision: str) -> None:
        before = _state(self.connection)
        try:
            command.downgrade(self.config, self.below(revision, before))
        except Exception as exc:
            _refuse_model_failure(exc)
            raise RoundTripFailure(
                f"downgrade of {self.name(before)} fails: {_cause(exc)}: fix its downgrade()"
            ) from None
        idle(self.connection)
        after = _state(self.connection)
        expected = self.snapshots.get(after)
        if expected is None:
            return
        diff = snapshot.differences(expected, _take(self.connection))
        if diff:
            raise RoundTripFailure(
                f"downgrade of {self.name(before - after)} leaves the schema different from "
                "before its upgrade: make downgrade() undo all that upgrade() does",
                diff,
            )

    def run(self) -> tuple[int, snapshot.Snapshot]:
        order = self.order()
        self.snapshots[_state(self.connection)] = _take(self.connection)
        for revision in order:
            self.up(revision, second=False)
        at_head = self.snapshots[_state(self.connection)]
        for revision in reversed(order):
            self.down(revision)
        for revision in order:
            self.up(revision, second=True)
        return len(order), at_head


def check(say: Say | None = None) -> None:
    out = say or (lambda line: print(line, file=sys.stderr))
    with throwaway.database(out) as url:
        try:
            count, at_head = run_on(url, lambda connection: _Walk(connection).run())
        except RoundTripFailure as failure:
            for line in failure.details:
                out(f"  {line}")
            raise
    print(
        f"migration-test: {count} revision(s) upgraded one at a time to head, downgraded one at a "
        f"time to base, upgraded again: the schema is the same ({snapshot.summary(at_head)})"
    )
