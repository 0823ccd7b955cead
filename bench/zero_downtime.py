"""Benchmark 1: schema changes on a 1,000,000-row table under load, naive vs online.

The rate is this machine's own: first the highest rate the service sustains with p99 <= 50 ms
(calibrate.py), then each scenario at FRACTION of it (BENCH_RATE=<requests/s> sets it instead).
For each scenario the service runs under uvicorn on 127.0.0.1, bench/load.py sends the load
from a process of its own, and `make migrate` applies one revision meanwhile, writing its steps
to an event log; the report gives the figures, a timeline PNG each, and the step each scenario's
longest stall and slowest request overlapped.
"""

import os
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from bench import timeline
from bench.calibrate import TARGET_P99, Calibration, percentile, sustainable_rate
from bench.common import RESULTS, Project, head_of, pg, scratch, server, table, write_report
from bench.scenarios import EXTRA, SCENARIOS, Scenario, write_revision
from bench.service import (
    AUTHORS,
    BOOKS,
    clone,
    read_samples,
    start_load,
    start_service,
    stop,
)
from migration_toolkit.online import events

FRACTION = float(os.environ.get("BENCH_FRACTION", "0.5"))
WARMUP = 5.0  # seconds of load before the migration starts: the baseline
COOLDOWN = 3.0  # seconds of load after it ends
MIGRATE_TIMEOUT = 600


@dataclass
class Outcome:
    scenario: Scenario
    requests: int
    failed: int
    p50: float
    p99: float
    worst: float
    stall: timeline.Stall
    slowest_step: events.Step | None
    slowest_at: float
    steps_seen: list[events.Step]
    migration: float
    baseline_p99: float
    baseline_failed: int
    migrated: bool
    picture: str

    @property
    def met(self) -> bool:
        return self.failed == 0 and self.p99 <= 0.100 and self.stall.seconds <= 1.0


def seed(folder: Path, found: pg.Server) -> Project:
    """A database at head with AUTHORS authors and BOOKS books: the template for each run."""
    project = scratch(folder, found, "seed")
    result = project.make("migrate")
    if result.returncode != 0:
        raise RuntimeError(f"seed migrate failed:\n{result.output}")
    pg.execute(
        project.database_url,
        f"INSERT INTO author (name) SELECT 'author ' || i FROM generate_series(1, {AUTHORS}) i",
        f"INSERT INTO book (title, author_id) SELECT 'Book ' || md5(i::text), 1 + i % {AUTHORS} "
        f"FROM generate_series(1, {BOOKS}) i",
        "VACUUM ANALYZE",
    )
    return project


def run_scenario(
    folder: Path, found: pg.Server, template: Project, scenario: Scenario, rate: float, tag: str
) -> Outcome:
    project = scratch(folder, found, scenario.name.replace("-", "_"))
    clone(found, template, project)
    revision = write_revision(project, scenario, head_of(project))
    event_log = folder / f"{scenario.name}-events.jsonl"
    project.env["MIGRATION_EVENT_LOG"] = str(event_log)
    port = pg.free_port()
    samples_file = folder / f"{scenario.name}.jsonl"
    with (folder / f"{scenario.name}-service.log").open("wb") as service_log:
        service = start_service(project, port, service_log)
        load = start_load(port, rate, MIGRATE_TIMEOUT, samples_file)
        try:
            load_started = time.time()
            time.sleep(WARMUP)
            started = time.time()
            result = project.make("migrate", timeout=MIGRATE_TIMEOUT)
            finished = time.time()
            time.sleep(COOLDOWN)
        finally:
            stop(load, service)
    tracebacks = (folder / f"{scenario.name}-service.log").read_text(errors="replace")
    print(result.stderr, file=sys.stderr)
    print(
        f"{scenario.name}: migrate exit {result.returncode}, "
        f"{tracebacks.count('Traceback')} tracebacks in the service log",
        file=sys.stderr,
        flush=True,
    )
    samples = read_samples(samples_file)
    steps = events.read(event_log)
    during = [s for s in samples if started <= s.sent <= finished]
    before = [s for s in samples if load_started + 1 <= s.sent < started]
    latencies = [s.latency for s in during]
    url = project.database_url
    migrated = result.returncode == 0 and list(pg.version(url)) == [revision]
    pg.drop_database(found, url)
    picture = f"timeline_{scenario.name}{tag}.png"
    outcome = Outcome(
        scenario=scenario,
        requests=len(during),
        failed=sum(1 for s in during if not s.ok),
        p50=percentile(latencies, 0.50),
        p99=percentile(latencies, 0.99),
        worst=max(latencies, default=0.0),
        stall=timeline.stall(samples, steps, started, finished),
        slowest_step=timeline.slowest(during, steps),
        slowest_at=max(during, key=lambda s: s.latency).sent if during else started,
        steps_seen=steps,
        migration=finished - started,
        baseline_p99=percentile([s.latency for s in before], 0.99),
        baseline_failed=sum(1 for s in before if not s.ok),
        migrated=migrated,
        picture=picture,
    )
    RESULTS.mkdir(parents=True, exist_ok=True)
    timeline.draw(
        RESULTS / picture,
        title=title(outcome, rate),
        samples=[s for s in samples if s.sent >= load_started + 1],
        steps=steps,
        started=started,
        finished=finished,
    )
    return outcome


def ms(seconds: float) -> str:
    return f"{seconds * 1000:,.0f}"


def title(o: Outcome, rate: float) -> str:
    return (
        f"{o.scenario.name} ({o.scenario.change}), {rate:g} requests/s: {o.failed} failed of "
        f"{o.requests}, p99 {ms(o.p99)} ms, max {ms(o.worst)} ms, longest stall "
        f"{ms(o.stall.seconds)} ms; migration {o.migration:.1f} s"
    )


def step_words(step: events.Step | None, steps: list[events.Step], at: float) -> str:
    if step is None:
        return timeline.outside(steps, at)
    return f"{step.kind} `{step.name[:70]}` ({step.seconds:.2f} s)"


def calibration_lines(calibration: Calibration | None, rate: float) -> list[str]:
    if calibration is None:
        return [
            f"Rate: **{rate:g} requests/s**, set by BENCH_RATE (no calibration run).",
            "",
        ]
    probes = ", ".join(
        f"{p.rate:g}/s: p99 {ms(p.p99)} ms{'' if p.kept_up else ' (no)'}"
        for p in calibration.probes
    )
    return [
        f"Rate: **{rate:g} requests/s**, {FRACTION:.0%} of the **{calibration.rate:g} "
        f"requests/s** this machine sustained before any migration (the highest probed rate "
        f"with p99 <= {TARGET_P99 * 1000:.0f} ms and no failure; probes of 6 s: {probes}).",
        "",
    ]


def overload_note(outcomes: list[Outcome], rate: float) -> list[str]:
    """The figures mean nothing when the service could not keep up before the migration."""
    overloaded = [o.scenario.name for o in outcomes if o.baseline_failed or o.baseline_p99 > 0.1]
    if not overloaded:
        return []
    return [
        f"**Caution**: before the migration started ({', '.join(overloaded)}) the service "
        f"already missed the target at {rate:g} requests/s (p99 before above 100 ms or failed "
        "requests): the machine was busier than during calibration (other processes), so these "
        "figures show overload, not the migration. Re-run on a quiet machine.",
        "",
    ]


def report(
    outcomes: list[Outcome], rate: float, calibration: Calibration | None, seconds: float
) -> str:
    rows = [
        [
            o.scenario.name,
            o.scenario.change,
            o.requests,
            o.failed,
            ms(o.p50),
            ms(o.p99),
            ms(o.worst),
            ms(o.stall.seconds),
            f"{o.migration:.1f}",
            ms(o.baseline_p99),
            "yes" if o.migrated else "NO",
            ("met" if o.met else "NOT met") if o.scenario.online else "-",
        ]
        for o in outcomes
    ]
    header = ["scenario", "change", "requests", "failed", "p50", "p99", "max"]
    header += ["longest stall", "migration s", "p99 before", "applied", "target"]
    where = [
        [
            o.scenario.name,
            step_words(o.stall.culprit, o.steps_seen, o.stall.start),
            step_words(o.slowest_step, o.steps_seen, o.slowest_at),
        ]
        for o in outcomes
    ]
    code: list[str] = []
    for o in outcomes:
        code += [f"# {o.scenario.name}", o.scenario.upgrade, ""]
    pictures = [f"![{o.scenario.name}]({o.picture})" for o in outcomes]
    return "\n".join(
        [
            "# Zero downtime under load",
            "",
            f"`book` with {BOOKS:,} rows, the service under uvicorn (one worker, 127.0.0.1), "
            "the load from bench/load.py (60% GET one book, 15% list by author, 15% POST, "
            "10% PATCH; open loop, 5 s client timeout). Figures cover the requests sent while "
            "`make migrate` ran; latency in ms from the scheduled send time. Target for the "
            "online versions: 0 failed, p99 <= 100 ms, no stall over 1 s.",
            "",
            *calibration_lines(calibration, rate),
            table(header, rows),
            "",
            *overload_note(outcomes, rate),
            "Where the time went (from each run's event log, `MIGRATION_EVENT_LOG`): the step "
            "that overlapped the longest stall most, and the one the slowest request waited "
            "through.",
            "",
            table(["scenario", "longest stall during", "slowest request during"], where),
            "",
            "Timelines (latency above, the migration's steps below; shaded red: a strong "
            "lock held, or a statement over 200 ms that blocks writes):",
            "",
            *pictures,
            "",
            "The revisions' `upgrade()`:",
            "",
            "```python",
            *code,
            "```",
            "",
            f"Run took {seconds:.0f} s on {os.cpu_count()} cores. Re-run: "
            "`make bench which=load` (`BENCH_RATE=<requests/s>` for a fixed rate, "
            "`BENCH_FRACTION=0.5` for another share of the measured one).",
            "",
        ]
    )


def chosen_scenarios() -> list[Scenario]:
    wanted = os.environ.get("BENCH_SCENARIOS")
    if not wanted:
        return SCENARIOS
    names = {name.strip() for name in wanted.split(",")}
    return [s for s in [*SCENARIOS, *EXTRA] if s.name in names]


def main() -> str:
    began = time.monotonic()
    fixed = os.environ.get("BENCH_RATE")
    with server() as found, tempfile.TemporaryDirectory(prefix="bench-load-") as tmp:
        folder = Path(tmp)
        print(f"seeding {BOOKS:,} books ...", file=sys.stderr, flush=True)
        template = seed(folder, found)
        calibration = None
        if fixed:
            rate = float(fixed)
        else:
            print("measuring the rate this machine sustains ...", file=sys.stderr, flush=True)
            calibration = sustainable_rate(folder, found, template)
            rate = max(1.0, round(calibration.rate * FRACTION))
        print(f"scenarios at {rate:g} requests/s", file=sys.stderr, flush=True)
        tag = f"_{rate:g}rps" if fixed else ""
        outcomes = []
        for scenario in chosen_scenarios():
            print(f"scenario {scenario.name} ...", file=sys.stderr, flush=True)
            outcomes.append(run_scenario(folder, found, template, scenario, rate, tag))
        pg.drop_database(found, template.database_url)
    text = report(outcomes, rate, calibration, time.monotonic() - began)
    write_report(f"zero_downtime{tag}.md", text)
    return text


if __name__ == "__main__":
    print(main())
