"""Batched backfill in key order, each batch its own transaction, sized and paced to share.

A batch locks only its own rows, for as long as one short UPDATE takes, so the app's writes
wait milliseconds instead of the whole backfill. `where` selects the rows still to do; a run
that was interrupted is simply run again and starts at the first row still matching it.

Sharing the machine: the batch size adapts so that a batch takes about `batch_time` (its rows
are locked that long), and after each batch the backfill rests in proportion to the batch's
own time, so that it works `duty_cycle` of the time: 0.25 keeps it to about a quarter of one
core. An optional Guard rests it while replicas lag or the app's sessions wait on locks.
"""

import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TypedDict

from alembic import op
from sqlalchemy import text

from migration_toolkit.online import events
from migration_toolkit.online._sql import offline, quote
from migration_toolkit.online.guard import Guard
from migration_toolkit.online.marks import helper

REPORT_EVERY = 1.0  # seconds between progress lines
# Tags the backfill's statements (offline and online) so that `make migration-plan` and the
# rehearsal know them for batches: a comment, so Postgres and squawk ignore it.
TAG = "online.backfill"
# Rows updated back to matching `where` behind the batches (a key below the current one) are
# caught by another pass; a few passes at most.
MAX_PASSES = 3
BATCH_TIME = 0.1  # seconds a batch should take
DUTY_CYCLE = 0.25  # share of the time the backfill works
MAX_BATCH = 50_000  # rows
# How far one batch's timing moves the next batch's size, either way.
MAX_STEP = 2.0


@dataclass
class Progress:
    """Where a backfill stands, handed to the progress callback after each batch."""

    table: str
    total: int
    done: int = 0
    last_key: int | None = None
    batch_size: int = 0
    batch_seconds: float = 0.0
    started: float = field(default_factory=time.monotonic)

    @property
    def rate(self) -> float:
        elapsed = time.monotonic() - self.started
        return self.done / elapsed if elapsed > 0 else 0.0

    def line(self) -> str:
        share = 100 * self.done / self.total if self.total else 100.0
        return (
            f"backfill {self.table}: {self.done:,}/{self.total:,} rows ({share:.0f}%), "
            f"{self.rate:,.0f} rows/s"
        )


def print_progress() -> Callable[[Progress], None]:
    """A callback printing a line to stderr at most once a second, and at the end."""
    last, finished = 0.0, -1

    def report(progress: Progress) -> None:
        nonlocal last, finished
        now = time.monotonic()
        done = progress.done >= progress.total
        if (now - last >= REPORT_EVERY or done) and finished != progress.done:
            last = now
            finished = progress.done if done else -1
            print(progress.line(), file=sys.stderr, flush=True)

    return report


@dataclass
class Pace:
    """Batch size and rest after each batch, from how long the last batch took."""

    size: int
    batch_time: float | None
    duty_cycle: float
    pause: float
    max_size: int = MAX_BATCH

    def after(self, seconds: float) -> float:
        """Adjust the size to the batch's time; the seconds to rest now."""
        if self.batch_time is not None and seconds > 0:
            factor = min(MAX_STEP, max(1 / MAX_STEP, self.batch_time / seconds))
            self.size = max(1, min(self.max_size, round(self.size * factor)))
        rest = seconds * (1 - self.duty_cycle) / self.duty_cycle
        return max(self.pause, rest)


class BackfillOptions(TypedDict, total=False):
    """backfill()'s pacing, passed on by the helpers that backfill."""

    batch_size: int
    batch_time: float | None
    duty_cycle: float
    pause: float
    guard: Guard | None
    progress: Callable[[Progress], None] | None


def _remaining(table: str, key: str, where: str) -> tuple[int | None, int]:
    """The first key of the rows still matching `where`, and their count (one scan)."""
    query = f"/* {TAG} */ SELECT min({key}), count(*) FROM {table} WHERE ({where})"
    first, count = op.get_bind().execute(text(query)).one()
    return first, int(count)


def _batch(table: str, key: str, assignments: str, where: str) -> str:
    """One batch: the next :size matching rows after key :after, updated; rows done, last key."""
    return (
        f"/* {TAG} */ WITH batch AS (SELECT {key} AS backfill_key FROM {table} "
        f"WHERE {key} > :after AND ({where}) ORDER BY {key} LIMIT :size), "
        f"done AS (UPDATE {table} SET {assignments} FROM batch "
        f"WHERE {table}.{key} = batch.backfill_key AND ({where}) RETURNING 1) "
        "SELECT (SELECT count(*) FROM done), (SELECT max(backfill_key) FROM batch)"
    )


@helper
def backfill(
    table: str,
    assignments: str,
    *,
    where: str,
    key: str = "id",
    batch_size: int = 1_000,
    batch_time: float | None = BATCH_TIME,
    duty_cycle: float = DUTY_CYCLE,
    pause: float = 0.0,
    guard: Guard | None = None,
    progress: Callable[[Progress], None] | None = None,
) -> int:
    """UPDATE table SET assignments WHERE where, batch by batch in key order; rows updated.

    `assignments` is the SET list (`"email = lower(name) || '@example.invalid'"`), `where` must
    stop matching a row once it is done (`"email IS NULL"`): that is what makes a re-run resume.
    `key` is an integer primary key. `batch_size` is the first batch's size; with
    `batch_time=None` every batch has that size. `duty_cycle` (0 < d <= 1) is the share of the
    time spent in batches; `pause` a floor for the rest between batches, in seconds.
    """
    if batch_size < 1:
        raise ValueError("batch_size must be at least 1")
    if not 0 < duty_cycle <= 1:
        raise ValueError("duty_cycle must be above 0 and at most 1")
    target, column = quote(table), quote(key)
    if offline():
        # One UPDATE stands for the batches; like them, it runs outside the revision's transaction.
        tag = f"/* {TAG} batch_size={batch_size} */"
        with op.get_context().autocommit_block():
            op.execute(f"{tag} UPDATE {target} SET {assignments} WHERE ({where})")
        return 0
    report = progress or print_progress()
    pace = Pace(batch_size, batch_time, duty_cycle, pause)
    statement = text(_batch(target, column, assignments, where))
    with (
        events.span("helper", f"backfill {table}") as detail,
        op.get_context().autocommit_block(),
    ):
        first, total = _remaining(target, column, where)
        state = Progress(table=table, total=total)
        for _ in range(MAX_PASSES):
            if first is None:
                break
            after = first - 1
            while True:
                if guard is not None:
                    guard.wait_until_clear(op.get_bind())
                with events.span("batch", f"{table} {key} > {after:,}") as batch:
                    started = time.monotonic()
                    rows, last = (
                        op.get_bind().execute(statement, {"after": after, "size": pace.size}).one()
                    )
                    seconds = time.monotonic() - started
                    batch.update(rows=rows, size=pace.size, last=last)
                if last is None:
                    break
                state.done += rows
                state.last_key, after = last, last
                state.batch_size, state.batch_seconds = pace.size, seconds
                report(state)
                rest = pace.after(seconds)
                if rest > 0:
                    with events.span("pause", f"{table} rest {rest * 1000:.0f} ms"):
                        time.sleep(rest)
            first, total = _remaining(target, column, where)
            state.total = state.done + total
        if state.done:
            # Rows the app's own writes took out of `where` meanwhile were counted, not done.
            state.total = state.done
            report(state)
        detail.update(rows=state.done)
        return state.done
