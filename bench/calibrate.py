"""The rate this machine sustains: the highest at which the service keeps p99 <= 50 ms.

Short probes at rising rates (doubling while it keeps up, then halving the gap a few times),
on a database of its own cloned from the seeded template, with no migration running. The
scenarios then run at a stated fraction of it, so their figures mean the same on a fast or a
slow machine: the service has headroom, and what eats it is the migration.
"""

import sys
import time
from dataclasses import dataclass
from pathlib import Path

from bench.common import Project, pg, scratch
from bench.service import clone, read_samples, start_load, start_service, stop

TARGET_P99 = 0.050  # seconds
PROBE_SECONDS = 6.0
SETTLE = 1.0  # seconds at the start of a probe left out (connections opening)
FIRST_RATE = 25.0
MAX_RATE = 1_600.0
REFINE = 3  # halvings of the gap between the last good rate and the first bad one


@dataclass(frozen=True)
class Probe:
    rate: float
    requests: int
    failed: int
    p99: float

    @property
    def kept_up(self) -> bool:
        return self.failed == 0 and self.p99 <= TARGET_P99 and self.requests > 0


@dataclass(frozen=True)
class Calibration:
    rate: float  # the highest rate kept up with
    probes: list[Probe]


def percentile(values: list[float], share: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def probe(folder: Path, port: int, rate: float) -> Probe:
    out = folder / f"probe-{rate:g}.jsonl"
    started = time.time()
    load = start_load(port, rate, PROBE_SECONDS, out)
    try:
        load.wait(timeout=PROBE_SECONDS + 30)
    finally:
        stop(load)
    samples = [s for s in read_samples(out) if s.sent >= started + SETTLE]
    result = Probe(
        rate=rate,
        requests=len(samples),
        failed=sum(1 for s in samples if not s.ok),
        p99=percentile([s.latency for s in samples], 0.99),
    )
    verdict = "kept up" if result.kept_up else "did not keep up"
    print(
        f"  {rate:,.0f} requests/s: p99 {result.p99 * 1000:,.0f} ms, "
        f"{result.failed} failed: {verdict}",
        file=sys.stderr,
        flush=True,
    )
    return result


def sustainable_rate(folder: Path, found: pg.Server, template: Project) -> Calibration:
    project = scratch(folder, found, "calibrate")
    clone(found, template, project)
    port = pg.free_port()
    with (folder / "calibrate-service.log").open("wb") as log:
        service = start_service(project, port, log)
        try:
            probes = [probe(folder, port, FIRST_RATE)]
            while probes[-1].kept_up and probes[-1].rate < MAX_RATE:
                probes.append(probe(folder, port, probes[-1].rate * 2))
            good = max((p.rate for p in probes if p.kept_up), default=0.0)
            bad = min((p.rate for p in probes if not p.kept_up), default=good)
            for _ in range(REFINE if good else 0):
                if bad - good < 5:
                    break
                middle = round((good + bad) / 2)
                result = probe(folder, port, middle)
                probes.append(result)
                good, bad = (middle, bad) if result.kept_up else (good, middle)
        finally:
            stop(service)
    pg.drop_database(found, project.database_url)
    return Calibration(rate=good, probes=probes)
