"""change_column_type against a real Postgres, with another session writing while it runs."""

import asyncio
import random
import threading
from collections.abc import Callable

import asyncpg
import pytest
import sqlalchemy as sa
from alembic import op
from sqlalchemy.engine import URL

from migration_toolkit import online
from tests.storage.online_support import (
    Session,
    constraint_validated,
    index_valid,
    not_null,
    relfilenode,
    run_ops,
    steps_of,
)
from tests.support import pg

ROWS = 20_000
OWNERS = 10


@pytest.fixture
def url(new_database: Callable[[], URL]) -> URL:
    """`item` with what usually hangs on a column: NOT NULL, a foreign key, an index, a
    unique constraint, a default, a comment."""
    url = new_database()
    pg.execute(
        url,
        "CREATE TABLE owner (id integer PRIMARY KEY)",
        f"INSERT INTO owner SELECT generate_series(1, {OWNERS})",
        "CREATE TABLE item (id serial PRIMARY KEY, owner_id integer NOT NULL DEFAULT 1 "
        "CONSTRAINT fk_item_owner_id_owner REFERENCES owner (id) ON DELETE CASCADE, "
        "code integer CONSTRAINT uq_item_code UNIQUE, label text)",
        "CREATE INDEX ix_item_owner_id ON item (owner_id DESC) INCLUDE (label)",
        "COMMENT ON COLUMN item.owner_id IS 'who owns it'",
        f"INSERT INTO item (owner_id, code, label) SELECT 1 + i % {OWNERS}, i, i::text "
        f"FROM generate_series(1, {ROWS}) AS i",
    )
    return url


def column_type(url: URL, table: str, column: str) -> str:
    rows = pg.fetch(
        url,
        "SELECT format_type(atttypid, atttypmod) AS t FROM pg_attribute "
        "WHERE attrelid = to_regclass($1) AND attname = $2 AND NOT attisdropped",
        table,
        column,
    )
    return str(rows[0]["t"])


def definition(url: URL, constraint: str) -> str:
    rows = pg.fetch(
        url,
        "SELECT pg_get_constraintdef(oid) AS d FROM pg_constraint WHERE conname = $1",
        constraint,
    )
    return str(rows[0]["d"])


class Writer:
    """The app: inserts rows and moves existing ones to other owners until stopped, and
    remembers the owner each row should have."""

    def __init__(self) -> None:
        self.expected: dict[int, int] = {}
        self.writes = 0
        self.rng = random.Random(15)

    async def __call__(self, connection: asyncpg.Connection, stop: threading.Event) -> None:
        while not stop.is_set():
            owner = self.rng.randint(1, OWNERS)
            if self.rng.random() < 0.5:
                new_id = await connection.fetchval(
                    "INSERT INTO item (owner_id, label) VALUES ($1, 'new') RETURNING id", owner
                )
            else:
                # Rows the backfill has passed and rows it has not reached yet alike.
                new_id = await connection.fetchval(
                    "UPDATE item SET owner_id = $1 WHERE id = $2 RETURNING id",
                    owner,
                    self.rng.randint(1, ROWS),
                )
            self.expected[int(new_id)] = owner
            self.writes += 1
            await asyncio.sleep(0.002)


def test_type_changed_online_while_another_session_writes(url: URL) -> None:
    before = relfilenode(url, "item")
    writer = Writer()
    steps, stop = steps_of(["helper", "batch", "swap", "index", "lock"])
    try:
        with Session(url, writer):

            def upgrade() -> None:
                online.change_column_type(
                    "item", "owner_id", sa.BigInteger(), batch_size=2_000, duty_cycle=0.5
                )

            run_ops(url, upgrade)
            writes_during = writer.writes
    finally:
        stop()
    assert writes_during > 50, "the writer should have written while the change ran"

    assert column_type(url, "item", "owner_id") == "bigint"
    assert relfilenode(url, "item") == before  # no rewrite
    rows = {r["id"]: r for r in pg.fetch(url, "SELECT id, owner_id, code FROM item")}
    assert len(rows) == ROWS + sum(1 for key in writer.expected if key > ROWS)
    stale = {
        key: (rows[key]["owner_id"], owner)
        for key, owner in writer.expected.items()
        if rows[key]["owner_id"] != owner
    }
    assert not stale, f"rows whose last write was lost: {list(stale.items())[:5]}"
    untouched = [key for key in range(1, ROWS + 1) if key not in writer.expected]
    assert all(rows[key]["owner_id"] == 1 + key % OWNERS for key in untouched[:2_000])

    # What hung on the old column hangs on the new one, under the same names.
    assert not_null(url, "item", "owner_id")
    assert pg.columns(url, "item")["owner_id"]["column_default"] == "1"
    assert "_new_owner_id" not in pg.columns(url, "item")
    assert index_valid(url, "ix_item_owner_id") is True
    assert pg.indexes(url, "item")["ix_item_owner_id"] == (
        "CREATE INDEX ix_item_owner_id ON public.item USING btree (owner_id DESC) INCLUDE (label)"
    )
    assert constraint_validated(url, "item", "fk_item_owner_id_owner") is True
    assert definition(url, "fk_item_owner_id_owner") == (
        "FOREIGN KEY (owner_id) REFERENCES owner(id) ON DELETE CASCADE"
    )
    comments = pg.fetch(
        url,
        "SELECT col_description(attrelid, attnum) AS c FROM pg_attribute "
        "WHERE attrelid = 'item'::regclass AND attname = 'owner_id'",
    )
    assert comments[0]["c"] == "who owns it"
    triggers = "SELECT tgname FROM pg_trigger WHERE tgrelid = 'item'::regclass AND NOT tgisinternal"
    assert pg.fetch(url, triggers) == []
    with pytest.raises(asyncpg.ForeignKeyViolationError):
        pg.execute(url, "INSERT INTO item (owner_id) VALUES (99)")

    kinds = [step.kind for step in steps]
    assert kinds.count("swap") == 1 and "batch" in kinds
    (swap,) = [step for step in steps if step.kind == "swap"]
    assert swap.seconds < 1.0
    assert steps[-1].name == "change_column_type item.owner_id to BIGINT"


def test_a_unique_column_with_a_conversion_and_the_mirrored_downgrade(url: URL) -> None:
    pg.execute(url, "UPDATE item SET label = NULL WHERE id % 100 = 0")

    run_ops(
        url, lambda: online.change_column_type("item", "label", "integer", using="label::integer")
    )
    assert column_type(url, "item", "label") == "integer"
    assert pg.fetch(url, "SELECT label FROM item WHERE id = 42")[0]["label"] == 42
    assert (
        pg.fetch(url, "SELECT count(*) AS n FROM item WHERE label IS NULL")[0]["n"] == ROWS // 100
    )

    run_ops(url, lambda: online.change_column_type("item", "code", "bigint"))
    assert column_type(url, "item", "code") == "bigint"
    assert definition(url, "uq_item_code") == "UNIQUE (code)"
    with pytest.raises(asyncpg.UniqueViolationError):
        pg.execute(url, "INSERT INTO item (code) VALUES (7)")

    # The downgrade: the same call with the old type.
    run_ops(url, lambda: online.change_column_type("item", "code", "integer"))
    assert column_type(url, "item", "code") == "integer"
    assert definition(url, "uq_item_code") == "UNIQUE (code)"


def test_run_again_when_done_it_does_nothing(url: URL) -> None:
    run_ops(url, lambda: online.change_column_type("item", "code", "bigint"))
    steps, stop = steps_of(["batch", "lock"])
    try:
        run_ops(url, lambda: online.change_column_type("item", "code", "bigint"))
    finally:
        stop()
    assert steps == []


class Interrupted(Exception):
    pass


def interrupt_after_first_batch(_: online.Progress) -> None:
    raise Interrupted


def test_interrupted_then_resumed_or_abandoned(url: URL) -> None:
    def first_attempt() -> None:
        online.change_column_type(
            "item", "owner_id", "bigint", batch_size=500, progress=interrupt_after_first_batch
        )

    with pytest.raises(Interrupted):
        run_ops(url, first_attempt)
    assert column_type(url, "item", "_new_owner_id") == "bigint"
    # Meanwhile the app writes: the trigger keeps the new column in step.
    pg.execute(url, "UPDATE item SET owner_id = 3 WHERE id = 19000")
    assert pg.fetch(url, "SELECT _new_owner_id FROM item WHERE id = 19000")[0]["_new_owner_id"] == 3

    with pytest.raises(online.UnsupportedColumn, match="abandon_column_type_change"):
        run_ops(url, lambda: online.change_column_type("item", "owner_id", "numeric"))

    run_ops(url, lambda: online.change_column_type("item", "owner_id", "bigint"))
    assert column_type(url, "item", "owner_id") == "bigint"
    assert pg.fetch(url, "SELECT owner_id FROM item WHERE id = 19000")[0]["owner_id"] == 3

    with pytest.raises(Interrupted):
        run_ops(
            url,
            lambda: online.change_column_type(
                "item", "code", "bigint", batch_size=500, progress=interrupt_after_first_batch
            ),
        )
    run_ops(url, lambda: online.abandon_column_type_change("item", "code"))
    assert "_new_code" not in pg.columns(url, "item")
    assert column_type(url, "item", "code") == "integer"
    assert (
        pg.fetch(url, "SELECT count(*) AS n FROM pg_proc WHERE proname LIKE 'item_%_retype'")[0][
            "n"
        ]
        == 0
    )
    pg.execute(url, "INSERT INTO item (code) VALUES (-5)")


def test_what_cannot_be_carried_over_is_refused_before_any_change(url: URL) -> None:
    pg.execute(url, "CREATE VIEW item_codes AS SELECT code FROM item")
    with pytest.raises(online.UnsupportedColumn, match="view item_codes depends on the column"):
        run_ops(url, lambda: online.change_column_type("item", "code", "bigint"))
    assert "_new_code" not in pg.columns(url, "item")

    with pytest.raises(online.UnsupportedColumn, match="the primary key"):
        run_ops(url, lambda: online.change_column_type("item", "id", "bigint"))
    pg.execute(
        url,
        "ALTER TABLE owner ADD COLUMN alt integer UNIQUE",
        "ALTER TABLE item ADD COLUMN alt integer REFERENCES owner (alt)",
    )
    with pytest.raises(online.UnsupportedColumn, match="item_alt_fkey on table item depends"):
        run_ops(url, lambda: online.change_column_type("owner", "alt", "bigint"))
    pg.execute(url, "CREATE INDEX ix_item_lower ON item (lower(label))")
    with pytest.raises(online.UnsupportedColumn, match="ix_item_lower"):
        run_ops(url, lambda: online.change_column_type("item", "label", "varchar(20)"))
    with pytest.raises(ValueError, match="knows no type 'bgint'"):
        run_ops(url, lambda: online.change_column_type("item", "code", "bgint"))
    assert column_type(url, "item", "code") == "integer"


def test_the_naive_type_change_rewrites_the_table(url: URL) -> None:
    """The contrast (and what keeps the no-rewrite check above honest)."""
    before = relfilenode(url, "item")
    run_ops(url, lambda: op.alter_column("item", "code", type_=sa.BigInteger()))
    assert relfilenode(url, "item") != before
