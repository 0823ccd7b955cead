"""A scenario's latency timeline with the migration's steps under it, and what a stall overlapped.

Top: every request's latency (log scale) at its scheduled send time, failures in red, the
p99 of each second as a line, the target as a dashed one; shaded: strong locks held, and
long statements that block writes (a naive revision's DDL). Bottom:
the migration's steps from its event log (MIGRATION_EVENT_LOG), one lane per kind, so a spike
above lines up with the step below it.
"""

import itertools
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # files only, no display

import matplotlib.pyplot as plt

from bench.service import Sample
from migration_toolkit.online.events import Step

TARGET = 0.100  # seconds: the p99 target
LONG_SQL = 0.05  # seconds: statements shorter than this are not drawn
# Lanes, top to bottom, and the step kinds each shows.
LANES = [
    ("revision", ("revision",)),
    ("helper", ("helper",)),
    ("lock", ("lock", "lock-wait")),
    ("batch", ("batch", "guard")),
    ("index / validate / swap", ("index", "validate", "swap")),
    ("SQL >= 50 ms", ("sql",)),
]
COLORS = {
    "revision": "#9e9e9e",
    "helper": "#64b5f6",
    "lock": "#e53935",
    "lock-wait": "#ffb74d",
    "batch": "#43a047",
    "guard": "#8e24aa",
    "index": "#1e88e5",
    "validate": "#00897b",
    "swap": "#e53935",
    "sql": "#a1887f",
}


@dataclass(frozen=True)
class Stall:
    start: float
    end: float
    culprit: Step | None  # the step of a specific kind overlapping it most

    @property
    def seconds(self) -> float:
        return self.end - self.start


def blocking_statement(step: Step) -> bool:
    """A long statement that is neither a backfill batch nor one that lets writes go on: in
    a naive revision, the DDL holding its lock (and what runs after it in the transaction)."""
    if step.kind != "sql" or step.seconds < 0.2:
        return False
    text = step.name.upper()
    return not (
        text.startswith(("WITH BATCH", "SELECT")) or "CONCURRENTLY" in text or "VALIDATE" in text
    )


def contains(outer: Step, inner: Step) -> bool:
    return (
        outer is not inner
        and outer.start <= inner.start
        and inner.end <= outer.end
        and outer.seconds > inner.seconds
    )


def drawn(steps: Sequence[Step]) -> list[Step]:
    return [s for s in steps if s.kind != "sql" or s.seconds >= LONG_SQL]


def culprit(steps: Sequence[Step], start: float, end: float) -> Step | None:
    """The most specific step overlapping [start, end] most: a statement, a lock, a batch...
    before a helper or a revision, which overlap everything."""

    def overlap(step: Step) -> float:
        return max(0.0, min(end, step.end) - max(start, step.start))

    for kinds in (
        ("lock", "lock-wait", "swap", "index", "validate", "batch", "guard", "pause"),
        ("sql",),
        ("helper",),
        ("revision",),
    ):
        found = [s for s in steps if s.kind in kinds and overlap(s) > 0]
        if kinds == ("sql",):
            found = [s for s in found if s.seconds >= LONG_SQL]
        if found:
            return max(found, key=overlap)
    return None


def longest_stall(samples: Sequence[Sample], start: float, end: float) -> tuple[float, float]:
    """The longest stretch in [start, end] with no successful answer."""
    answered = sorted(s.answered for s in samples if s.ok and start <= s.answered <= end)
    points = [start, *answered, end]
    return max(itertools.pairwise(points), key=lambda pair: pair[1] - pair[0])


def stall(samples: Sequence[Sample], steps: Sequence[Step], start: float, end: float) -> Stall:
    first, last = longest_stall(samples, start, end)
    return Stall(first, last, culprit(steps, first, last))


def slowest(samples: Sequence[Sample], steps: Sequence[Step]) -> Step | None:
    """The step the slowest request waited through."""
    worst = max(samples, key=lambda s: s.latency, default=None)
    return None if worst is None else culprit(steps, worst.sent, worst.answered)


def outside(steps: Sequence[Step], start: float) -> str:
    """What ran at `start` when no step did: the command starting, or finishing."""
    if not steps or start < min(step.start for step in steps):
        return "no step yet: `make migrate` starting (imports, connecting)"
    return "no step: `make migrate` finishing"


def _p99_per_second(samples: Sequence[Sample], origin: float) -> tuple[list[float], list[float]]:
    buckets: dict[int, list[float]] = {}
    for sample in samples:
        buckets.setdefault(int(sample.sent - origin), []).append(sample.latency)
    xs, ys = [], []
    for second in sorted(buckets):
        values = sorted(buckets[second])
        xs.append(second + 0.5)
        ys.append(values[min(len(values) - 1, int(0.99 * len(values)))] * 1000)
    return xs, ys


def draw(
    path: Path,
    *,
    title: str,
    samples: Sequence[Sample],
    steps: Sequence[Step],
    started: float,
    finished: float,
) -> None:
    """The PNG: latency above, migration steps below, seconds from the migration's start."""
    figure, (top, bottom) = plt.subplots(
        2, 1, figsize=(13, 7.5), sharex=True, gridspec_kw={"height_ratios": [3, 2]}
    )
    ok = [s for s in samples if s.ok]
    failed = [s for s in samples if not s.ok]
    top.scatter(
        [s.sent - started for s in ok], [max(s.latency, 1e-4) * 1000 for s in ok],
        s=2, color="#1565c0", alpha=0.35, linewidths=0, label="request (ok)",
    )  # fmt: skip
    if failed:
        top.scatter(
            [s.sent - started for s in failed], [s.latency * 1000 for s in failed],
            s=14, color="#d32f2f", marker="x", label=f"failed ({len(failed)})",
        )  # fmt: skip
    xs, ys = _p99_per_second(samples, started)
    top.plot(xs, ys, color="#212121", linewidth=1, label="p99 per second")
    top.axhline(TARGET * 1000, color="#d32f2f", linestyle="--", linewidth=0.8, label="100 ms")
    for step in steps:
        if step.kind in ("lock", "swap") or blocking_statement(step):
            top.axvspan(step.start - started, step.end - started, color="#ef9a9a", alpha=0.25)
    top.axvline(0, color="#424242", linewidth=0.8)
    top.axvline(finished - started, color="#424242", linewidth=0.8)
    top.set_yscale("log")
    top.set_ylim(0.5, 10_000)
    top.set_ylabel("latency (ms)")
    top.set_title(title, fontsize=10, loc="left")
    top.legend(loc="upper left", fontsize=7, markerscale=3, ncol=4)
    top.grid(True, which="major", axis="y", alpha=0.3)

    shown = drawn(steps)
    window = max(finished - started, 1.0)
    for lane, (_, kinds) in enumerate(LANES):
        middle = len(LANES) - 1 - lane
        in_lane = [s for s in shown if s.kind in kinds]
        # A helper called by another (backfill inside change_column_type) gets a row below it.
        depths = [
            sum(1 for o in in_lane if contains(o, step)) if "helper" in kinds else 0
            for step in in_lane
        ]
        height = 0.7 / (1 + max(depths, default=0))
        for step, depth in zip(in_lane, depths, strict=True):
            color = COLORS.get(step.kind, "#757575")
            if step.kind == "lock-wait" and not step.detail.get("acquired", True):
                color = "#ff7043"
            width = max(step.seconds, window / 1500)
            y = middle + 0.35 - height * (depth + 0.5)
            bottom.broken_barh(
                [(step.start - started, width)], (y - height / 2, height),
                facecolor=color, linewidth=0.4,
                edgecolor="white" if step.seconds > window / 100 else "none",
            )  # fmt: skip
            # As much of the name as fits in the bar (about window / 240 seconds a character).
            fits = int(step.seconds / (window / 240)) - 1
            if fits >= 8 and step.kind not in ("batch", "lock-wait"):
                name = step.name if len(step.name) <= fits else step.name[: fits - 3] + "..."
                bottom.text(
                    step.start - started + window / 400, y, name,
                    va="center", fontsize=6.5, clip_on=True,
                )  # fmt: skip
    bottom.set_yticks(range(len(LANES)), [label for label, _ in reversed(LANES)], fontsize=8)
    bottom.set_ylim(-0.6, len(LANES) - 0.4)
    bottom.set_xlabel("seconds from the start of `make migrate`")
    bottom.grid(True, axis="x", alpha=0.3)
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)
