"""What the plan knows about each statement: the locks it takes, the work it does, the verdict."""

from dataclasses import dataclass, field
from enum import StrEnum

from migration_toolkit.plan.locks import LockMode


class WorkKind(StrEnum):
    """What a statement does to a table's data, cheapest first."""

    NONE = "nothing"  # no table: functions, types, session settings, grants
    CATALOG = "catalog only"
    SCAN = "full scan"
    INDEX = "index build"
    CONCURRENT_INDEX = "concurrent index build"
    REWRITE = "rewrite"
    ROWS = "row changes"
    BACKFILL = "batched backfill"
    UNKNOWN = "unknown"


class Verdict(StrEnum):
    FINE = "fine"
    BLOCKS = "BLOCKS"
    FAILS = "FAILS"
    UNKNOWN = "UNKNOWN"


@dataclass(frozen=True)
class Lock:
    """A table-level lock a statement takes; held until its transaction ends."""

    table: str
    mode: LockMode
    # A table this plan creates: nobody uses it yet, so its locks block nobody.
    new: bool = False


@dataclass(frozen=True)
class Work:
    """One piece of work on one table, with the sizes read from the live catalogs."""

    kind: WorkKind
    table: str | None = None
    rows: float = 0.0
    heap_bytes: int = 0
    total_bytes: int = 0  # with its indexes and TOAST: what a rewrite writes again
    # INDEX / CONCURRENT_INDEX: whether a key is a string (collation sorts cost more).
    # REWRITE: one entry per index rebuilt with the table.
    text_keys: tuple[bool, ...] = ()
    batch_rows: int = 0  # BACKFILL: rows per batch (each batch its own transaction)
    detail: str = ""


@dataclass
class Analysis:
    """One statement of a revision, classified."""

    revision: str
    sql: str
    summary: str  # the statement shortened for a table cell
    kind: str  # "CREATE INDEX", "ALTER TABLE ... ADD COLUMN", ...
    locks: list[Lock] = field(default_factory=list)
    works: list[Work] = field(default_factory=list)
    # UPDATE/DELETE in one statement: the rows it changes stay locked until commit.
    row_locks: bool = False
    in_transaction: bool = True
    group: int = 0  # statements of one group share a transaction (and its locks)
    problem: str | None = None  # why it fails on a table with rows
    unknown: str | None = None  # why it cannot be classified
    advice: str | None = None  # the online helper (or pattern) that avoids the block
    notes: list[str] = field(default_factory=list)

    @property
    def work_kind(self) -> WorkKind:
        if self.unknown is not None:
            return WorkKind.UNKNOWN
        if not self.works:
            return WorkKind.NONE
        return max(self.works, key=lambda work: list(WorkKind).index(work.kind)).kind

    def strongest(self) -> dict[str, LockMode]:
        """Each table's strongest lock (Postgres holds the strongest of what it asked)."""
        modes: dict[str, LockMode] = {}
        for lock in self.locks:
            modes[lock.table] = max(modes.get(lock.table, lock.mode), lock.mode)
        return modes
