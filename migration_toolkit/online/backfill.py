"""Batched backfill by primary-key ranges, each batch its own transaction.

A batch locks only its own rows, for as long as one short UPDATE takes, so the app's writes
wait milliseconds instead of the whole backfill. `where` selects the rows still to do; a run
that was interrupted is simply run again and starts at the first row still matching it.
"""

import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from alembic import op
from sqlalchemy import text

from migration_toolkit.online._sql import execute, offline, quote
from migration_toolkit.online.marks import helper

REPORT_EVERY = 1.0  # seconds between progress lines
# Tags the backfill's statements (offline and online) so that `make migration-plan` and the
# rehearsal know them for batches: a comment, so Postgres and squawk ignore it.
TAG = "online.backfill"
# Rows the app inserts while a pass runs may still match `where`; a few passes catch them.
MAX_PASSES = 3


@dataclass
class Progress:
    """Where a backfill stands, handed to the progress callback after each batch."""

    table: str
    total: int
    done: int = 0
    last_key: int | None = None
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
    last = 0.0

    def report(progress: Progress) -> None:
        nonlocal last
        now = time.monotonic()
        if now - last >= REPORT_EVERY or progress.done >= progress.total:
            last = now
            print(progress.line(), file=sys.stderr, flush=True)

    return report


def _remaining(table: str, key: str, where: str, after: int | None) -> tuple[int, int, int]:
    """First and last key of the rows still matching `where`, and their count (one scan)."""
    beyond = f" AND {key} > :after" if after is not None else ""
    query = (
        f"/* {TAG} */ SELECT min({key}), max({key}), count(*) FROM {table} WHERE ({where}){beyond}"
    )
    first, last, count = op.get_bind().execute(text(query), {"after": after}).one()
    return first, last, int(count)


@helper
def backfill(
    table: str,
    assignments: str,
    *,
    where: str,
    key: str = "id",
    batch_size: int = 10_000,
    pause: float = 0.0,
    progress: Callable[[Progress], None] | None = None,
) -> int:
    """UPDATE table SET assignments WHERE where, batch by batch over key ranges; rows updated.

    `assignments` is the SET list (`"email = lower(name) || '@example.invalid'"`), `where` must
    stop matching a row once it is done (`"email IS NULL"`): that is what makes a re-run resume.
    `key` is an integer primary key; `pause` seconds between batches leave room for the app.
    """
    if batch_size < 1:
        raise ValueError("batch_size must be at least 1")
    target, column = quote(table), quote(key)
    tag = f"/* {TAG} batch_size={batch_size} */"
    if offline():
        # One UPDATE stands for the batches; like them, it runs outside the revision's transaction.
        with op.get_context().autocommit_block():
            op.execute(f"{tag} UPDATE {target} SET {assignments} WHERE ({where})")
        return 0
    report = progress or print_progress()
    with op.get_context().autocommit_block():
        first, last, total = _remaining(target, column, where, None)
        state = Progress(table=table, total=total)
        for _ in range(MAX_PASSES):
            if total == 0:
                break
            start = first
            while start <= last:
                end = start + batch_size
                state.done += execute(
                    f"{tag} UPDATE {target} SET {assignments} "
                    f"WHERE {column} >= :start AND {column} < :end AND ({where})",
                    start=start,
                    end=end,
                )
                state.last_key = end - 1
                report(state)
                start = end
                if pause > 0:
                    time.sleep(pause)
            first, last, total = _remaining(target, column, where, last)
            state.total = state.done + total
        return state.done
