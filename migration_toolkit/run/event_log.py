"""MIGRATION_EVENT_LOG: the run's steps as JSON lines, for timelines laid over an app's latency.

Written while the run goes: each revision, each step the online helpers report (helper calls,
backfill batches and pauses, locks taken and lock waits given up, index builds), and each SQL
statement sent on the migrating connection (its text shortened, never its parameters).
"""

import re
import time
from pathlib import Path
from typing import Any

from alembic.runtime.migration import MigrationInfo
from sqlalchemy import event
from sqlalchemy.engine import Connection, ExceptionContext

from migration_toolkit.online import events

SQL_SHOWN = 160  # characters of a statement kept in the log


def _shown(statement: str) -> str:
    flat = re.sub(r"\s+", " ", statement).strip()
    return flat if len(flat) <= SQL_SHOWN else flat[: SQL_SHOWN - 3] + "..."


class EventLog:
    """Subscribed to the helpers' steps and the connection's statements until closed."""

    def __init__(self, path: Path, connection: Connection) -> None:
        self.sink = events.JsonLines(path)
        self.stop_steps = events.on_step(self.sink)
        self.connection = connection
        self.engine = connection.engine
        self.statement_started = 0.0
        self.revision_started = time.time()
        event.listen(connection, "before_cursor_execute", self._before)
        event.listen(connection, "after_cursor_execute", self._after)
        event.listen(self.engine, "handle_error", self._failed)

    def _before(self, *_: Any) -> None:
        self.statement_started = time.time()

    def _after(self, _conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        self.sink(events.Step("sql", _shown(statement), self.statement_started, time.time()))

    def _failed(self, context: ExceptionContext) -> None:
        if context.connection is self.connection and context.statement:
            step = events.Step(
                "sql", _shown(context.statement), self.statement_started, time.time(), ok=False
            )
            self.sink(step)

    def revision_applied(self, step: MigrationInfo) -> None:
        # A downgrade step undoes its up revision, as an upgrade step applies it.
        docs = [getattr(script, "doc", None) or "" for script in step.up_revisions]
        name = ", ".join(
            f"{revision} {doc}".strip()
            for revision, doc in zip(step.up_revision_ids, docs, strict=False)
        )
        verb = "upgrade" if step.is_upgrade else "downgrade"
        now = time.time()
        self.sink(events.Step("revision", f"{verb} {name}", self.revision_started, now))
        self.revision_started = now

    def close(self) -> None:
        self.stop_steps()
        event.remove(self.connection, "before_cursor_execute", self._before)
        event.remove(self.connection, "after_cursor_execute", self._after)
        event.remove(self.engine, "handle_error", self._failed)
        self.sink.close()
