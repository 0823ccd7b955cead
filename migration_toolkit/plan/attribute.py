"""Which planned statement each executed statement was, and what it measured.

Executed statements are matched to the plan's by Postgres's own query fingerprint (constants
and parameters ignored, so offline literals and online binds agree), in order, within their
revision. A backfill's batches and its count carry the helper's tag and count for its one
planned UPDATE. What the helpers and Alembic read from pg_catalog, and Alembic's bookkeeping,
belong to no planned statement. Writes are measured blocked from the start of the statement
during which a write-blocking lock first shows in pg_locks until it is gone (or committed).
"""

import statistics
from dataclasses import replace

from pglast.parser import ParseError, fingerprint

from migration_toolkit.online.backfill import TAG as BACKFILL_TAG
from migration_toolkit.plan.estimate import Estimate, Rates, work_seconds
from migration_toolkit.plan.locks import LockMode
from migration_toolkit.plan.model import WorkKind
from migration_toolkit.plan.report import Measured, Plan
from migration_toolkit.plan.watch import Executed, Recording

# Below this, a duration says more about round trips than about the server's rates.
MEANINGFUL = 0.05


def _fingerprint(sql: str) -> str | None:
    try:
        return str(fingerprint(sql))
    except ParseError:
        return None


def _match(estimates: list[Estimate], executed: list[Executed]) -> list[list[Executed]]:
    prints = [_fingerprint(found.analysis.sql) for found in estimates]
    matched: list[list[Executed]] = [[] for _ in estimates]
    last = -1
    for run in executed:
        own = _fingerprint(run.sql)
        tagged = BACKFILL_TAG in run.sql
        candidates = [
            index
            for index in range(max(last, 0), len(estimates))
            if (own is not None and prints[index] == own and (index > last or tagged))
            or (tagged and estimates[index].analysis.work_kind is WorkKind.BACKFILL)
        ]
        if candidates:
            last = candidates[0]
            matched[last].append(run)
        # Anything else is Alembic's bookkeeping or a helper's own query: not in the plan.
    return matched


def _blocked(recording: Recording) -> dict[int, dict[str, float]]:
    """Seconds of blocked writes per table, keyed by the executed statement that began them."""
    starts: dict[str, tuple[float, int]] = {}
    blocked: dict[int, dict[str, float]] = {}
    observations = sorted(recording.observations, key=lambda seen: seen.at)
    last_seen: dict[str, float] = {}

    def owner(at: float) -> int:
        for index, run in enumerate(recording.executed):
            if run.started <= at <= (run.ended or at):
                return index
        earlier = [i for i, run in enumerate(recording.executed) if run.started <= at]
        return earlier[-1] if earlier else 0

    for seen in observations:
        blocking = {table for table, mode in seen.held if mode.blocks_writes}
        for table in blocking:
            last_seen[table] = seen.at
            if table not in starts:
                index = owner(seen.at)
                begun = recording.executed[index].started if recording.executed else seen.at
                starts[table] = (begun, index)
        for table in list(starts):
            if table in blocking:
                continue
            begun, index = starts.pop(table)
            commits = [at for at in recording.commits if last_seen[table] <= at <= seen.at]
            ended = commits[0] if commits else seen.at
            blocked.setdefault(index, {})[table] = (
                blocked.get(index, {}).get(table, 0) + ended - begun
            )
    return blocked


def measure(plan: Plan, recordings: dict[str, Recording]) -> list[Measured | None]:
    """One Measured per planned statement (None when its revision never ran)."""
    measured: list[Measured | None] = [None] * len(plan.estimates)
    for revision, recording in recordings.items():
        indexes = [
            i for i, found in enumerate(plan.estimates) if found.analysis.revision == revision
        ]
        matched = _match([plan.estimates[i] for i in indexes], recording.executed)
        blocked = _blocked(recording)
        position = {id(run): n for n, run in enumerate(recording.executed)}
        for index, runs in zip(indexes, matched, strict=True):
            seen = Measured()
            for run in runs:
                seen.runs += 1
                seen.seconds += (run.ended or run.started) - run.started
                number = position[id(run)]
                before = recording.executed[number - 1].held_after if number else frozenset()
                during = [
                    o.held
                    for o in recording.observations
                    if run.started <= o.at <= (run.ended or o.at)
                ]
                new = set().union(run.held_after, *during) - set(before)
                for table, mode in new:
                    strongest = seen.locks.get(table)
                    if strongest is None or LockMode[strongest.replace(" ", "_")] < mode:
                        seen.locks[table] = mode.label
                for table, seconds in blocked.get(number, {}).items():
                    seen.blocked_writes[table] = seen.blocked_writes.get(table, 0) + seconds
            measured[index] = seen
    return measured


def rates(plan: Plan, measured: list[Measured | None]) -> Rates:
    """The plan's rates, each corrected by what the rehearsal measured for its kind of work."""
    ratios: dict[str, list[float]] = {}
    for found, seen in zip(plan.estimates, measured, strict=True):
        heavy = [w for w in found.analysis.works if w.kind not in (WorkKind.NONE, WorkKind.CATALOG)]
        if seen is None or seen.seconds < MEANINGFUL or len(heavy) != 1:
            continue
        work = heavy[0]
        estimated = work_seconds(work, plan.rates)
        if estimated <= 0:
            continue
        kind = work.kind.value
        if work.kind in (WorkKind.INDEX, WorkKind.CONCURRENT_INDEX):
            kind += " text" if any(work.text_keys) else " other"
        ratios.setdefault(kind, []).append(seen.seconds / estimated)
    factor = {kind: statistics.median(values) for kind, values in ratios.items()}
    old = plan.rates
    text = factor.get("index build text", 1.0)
    other = factor.get("index build other", 1.0)
    concurrent = statistics.median(
        [
            factor[k] / (text if k.endswith("text") else other)
            for k in factor
            if k.startswith("concurrent")
        ]
        or [1.0]
    )
    return replace(
        old,
        scan_bytes_per_s=old.scan_bytes_per_s / factor.get(WorkKind.SCAN.value, 1.0),
        rewrite_bytes_per_s=old.rewrite_bytes_per_s / factor.get(WorkKind.REWRITE.value, 1.0),
        index_row_s_text=old.index_row_s_text * text,
        index_row_s_other=old.index_row_s_other * other,
        update_row_s=old.update_row_s
        * factor.get(WorkKind.BACKFILL.value, factor.get(WorkKind.ROWS.value, 1.0)),
        concurrent_factor=old.concurrent_factor * concurrent,
    )
