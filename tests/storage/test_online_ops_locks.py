"""Strong locks taken briefly (short_lock), and the steps the helpers report, on a real Postgres."""

import time
from collections.abc import Callable

import pytest
import sqlalchemy as sa
from alembic import op
from sqlalchemy.engine import URL
from sqlalchemy.exc import DBAPIError

from migration_toolkit import online
from migration_toolkit.errors import LOCK_NOT_AVAILABLE, causes
from migration_toolkit.online.locks import AutocommitError
from tests.storage.online_support import Session, holding, not_null, probing, run_ops, steps_of
from tests.support import pg

# An app transaction that keeps the table locked (a long read) for this long.
HELD = 1.5


@pytest.fixture
def url(new_database: Callable[[], URL]) -> URL:
    url = new_database()
    pg.execute(
        url,
        "CREATE TABLE item (id serial PRIMARY KEY, code integer)",
        "INSERT INTO item (code) SELECT i FROM generate_series(1, 1000) AS i",
    )
    return url


def worst_read_while_altering(url: URL, timeout: float) -> tuple[float, list[online.Step]]:
    """A long app transaction holds a read lock on item; meanwhile the app keeps reading it
    (every 20 ms) and set_not_null runs: the slowest of those reads, and the lock steps."""
    latencies: list[float] = []
    steps, stop = steps_of(["lock", "lock-wait"])
    try:
        with (
            Session(url, holding("SELECT count(*) FROM item", HELD)),
            Session(url, probing("SELECT code FROM item WHERE id = 7", latencies)),
        ):
            time.sleep(0.2)  # the long transaction holds its lock

            def upgrade() -> None:
                with online.short_lock("item", timeout=timeout):
                    op.alter_column("item", "code", nullable=False)

            run_ops(url, upgrade)
    finally:
        stop()
    return max(latencies), steps


def test_a_waiting_alter_never_queues_the_app_for_long(url: URL) -> None:
    worst, steps = worst_read_while_altering(url, timeout=0.05)
    assert not_null(url, "item", "code")
    waits = [step for step in steps if step.kind == "lock-wait"]
    # Given up while the long transaction held its lock, then taken once it ended.
    assert [step.detail["acquired"] for step in waits][-1] is True
    assert not any(step.detail["acquired"] for step in waits[:-1]) and len(waits) > 1
    assert all(step.seconds < 0.5 for step in waits)
    assert worst < 0.5, f"a read waited {worst:.2f} s behind the ALTER"
    (held,) = [step for step in steps if step.kind == "lock"]
    assert held.name == "ACCESS EXCLUSIVE on item" and held.seconds < 0.5


def test_the_same_alter_waiting_long_queues_the_app_behind_it(url: URL) -> None:
    """The contrast: one attempt allowed to wait seconds blocks every read that comes after."""
    worst, _ = worst_read_while_altering(url, timeout=5.0)
    assert not_null(url, "item", "code")
    assert worst > HELD / 2


def test_short_lock_gives_up_with_a_lock_timeout_and_changes_nothing(url: URL) -> None:
    def upgrade() -> None:
        with online.short_lock("item", timeout=0.02, attempts=3):
            op.add_column("item", sa.Column("note", sa.Text()))

    with (
        Session(url, holding("LOCK TABLE item IN ACCESS SHARE MODE", 3.0)),
        pytest.raises(DBAPIError) as raised,
    ):
        time.sleep(0.2)  # the lock is taken
        run_ops(url, upgrade)
    assert any(
        getattr(link, "sqlstate", None) == LOCK_NOT_AVAILABLE for link in causes(raised.value)
    )
    assert "note" not in pg.columns(url, "item")


def test_short_lock_commits_what_came_before_and_the_block(url: URL) -> None:
    def upgrade() -> None:
        op.execute("INSERT INTO item (code) VALUES (-1)")
        with online.short_lock("item", mode="share row exclusive"):
            op.add_column("item", sa.Column("note", sa.Text()))
        raise RuntimeError("a later step fails")

    with pytest.raises(RuntimeError):
        run_ops(url, upgrade)
    assert "note" in pg.columns(url, "item")
    assert pg.fetch(url, "SELECT count(*) AS n FROM item WHERE code = -1")[0]["n"] == 1


def test_short_lock_refuses_an_autocommit_block_and_an_unknown_mode(url: URL) -> None:
    def inside_autocommit() -> None:
        with op.get_context().autocommit_block(), online.short_lock("item"):
            pass

    with pytest.raises(AutocommitError):
        run_ops(url, inside_autocommit)

    def unknown_mode() -> None:
        with online.short_lock("item", mode="EVERYTHING"):
            pass

    with pytest.raises(ValueError, match="unknown lock mode 'EVERYTHING'"):
        run_ops(url, unknown_mode)


def test_helpers_report_their_steps(url: URL) -> None:
    pg.execute(url, "ALTER TABLE item ADD COLUMN label text")
    steps, stop = steps_of(["helper", "batch", "pause", "lock", "lock-wait", "validate", "index"])
    try:

        def upgrade() -> None:
            online.backfill(
                "item",
                "label = code::text",
                where="label IS NULL",
                batch_size=300,
                batch_time=None,
                duty_cycle=0.5,
            )
            online.set_not_null("item", "label")
            online.create_index_concurrently("ix_item_label", "item", ["label"])

        run_ops(url, upgrade)
    finally:
        stop()
    kinds = [step.kind for step in steps]
    assert [step.name for step in steps if step.kind == "helper"] == [
        "backfill item",
        "set_not_null item.label",
    ]
    batches = [step for step in steps if step.kind == "batch"]
    assert [step.detail["rows"] for step in batches] == [300, 300, 300, 100, 0]
    assert batches[0].name == "item id > 0" and batches[1].name == "item id > 300"
    assert kinds.count("lock") == 2 and kinds.count("validate") == 1
    assert steps[-1].kind == "index" and steps[-1].name == "create ix_item_label"
    assert all(step.ok and step.end >= step.start for step in steps)
