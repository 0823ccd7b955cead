"""The plan as a terminal table and as Markdown for a pull request; the rehearsal beside it."""

from dataclasses import dataclass, field

from tabulate import tabulate

from migration_toolkit.plan.catalog import Catalog
from migration_toolkit.plan.estimate import Estimate, Rates, duration
from migration_toolkit.plan.model import Verdict, WorkKind
from migration_toolkit.plan.source import Revision


@dataclass
class Measured:
    """What the rehearsal saw one planned statement do on the copy."""

    seconds: float = 0.0
    runs: int = 0  # executions (a backfill runs once per batch)
    locks: dict[str, str] = field(default_factory=dict)  # table -> strongest mode seen
    blocked_writes: dict[str, float] = field(default_factory=dict)  # table -> seconds
    rewrote: set[str] = field(default_factory=set)  # tables whose files were replaced


@dataclass
class RevisionResult:
    revision: str
    up: float | None = None
    up_error: str | None = None
    down: float | None = None
    down_error: str | None = None
    again: float | None = None
    again_error: str | None = None


@dataclass
class Plan:
    where: str
    applied: tuple[str, ...]
    revisions: list[Revision]
    estimates: list[Estimate]
    rates: Rates
    threshold: float
    catalog: Catalog

    @property
    def failing(self) -> list[Estimate]:
        return [found for found in self.estimates if found.verdict is not Verdict.FINE]


def _count(value: float) -> str:
    if value >= 1e6:
        return f"{value / 1e6:.1f}M"
    if value >= 1e3:
        return f"{value / 1e3:.0f}k"
    return f"{value:.0f}"


def _size(value: float) -> str:
    for unit in ("B", "kB", "MB", "GB"):
        if value < 1024 or unit == "GB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{value:.1f} TB"


def _work(found: Estimate) -> str:
    analysis = found.analysis
    kind = analysis.work_kind
    if kind in (WorkKind.NONE, WorkKind.UNKNOWN):
        return kind.value
    heavy = [work for work in analysis.works if work.kind is kind]
    work = heavy[0]
    if kind is WorkKind.CATALOG or not work.table:
        return kind.value
    if kind is WorkKind.BACKFILL:
        return f"{kind.value}, {_count(work.rows)} rows in batches of {_count(work.batch_rows)}"
    if kind is WorkKind.REWRITE:
        return f"{kind.value}, {_count(work.rows)} rows / {_size(work.total_bytes)} with indexes"
    return f"{kind.value}, {_count(work.rows)} rows / {_size(work.heap_bytes)}"


def _locks(found: Estimate) -> str:
    cells = []
    for table, mode in found.analysis.strongest().items():
        new = all(lock.new for lock in found.analysis.locks if lock.table == table)
        if new:
            cells.append(f"{table} (new): {mode.label}")
        else:
            cells.append(f"{table}: {mode.label} (blocks {mode.blocks})")
    if found.analysis.row_locks:
        cells.append("row locks on the rows it changes")
    return "; ".join(cells) or "-"


def _traffic(found: Estimate, catalog: Catalog) -> str:
    for table in found.analysis.strongest():
        known = catalog.named(table)
        if known is not None and known.writes_per_s is not None:
            return f"{known.writes_per_s:,.0f} w/s, {known.reads_per_s or 0:,.0f} r/s"
    return "-"


def _held(found: Estimate) -> str:
    blocks = [block.seconds for block in found.blocking]
    return duration(max(blocks)) if blocks else "-"


def _measured_locks(measured: Measured | None) -> str:
    if measured is None or measured.runs == 0:
        return "not run"
    seen = "; ".join(f"{table}: {mode}" for table, mode in sorted(measured.locks.items()))
    return seen or "none seen"


def _blocked(measured: Measured | None) -> str:
    if measured is None or measured.runs == 0:
        return "-"
    if not measured.blocked_writes:
        return "none"
    return "; ".join(
        f"{table} {duration(s)}" for table, s in sorted(measured.blocked_writes.items())
    )


def rows(
    plan: Plan, measured: list[Measured | None] | None
) -> tuple[list[str], list[list[str]], list[str]]:
    header = ["#", "revision", "statement", "locks", "does", "est.", "blocks for", "traffic"]
    if measured is not None:
        header += ["took", "locks seen", "blocked writes"]
    header.append("verdict")
    body, notes = [], []
    for number, found in enumerate(plan.estimates, start=1):
        analysis = found.analysis
        row = [
            str(number),
            analysis.revision[:12],
            analysis.summary,
            _locks(found),
            _work(found),
            duration(found.seconds),
            _held(found),
            _traffic(found, plan.catalog),
        ]
        if measured is not None:
            seen = measured[number - 1]
            took = "-" if seen is None or seen.runs == 0 else duration(seen.seconds)
            if seen is not None and seen.runs > 1:
                took += f" ({seen.runs} runs)"
            row += [took, _measured_locks(seen), _blocked(seen)]
        verdict = found.verdict.value
        lines = [found.reason] if found.reason else []
        lines += analysis.notes
        if lines:
            notes.append(f"[{number}] {analysis.summary}: " + "; ".join(lines))
            verdict += f" [{number}]"
        row.append(verdict)
        body.append(row)
    return header, body, notes


def _heading(plan: Plan) -> str:
    at = ", ".join(plan.applied) or "base"
    count = sum(len(revision.statements) for revision in plan.revisions)
    return (
        f"{plan.where} is at {at}: {len(plan.revisions)} pending revision(s), "
        f"{count} statement(s); durations from {plan.rates.source}; "
        f"threshold {duration(plan.threshold)} of blocked writes"
    )


def _revisions(results: list[RevisionResult]) -> tuple[list[str], list[list[str]]]:
    header = ["revision", "upgrade", "downgrade on real rows", "upgrade again"]
    body = []
    for result in results:
        body.append(
            [
                result.revision[:12],
                _outcome(result.up, result.up_error),
                _outcome(result.down, result.down_error),
                _outcome(result.again, result.again_error),
            ]
        )
    return header, body


def _outcome(seconds: float | None, error: str | None) -> str:
    if error is not None:
        return f"FAILED: {error}"
    return "not run" if seconds is None else f"ok, {duration(seconds)}"


def terminal(
    plan: Plan,
    measured: list[Measured | None] | None = None,
    results: list[RevisionResult] | None = None,
) -> str:
    lines = [_heading(plan)]
    if not plan.estimates:
        return lines[0] + "\nnothing to do: no pending revision runs a statement"
    header, body, notes = rows(plan, measured)
    lines += ["", tabulate(body, header, tablefmt="simple", maxcolwidths=_widths(header)), ""]
    lines += notes
    if results:
        header, table = _revisions(results)
        lines += ["", tabulate(table, header, tablefmt="simple", maxcolwidths=[12, 20, 60, 30])]
    return "\n".join(lines)


def _widths(header: list[str]) -> list[int | None]:
    wide = {"statement": 40, "locks": 34, "does": 26, "locks seen": 30, "blocked writes": 20}
    return [wide.get(name) for name in header]


def markdown(
    plan: Plan,
    measured: list[Measured | None] | None = None,
    results: list[RevisionResult] | None = None,
) -> str:
    title = "Migration rehearsal" if measured is not None else "Migration plan"
    lines = [f"### {title}", "", _heading(plan).replace("|", "\\|"), ""]
    if plan.estimates:
        header, body, notes = rows(plan, measured)
        escaped = [[cell.replace("|", "\\|") for cell in row] for row in body]
        lines += [tabulate(escaped, header, tablefmt="github"), ""]
        lines += [f"- {note}" for note in notes]
    if results:
        header, table = _revisions(results)
        lines += ["", tabulate(table, header, tablefmt="github")]
    failing = len(plan.failing)
    lines += ["", f"**{failing} statement(s) need attention.**" if failing else "**All fine.**"]
    return "\n".join(lines) + "\n"
