"""How env.py runs revisions online: serialized, bounded, checked, and explained when they fail.

- one run at a time (locking.migration_lock), only for commands that change the database;
- before the first revision, the session gets lock_timeout and statement_timeout from settings
  (and, on Postgres 14+, notices a vanished client within a second, so a killed run's
  transaction is rolled back instead of holding its locks until the statement ends);
- a revision that times out on a lock is retried with backoff, then fails naming the table
  and the session holding it (sampled from pg_locks while waiting);
- checksums of applied revision files are verified before an upgrade and kept current after
  each step (checksums.py);
- at head nothing is written and Alembic's own run is skipped.
"""

import asyncio
import gc
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from alembic import context as alembic_context
from alembic.config import Config
from alembic.runtime.migration import MigrationContext, MigrationInfo
from alembic.script.revision import RevisionError
from alembic.util import CommandError
from sqlalchemy import text
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from app.settings import Settings, describe, get_settings
from app.storage import checksums, locking, simple_query
from app.storage.blockers import BlockerWatch, held_by
from app.storage.errors import RevisionFailed, UserFacingError

APPLICATION_NAME = "bookshelf-migrate"
# Seconds before the first retry after a lock timeout; doubles for each further try.
BACKOFF = 1.0
_RUN = "migration_run"
# Alembic's command functions pass env.py a closure saying what the run is for.
_CHANGING = {
    "upgrade.<locals>.upgrade": "upgrade",
    "downgrade.<locals>.downgrade": "downgrade",
    "stamp.<locals>.do_stamp": "stamp",
}


def say(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def connect_args(settings: Settings) -> dict[str, Any]:
    # Named, so pg_stat_activity (and a blocked app's DBA) can tell a migration apart.
    return {
        "timeout": settings.MIGRATION_CONNECT_TIMEOUT,
        "server_settings": {"application_name": APPLICATION_NAME},
    }


def changes_database() -> bool:
    """True for upgrade, downgrade and stamp: the commands given a destination revision."""
    try:
        return alembic_context.get_revision_argument() is not None
    except KeyError:  # commands like `revision --autogenerate` give none at all
        return False


def command_kind(context: MigrationContext) -> str | None:
    """'upgrade', 'downgrade' or 'stamp'; None for commands that only read (current...)."""
    if not changes_database():
        return None
    return _CHANGING.get(getattr(context.opts.get("fn"), "__qualname__", ""))


@dataclass
class Run:
    """One command's run, shared by env.py's callbacks and the retry loop."""

    settings: Settings
    where: str
    accept_edited: tuple[str, ...] = ()
    expect_heads: tuple[str, ...] | None = None
    owns_transactions: bool = False
    ledger: checksums.Ledger | None = None
    steps: list[Any] = field(default_factory=list)
    done: int = 0
    heads: tuple[str, ...] = ()

    def after_step(
        self, *, ctx: MigrationContext, step: MigrationInfo, heads: set[str], run_args: Any
    ) -> None:
        """on_version_apply: inside the step's transaction, after alembic_version moved."""
        self.done += 1
        self.heads = tuple(sorted(heads))
        if self.ledger is not None and ctx.connection is not None:
            fresh = step.up_revision_ids if step.is_upgrade and not step.is_stamp else ()
            self.ledger.sync(ctx.connection, heads, fresh, step)

    def failure(self, error: BaseException) -> RevisionFailed | None:
        if self.done >= len(self.steps):
            return None
        script = getattr(self.steps[self.done], "revision", None)
        if script is None:
            return None
        return RevisionFailed(
            revision=script.revision,
            doc=script.doc,
            path=checksums.shown_path(script.path) if script.path else None,
            at=self.heads,
            error=error,
            lock_timeout=self.settings.MIGRATION_LOCK_TIMEOUT,
        )


def run_for(config: Config) -> Run:
    """The Run of this env.py execution; the CLI may have put options in config.attributes."""
    run = config.attributes.get(_RUN)
    if not isinstance(run, Run):
        settings = get_settings()
        expect = config.attributes.get("expect_heads")
        run = Run(
            settings=settings,
            where=describe(settings.migration_url),
            accept_edited=tuple(config.attributes.get("accept_edited", ())),
            expect_heads=tuple(expect) if expect is not None else None,
        )
        config.attributes[_RUN] = run
    return run


def online_options(config: Config) -> dict[str, Any]:
    """Extra context.configure() options for online runs."""
    return {"on_version_apply": [run_for(config).after_step]}


def resume_garbage_collection() -> None:
    """Undo __main__'s start-up gc.disable() before revisions run: a backfill may run long.

    What is loaded by then lives until exit, so it is frozen out of later collections.
    """
    if not gc.isenabled():
        gc.freeze()
        gc.enable()


def _set_session_limits(connection: Connection, settings: Settings) -> None:
    limits = {
        "lock_timeout": f"{round(settings.MIGRATION_LOCK_TIMEOUT * 1000)}ms",
        "statement_timeout": f"{round(settings.MIGRATION_STATEMENT_TIMEOUT * 1000)}ms",
    }
    if (connection.dialect.server_version_info or (0,)) >= (14,):
        limits["client_connection_check_interval"] = "1s"
    calls = ", ".join(f"set_config('{name}', :{name}, false)" for name in limits)
    connection.execute(text(f"SELECT {calls}"), limits)


def _plan(context: MigrationContext, run: Run, kind: str, heads: tuple[str, ...]) -> list[Any]:
    """The steps Alembic is about to run (its own `fn`, which only computes them)."""
    function = context.opts["fn"]
    try:
        return list(function(() if context.opts.get("purge") else heads, context))
    except (RevisionError, CommandError) as exc:
        if kind == "downgrade" and not heads:
            raise UserFacingError(
                f"nothing to roll back: {run.where} is at base (no revision applied); "
                "`make migrate` applies them"
            ) from None
        if kind == "downgrade" and "didn't produce" in str(exc):
            raise UserFacingError(
                f"{exc}: {run.where} is at {', '.join(heads)}; "
                "`make migration-history` shows what can be rolled back"
            ) from None
        raise


def run_migrations() -> None:
    """context.run_migrations(), with the checks and bookkeeping above, for env.py."""
    run = run_for(alembic_context.config)
    context = alembic_context.get_context()
    kind = command_kind(context)
    connection = context.connection
    if kind is None or connection is None:
        alembic_context.run_migrations()
        return
    state = checksums.read_state(connection)
    run.heads = state.heads
    if run.expect_heads is not None and state.heads != run.expect_heads:
        raise UserFacingError(
            f"{run.where} changed while this command waited: it is at "
            f"{', '.join(state.heads) or 'base'}, not {', '.join(run.expect_heads) or 'base'}; "
            "nothing was changed: review again and re-run the command"
        )
    script = alembic_context.script
    checksums.check_map(script, state, run.where)
    accepted: list[str] = []
    unrecorded: set[str] = set()
    run.ledger = checksums.Ledger(script, state)
    if kind == "upgrade":
        accepted = checksums.verify(script, state, run.accept_edited, run.where)
        unrecorded = run.ledger.unrecorded(state.heads)
    run.steps, run.done = _plan(context, run, kind, state.heads), 0
    purge = bool(context.opts.get("purge"))
    for revision in accepted:
        say(f"accepted the edited file of applied revision {revision}: its checksum is updated")
    if not run.steps and not purge:
        if accepted or unrecorded:
            run.ledger.write(connection, {*accepted, *unrecorded})
            if run.owns_transactions:
                connection.commit()
        return
    resume_garbage_collection()
    # Part of the first revision's transaction: Alembic adopts the one begun here.
    _set_session_limits(connection, run.settings)
    run.ledger.write(connection, {*accepted, *unrecorded})
    if purge:
        run.heads = ()  # Alembic empties alembic_version first
    try:
        alembic_context.run_migrations()
    except Exception as exc:
        failure = run.failure(exc)
        if failure is None:
            raise
        raise failure from exc
    # A stamp --purge with no step leaves its DELETE in the transaction begun above.
    run.ledger.sync(connection, run.heads, ())
    if run.owns_transactions and connection.in_transaction():
        connection.commit()


async def run_serialized(engine: AsyncEngine, migrate: Callable[[Connection], None]) -> None:
    """Lock, then run env.py's do_run_migrations, retrying a revision that timed out."""
    run = run_for(alembic_context.config)
    simple_query.install(engine)
    if not changes_database():
        async with engine.connect() as connection:
            await connection.run_sync(migrate)
        return
    async with (
        locking.migration_lock(
            engine, wait_timeout=run.settings.MIGRATION_WAIT_TIMEOUT, where=run.where
        ) as lock,
        engine.connect() as connection,
    ):
        run.owns_transactions = True
        try:
            await _with_retries(run, lock, connection, migrate)
        finally:
            run.owns_transactions = False


async def _with_retries(
    run: Run,
    lock: AsyncConnection,
    connection: AsyncConnection,
    migrate: Callable[[Connection], None],
) -> None:
    settings = run.settings
    raw = await connection.get_raw_connection()
    pid = raw.driver_connection.get_server_pid()  # type: ignore[union-attr]
    interval = min(0.5, settings.MIGRATION_LOCK_TIMEOUT / 4)
    attempt, blocker = 1, None
    while True:
        try:
            async with BlockerWatch(lock, pid, interval) as watch:
                try:
                    await connection.run_sync(migrate)
                finally:
                    blocker = watch.last
            return
        except RevisionFailed as failure:
            failure.tries, failure.blocker = attempt, blocker
            if not failure.is_lock_timeout or attempt >= settings.MIGRATION_LOCK_RETRIES:
                raise
            delay = BACKOFF * 2 ** (attempt - 1)
            say(
                f"revision {failure.revision} waited {settings.MIGRATION_LOCK_TIMEOUT:g} s "
                f"for a lock{held_by(blocker)}; trying again in {delay:g} s "
                f"(try {attempt + 1} of {settings.MIGRATION_LOCK_RETRIES})"
            )
            await connection.rollback()
            await asyncio.sleep(delay)
            attempt += 1
