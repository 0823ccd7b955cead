"""How long each statement takes on this database, how long it holds its locks, the verdict.

Durations come from rates measured on this server (probe.py, or the last rehearsal) applied
to the sizes in the live catalogs. A lock is held from the statement that takes it until its
transaction ends, so a catalog-only ALTER followed by a long UPDATE in the same transaction
blocks for as long as the UPDATE: each statement's hold counts the rest of its transaction.
"""

import math
from dataclasses import asdict, dataclass, field, fields

from migration_toolkit.plan.catalog import Catalog
from migration_toolkit.plan.model import Analysis, Verdict, Work, WorkKind

# Index builds sort: per-row cost grows with log(rows). Rates are per row at this many rows.
REFERENCE_ROWS = 100_000
# What maintaining one index adds to updating a row, relative to writing the row itself.
INDEX_WEIGHT = 0.5
INDEX_WEIGHT_TEXT = 1.0


@dataclass
class Rates:
    """What this server does per second (or per row), and where the numbers come from."""

    scan_bytes_per_s: float
    rewrite_bytes_per_s: float
    index_row_s_text: float
    index_row_s_other: float
    update_row_s: float
    # A concurrent build scans the table twice and waits for running transactions: on an idle
    # table it took 1.0-1.3x a plain build (bench/results/plan.md), longer under traffic.
    concurrent_factor: float = 1.3
    source: str = ""

    def as_dict(self) -> dict[str, float | str]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, object]) -> "Rates":
        known = {f.name for f in fields(cls)}
        return cls(**{key: value for key, value in data.items() if key in known})  # type: ignore[arg-type]


def index_seconds(rows: float, text_keys: tuple[bool, ...], rates: Rates) -> float:
    if rows <= 0:
        return 0.0
    per_row = rates.index_row_s_text if any(text_keys) else rates.index_row_s_other
    growth = max(1.0, math.log2(max(rows, 2)) / math.log2(REFERENCE_ROWS))
    return rows * per_row * growth


def work_seconds(work: Work, rates: Rates) -> float:
    kind = work.kind
    if kind in (WorkKind.NONE, WorkKind.CATALOG):
        return 0.0
    if kind is WorkKind.SCAN:
        return work.heap_bytes / rates.scan_bytes_per_s
    if kind is WorkKind.INDEX:
        return index_seconds(work.rows, work.text_keys, rates)
    if kind is WorkKind.CONCURRENT_INDEX:
        return index_seconds(work.rows, work.text_keys, rates) * rates.concurrent_factor
    if kind is WorkKind.REWRITE:
        indexes = sum(index_seconds(work.rows, (text,), rates) for text in work.text_keys)
        return work.heap_bytes / rates.rewrite_bytes_per_s + indexes
    if kind in (WorkKind.ROWS, WorkKind.BACKFILL):
        return work.rows * update_row_seconds(work.text_keys, rates)
    raise ValueError(kind)


def update_row_seconds(indexes: tuple[bool, ...], rates: Rates) -> float:
    """A changed row writes a new version into every index (string keys cost about twice as
    much); the probe's rate is for a table with one integer index."""
    weight = 1 + sum(INDEX_WEIGHT_TEXT if text else INDEX_WEIGHT for text in indexes)
    return rates.update_row_s * weight / (1 + INDEX_WEIGHT)


@dataclass
class Blocking:
    """One table whose reads or writes wait while the statement's lock is held."""

    table: str
    what: str  # "reads and writes", "writes", "writes to the rows it changes"
    mode: str
    seconds: float
    writes_per_s: float | None


@dataclass
class Estimate:
    analysis: Analysis
    seconds: float | None  # None: unknown
    hold: float | None  # until its transaction ends
    blocking: list[Blocking] = field(default_factory=list)
    verdict: Verdict = Verdict.FINE
    reason: str = ""


def _seconds(analysis: Analysis, rates: Rates) -> float | None:
    if analysis.unknown is not None:
        return None
    return sum(work_seconds(work, rates) for work in analysis.works)


def estimate(
    analyses: list[Analysis], catalog: Catalog, rates: Rates, threshold: float
) -> list[Estimate]:
    """Durations, holds and verdicts for statements in the order they run."""
    durations = [_seconds(analysis, rates) for analysis in analyses]
    estimates = []
    for index, analysis in enumerate(analyses):
        own = durations[index]
        hold: float | None = own
        if analysis.in_transaction and own is not None:
            for later, duration in zip(analyses[index + 1 :], durations[index + 1 :], strict=True):
                if not later.in_transaction or later.group != analysis.group:
                    break
                if duration is None or hold is None:
                    hold = None
                    break
                hold += duration
        found = Estimate(analysis, own, hold)
        _blocking(found, catalog, rates)
        _verdict(found, threshold)
        estimates.append(found)
    return estimates


def _traffic(catalog: Catalog, display: str) -> float | None:
    table = catalog.named(display)
    return table.writes_per_s if table is not None else None


def _blocking(found: Estimate, catalog: Catalog, rates: Rates) -> None:
    analysis = found.analysis
    hold = found.hold if found.hold is not None else math.inf
    for table, mode in analysis.strongest().items():
        new = all(lock.new for lock in analysis.locks if lock.table == table)
        if mode.blocks_writes and not new:
            found.blocking.append(
                Blocking(table, mode.blocks, mode.label, hold, _traffic(catalog, table))
            )
    if analysis.row_locks:
        table = next((w.table for w in analysis.works if w.table), None) or "?"
        found.blocking.append(
            Blocking(
                table, "writes to the rows it changes", "row locks", hold, _traffic(catalog, table)
            )
        )
    for work in analysis.works:
        if work.kind is WorkKind.BACKFILL and work.table:
            batch = min(work.rows, work.batch_rows) * update_row_seconds(work.text_keys, rates)
            found.blocking.append(
                Blocking(
                    work.table,
                    "writes to one batch's rows",
                    "row locks",
                    batch,
                    _traffic(catalog, work.table),
                )
            )


def _verdict(found: Estimate, threshold: float) -> None:
    analysis = found.analysis
    if analysis.unknown is not None:
        found.verdict, found.reason = Verdict.UNKNOWN, f"{analysis.unknown}: review it by hand"
        return
    if analysis.problem is not None:
        found.verdict, found.reason = Verdict.FAILS, analysis.problem
        return
    long = [block for block in found.blocking if block.seconds > threshold]
    if not long:
        return
    found.verdict = Verdict.BLOCKS
    parts = []
    for block in long:
        seconds = (
            "until it ends (unknown)"
            if math.isinf(block.seconds)
            else f"for ~{duration(block.seconds)}"
        )
        waiting = ""
        if block.writes_per_s:
            waiting = (
                f" on a table taking {block.writes_per_s:,.0f} writes/s "
                f"(~{block.writes_per_s * block.seconds:,.0f} writes wait)"
            )
        parts.append(f"blocks {block.what} of {block.table} ({block.mode}) {seconds}{waiting}")
    reason = "; ".join(parts)
    own = found.seconds or 0.0
    if found.hold is not None and found.hold - own > threshold:
        reason += (
            f" — its lock is held until the transaction commits, ~{duration(found.hold - own)} "
            "after it (the statements after it in the same revision): commit first, "
            "or move them to a revision of their own"
        )
    if analysis.advice:
        reason += f"; instead: {analysis.advice}"
    found.reason = reason


def duration(seconds: float | None) -> str:
    if seconds is None or math.isinf(seconds):
        return "?"
    if seconds == 0:
        return "instant"
    if seconds < 0.001:
        return "<1 ms"
    if seconds < 1:
        return f"{seconds * 1000:.0f} ms"
    if seconds < 120:
        return f"{seconds:.1f} s"
    return f"{seconds / 60:.0f} min"
