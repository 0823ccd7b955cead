"""`make migration-rehearse`: the pending revisions run for real on a copy of the database.

The copy (copy.py) is migrated through env.py on a connection of ours (Alembic's connection
sharing, as checks/roundtrip.py does), one revision at a time, every statement timed and its
locks read (watch.py). Then every pending revision is downgraded on the real rows (a narrowed
column, a NOT NULL put back, fail here rather than in an incident) and upgraded again. The
copy is dropped; the source is only read. The report is the plan's table with the measured
columns beside the estimates; the measured rates are kept for the next plan on this server.
"""

import asyncio
import contextlib
import io
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from alembic import command
from sqlalchemy.engine import URL, Connection
from sqlalchemy.ext.asyncio import create_async_engine
from sqlalchemy.pool import NullPool
from sqlalchemy.util import await_only

from migration_toolkit.checks.connection import config_for, idle
from migration_toolkit.config import current_project
from migration_toolkit.errors import UserFacingError, root_cause
from migration_toolkit.plan import attribute, probe, report
from migration_toolkit.plan.command import Options, check_options, make_plan, read_catalog
from migration_toolkit.plan.connect import connect
from migration_toolkit.plan.copy import copy_of
from migration_toolkit.plan.estimate import duration
from migration_toolkit.plan.source import pending_revisions
from migration_toolkit.plan.watch import Held, Observation, Recording, Watch, held_by
from migration_toolkit.run import simple_query

Say = Callable[[str], None]


class RehearsalFailed(UserFacingError):
    """The rehearsal found a revision that fails, or a lock held too long."""


@dataclass
class Outcome:
    recordings: dict[str, Recording] = field(default_factory=dict)
    results: list[report.RevisionResult] = field(default_factory=list)
    rewritten: dict[str, set[str]] = field(default_factory=dict)


def _say(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def _cause(exc: BaseException) -> str:
    cause = root_cause(exc)
    lines = str(cause).strip().splitlines()
    return f"{type(cause).__name__}: {lines[0] if lines else ''}".rstrip(": ")


def _confirm(prompt: str) -> str:
    return "yes"  # the production guard protects real data; this is a throwaway copy


def _heads(connection: Connection) -> tuple[str, ...]:
    from sqlalchemy import text

    rows = connection.execute(text("SELECT version_num FROM alembic_version")).scalars()
    found = tuple(sorted(rows))
    idle(connection)
    return found


def _files(connection: Connection) -> dict[str, int]:
    from sqlalchemy import text

    rows = connection.execute(
        text(
            "SELECT oid::regclass::text, relfilenode FROM pg_class WHERE relkind IN ('r', 'm') "
            "AND relnamespace::regnamespace::text NOT LIKE 'pg\\_%' "
            "AND relnamespace::regnamespace::text <> 'information_schema'"
        )
    ).all()
    idle(connection)
    return {row[0]: row[1] for row in rows}


class _Steps:
    """The Alembic commands of the rehearsal, on the copy, in the migration's greenlet."""

    def __init__(self, watch: Watch, pending: list[str], outcome: Outcome) -> None:
        self.watch = watch
        self.pending = pending
        self.outcome = outcome

    def run(self, connection: Connection) -> None:
        config = config_for(connection)
        config.attributes["ask"] = _confirm
        results = {rev: report.RevisionResult(rev) for rev in self.pending}
        self.outcome.results = list(results.values())
        quiet = io.StringIO()
        with contextlib.redirect_stdout(quiet), contextlib.redirect_stderr(quiet):
            upgraded = self.up(connection, config, results)
            if not upgraded:
                return
            undone = self.down(connection, config, results)
            if undone == len(self.pending):
                self.again(connection, config, results)

    def up(
        self, connection: Connection, config: object, results: dict[str, report.RevisionResult]
    ) -> bool:
        for revision in self.pending:
            before = _files(connection)
            recording = Recording()
            self.outcome.recordings[revision] = recording
            self.watch.recording = recording
            started = time.monotonic()
            try:
                command.upgrade(config, revision)  # type: ignore[arg-type]
            except Exception as exc:
                results[revision].up_error = _cause(exc)
                return False
            finally:
                self.watch.recording = None
                idle(connection)
            results[revision].up = time.monotonic() - started
            recording.observations.append(Observation(time.monotonic(), await_held(self.watch)))
            after = _files(connection)
            self.outcome.rewritten[revision] = {
                name for name, node in after.items() if name in before and before[name] != node
            }
        return True

    def down(
        self, connection: Connection, config: object, results: dict[str, report.RevisionResult]
    ) -> int:
        undone = 0
        for _ in self.pending:
            heads = _heads(connection)
            revision = heads[0] if len(heads) == 1 else ",".join(heads)
            started = time.monotonic()
            try:
                command.downgrade(config, "-1")  # type: ignore[arg-type]
            except Exception as exc:
                if revision in results:
                    results[revision].down_error = _cause(exc)
                return undone
            finally:
                idle(connection)
            if revision in results:
                results[revision].down = time.monotonic() - started
            undone += 1
        return undone

    def again(
        self, connection: Connection, config: object, results: dict[str, report.RevisionResult]
    ) -> None:
        for revision in self.pending:
            started = time.monotonic()
            try:
                command.upgrade(config, revision)  # type: ignore[arg-type]
            except Exception as exc:
                results[revision].again_error = _cause(exc)
                return
            finally:
                idle(connection)
            results[revision].again = time.monotonic() - started


def await_held(watch: Watch) -> Held:
    return await_only(held_by(watch.capture, watch.pid))


async def _rehearse(url: URL, pending: list[str]) -> Outcome:
    """Migrate the copy at url: upgrade each pending revision, watched; down; up again."""
    from migration_toolkit.environment import migration_url

    plain, connect_args = migration_url(url)
    connect_args.setdefault("server_settings", {})["application_name"] = (
        "migration-toolkit rehearsal"
    )
    engine = create_async_engine(plain, poolclass=NullPool, connect_args=connect_args)
    simple_query.install(engine)
    capture, sampler = await connect(url), await connect(url)
    outcome = Outcome()
    try:
        async with engine.connect() as connection:
            raw = await connection.get_raw_connection()
            pid = raw.driver_connection.get_server_pid()  # type: ignore[union-attr]
            watch = Watch(engine, pid, capture, sampler)
            task = asyncio.create_task(watch.sample())
            try:
                with watch.listening():
                    await connection.run_sync(_Steps(watch, pending, outcome).run)
            finally:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
    finally:
        await capture.close()
        await sampler.close()
        await engine.dispose()
    return outcome


async def _main(
    options: Options, max_rows: int | None, say: Say, url: URL | None
) -> tuple[report.Plan, Outcome, str]:
    project = current_project()
    source = url or project.url()
    # The source: its traffic only (a plan of the copy has the sizes, the copy's rates).
    source_catalog, rates = await read_catalog(
        source, project, options.traffic, fresh_probe=False, measure=False
    )
    if not await asyncio.to_thread(pending_revisions, source_catalog.versions):
        # Nothing would run: no copy to make.
        plan = await asyncio.to_thread(make_plan, source, source_catalog, rates, options.threshold)
        return plan, Outcome(), ""
    async with copy_of(source, say, max_rows) as copy:
        say(f"rehearsing on {copy.how}: {copy.url.database}")
        copy_catalog, rates = await read_catalog(copy.url, project, 0, options.fresh_probe)
        for table in copy_catalog.tables.values():
            seen = source_catalog.named(table.display)
            if seen is not None:
                table.writes_per_s, table.reads_per_s = seen.writes_per_s, seen.reads_per_s
        plan = await asyncio.to_thread(make_plan, copy.url, copy_catalog, rates, options.threshold)
        plan.where = f"{plan.where.rsplit('/', 1)[0]}/{source.database} (copy: {copy.how})"
        pending = [revision.revision for revision in plan.revisions]
        outcome = await _rehearse(copy.url, pending) if pending else Outcome()
    return plan, outcome, probe.server_key(source.host, source.port, copy_catalog.server_version)


@dataclass
class Rehearsal:
    plan: report.Plan
    measured: list[report.Measured | None]
    outcome: Outcome


def rehearse(
    options: Options, max_rows: int | None = None, say: Say = _say, url: URL | None = None
) -> Rehearsal:
    """Rehearse the pending revisions on a copy; the measured rates are kept for the next plan."""
    check_options(options)
    plan, outcome, key = asyncio.run(_main(options, max_rows, say, url))
    measured = attribute.measure(plan, outcome.recordings)
    if plan.estimates and key:
        rates = attribute.rates(plan, measured)
        probe.store(current_project().local_dir, key, rates)
    return Rehearsal(plan, measured, outcome)


def run(options: Options, max_rows: int | None = None, say: Say = _say) -> None:
    found = rehearse(options, max_rows, say)
    plan, measured, outcome = found.plan, found.measured, found.outcome
    print(report.terminal(plan, measured, outcome.results), flush=True)
    for revision, tables in outcome.rewritten.items():
        if tables:
            print(f"{revision}: rewrote {', '.join(sorted(tables))} (new files on disk)")
    if options.out is not None:
        options.out.write_text(report.markdown(plan, measured, outcome.results))
        print(f"\nwritten: {options.out}", flush=True)
    failed = [r for r in outcome.results if r.up_error or r.down_error or r.again_error]
    long = [
        (number, table, seconds)
        for number, seen in enumerate(measured, start=1)
        if seen is not None
        for table, seconds in seen.blocked_writes.items()
        if seconds > options.threshold
    ]
    if failed or long:
        parts = [f"{len(failed)} revision(s) failed on the copy"] if failed else []
        if long:
            shown = ", ".join(f"[{n}] {t} {duration(s)}" for n, t, s in long)
            parts.append(f"writes were blocked longer than {duration(options.threshold)} ({shown})")
        raise RehearsalFailed("; ".join(parts) + ": see the report above")
