"""A backfill that shares the machine: batch size from batch time, rest from the duty cycle,
a guard that rests while the app's sessions wait on locks."""

import itertools
import statistics
import time
from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy.engine import URL

from migration_toolkit import online
from migration_toolkit.online.backfill import Pace
from tests.storage.online_support import Session, holding, run_ops, steps_of
from tests.support import pg

ROWS = 30_000


@pytest.fixture
def url(new_database: Callable[[], URL]) -> URL:
    url = new_database()
    pg.execute(
        url,
        "CREATE TABLE item (id serial PRIMARY KEY, code integer, label text)",
        f"INSERT INTO item (code) SELECT i FROM generate_series(1, {ROWS}) AS i",
    )
    return url


def test_pace_follows_the_batch_time_within_a_factor_of_two() -> None:
    pace = Pace(size=1_000, batch_time=0.1, duty_cycle=0.25, pause=0.0)
    assert pace.after(0.05) == pytest.approx(0.15)  # rests 3x the batch at a 25% duty cycle
    assert pace.size == 2_000
    pace.after(0.001)  # far too fast: doubles, no more
    assert pace.size == 4_000
    pace.after(0.4)
    assert pace.size == 2_000
    pace.after(0.125)
    assert pace.size == 1_600
    fixed = Pace(size=500, batch_time=None, duty_cycle=1.0, pause=0.01)
    assert fixed.after(0.3) == 0.01 and fixed.size == 500


def backfill_steps(url: URL, rows: int, **pace: Any) -> list[online.Step]:
    steps, stop = steps_of(["batch", "pause"])
    try:
        done = run_ops(
            url,
            lambda: online.backfill(
                "item", "label = md5(code::text)", where="label IS NULL", **pace
            ),
        )
    finally:
        stop()
    assert done == rows
    assert pg.fetch(url, "SELECT count(*) AS n FROM item WHERE label IS NULL")[0]["n"] == 0
    return steps


def sizes(steps: list[online.Step]) -> list[int]:
    return [step.detail["size"] for step in steps if step.kind == "batch" and step.detail["rows"]]


def test_batches_grow_while_faster_than_the_batch_time(url: URL) -> None:
    # Any batch here takes far less than 10 s: each doubles the next, no more.
    steps = backfill_steps(url, ROWS, batch_size=100, batch_time=10.0, duty_cycle=1.0)
    assert sizes(steps)[:5] == [100, 200, 400, 800, 1_600]
    assert not [step for step in steps if step.kind == "pause"]


def test_batches_shrink_while_slower_and_rest_in_proportion(url: URL) -> None:
    # Any batch takes more than a microsecond: each halves the next, down to one row.
    pg.execute(url, f"UPDATE item SET label = 'done' WHERE id <= {ROWS - 200}")
    steps = backfill_steps(url, 200, batch_size=64, batch_time=1e-6, duty_cycle=0.5)
    assert sizes(steps)[:8] == [64, 32, 16, 8, 4, 2, 1, 1]
    ratios = [
        rest.seconds / batch.seconds
        for batch, rest in itertools.pairwise(steps)
        if batch.kind == "batch" and rest.kind == "pause"
    ]
    # At a 50% duty cycle the rest lasts as long as the batch before it (sleep may overshoot).
    assert len(ratios) > 50
    assert min(ratios) > 0.8 and 0.8 < statistics.median(ratios) < 1.5


def test_the_guard_rests_while_an_app_session_waits_on_a_lock(url: URL) -> None:
    steps, stop = steps_of(["guard", "batch"])
    try:
        with (
            Session(url, holding("SELECT * FROM item WHERE id = 1 FOR UPDATE", 2.0)),
            Session(url, holding("UPDATE item SET code = 0 WHERE id = 1", 0.0)),
        ):
            time.sleep(0.5)  # the second session now waits for the first one's row lock
            run_ops(
                url,
                lambda: online.backfill(
                    "item",
                    "label = 'x'",
                    where="label IS NULL AND id > 1",
                    guard=online.Guard(max_lock_wait=0.2, max_replication_lag=10.0),
                ),
            )
    finally:
        stop()
    guards = [step for step in steps if step.kind == "guard"]
    assert len(guards) == 1
    assert guards[0].name.startswith("a session has waited ")
    assert 0.5 < guards[0].seconds < 3.0
    first_batch = next(step for step in steps if step.kind == "batch")
    assert first_batch.start >= guards[0].end
