"""The zero-downtime helpers against a real Postgres: catalog state, resumes, leftovers."""

from collections.abc import Callable

import pytest
import sqlalchemy as sa
from alembic import op
from sqlalchemy.engine import URL
from sqlalchemy.exc import DBAPIError, IntegrityError

from migration_toolkit import online
from tests.storage.online_support import (
    constraint_validated,
    index_valid,
    not_null,
    relfilenode,
    run_ops,
)
from tests.support import pg

ROWS = 20_000


@pytest.fixture
def url(new_database: Callable[[], URL]) -> URL:
    """A database with `owner` (10 rows) and `item` (ROWS rows, ids 1..ROWS)."""
    url = new_database()
    pg.execute(
        url,
        "CREATE TABLE owner (id integer PRIMARY KEY)",
        "INSERT INTO owner SELECT generate_series(1, 10)",
        "CREATE TABLE item (id serial PRIMARY KEY, owner_id integer NOT NULL, "
        "name text NOT NULL, code integer, label text)",
        f"INSERT INTO item (owner_id, name, code) SELECT 1 + i % 10, 'item ' || i, i "
        f"FROM generate_series(1, {ROWS}) AS i",
    )
    return url


def test_index_is_built_concurrently_and_valid(url: URL) -> None:
    def upgrade() -> str:
        op.execute("INSERT INTO owner VALUES (11)")
        before = op.get_bind().execute(sa.text("SHOW max_parallel_maintenance_workers")).scalar()
        online.create_index_concurrently("ix_item_name", "item", ["name"])
        # One core for the build (workers=0), the session's own setting again after it.
        after = op.get_bind().execute(sa.text("SHOW max_parallel_maintenance_workers")).scalar()
        assert after == before
        return str(after)

    assert run_ops(url, upgrade) != "0"
    assert index_valid(url, "ix_item_name") is True
    # IF NOT EXISTS: a second run (a re-applied revision) is harmless.
    run_ops(url, lambda: online.create_index_concurrently("ix_item_name", "item", ["name"]))
    assert "ix_item_name" in pg.indexes(url, "item")

    run_ops(url, lambda: online.drop_index_concurrently("ix_item_name", "item"))
    run_ops(url, lambda: online.drop_index_concurrently("ix_item_name", "item"))
    assert "ix_item_name" not in pg.indexes(url, "item")


def test_an_invalid_leftover_index_is_replaced(url: URL) -> None:
    pg.execute(url, "UPDATE item SET code = 1 WHERE id <= 2")
    with pytest.raises(Exception, match="could not create unique index"):
        pg.execute(url, "CREATE UNIQUE INDEX CONCURRENTLY ix_item_code ON item (code)")
    assert index_valid(url, "ix_item_code") is False

    pg.execute(url, "UPDATE item SET code = id")
    run_ops(
        url, lambda: online.create_index_concurrently("ix_item_code", "item", ["code"], unique=True)
    )
    assert index_valid(url, "ix_item_code") is True
    with pytest.raises(Exception, match="duplicate key"):
        pg.execute(url, "UPDATE item SET code = 1 WHERE id = 2")


def test_partial_index(url: URL) -> None:
    run_ops(
        url,
        lambda: online.create_index_concurrently(
            "ix_item_label", "item", ["label"], where="label IS NOT NULL"
        ),
    )
    assert "WHERE (label IS NOT NULL)" in pg.indexes(url, "item")["ix_item_label"]


def test_foreign_key_added_not_valid_then_validated(url: URL) -> None:
    pg.execute(url, "INSERT INTO item (owner_id, name) VALUES (99, 'orphan')")
    name = "fk_item_owner_id_owner"

    def add() -> None:
        online.add_foreign_key_not_valid(name, "item", "owner", ["owner_id"], ["id"])

    run_ops(url, add)
    run_ops(url, add)  # already there: nothing to do
    assert constraint_validated(url, "item", name) is False
    with pytest.raises(Exception, match="violates foreign key"):
        pg.execute(url, "INSERT INTO item (owner_id, name) VALUES (98, 'new orphan')")

    with pytest.raises(IntegrityError):
        run_ops(url, lambda: online.validate_constraint("item", name))
    assert constraint_validated(url, "item", name) is False

    pg.execute(url, "DELETE FROM item WHERE owner_id = 99")
    run_ops(url, lambda: online.validate_constraint("item", name))
    assert constraint_validated(url, "item", name) is True


def test_set_not_null_through_a_validated_check(url: URL) -> None:
    check = "ck_item_code_not_null"
    pg.execute(url, "UPDATE item SET code = NULL WHERE id = 7")
    with pytest.raises(IntegrityError):
        run_ops(url, lambda: online.set_not_null("item", "code"))
    assert not not_null(url, "item", "code")
    # The check stays, NOT VALID, so new NULLs are refused while the data is being fixed.
    assert constraint_validated(url, "item", check) is False

    pg.execute(url, "UPDATE item SET code = 7 WHERE id = 7")
    run_ops(url, lambda: online.set_not_null("item", "code"))
    assert not_null(url, "item", "code")
    assert constraint_validated(url, "item", check) is None
    run_ops(url, lambda: online.set_not_null("item", "code"))
    assert not_null(url, "item", "code")


class Interrupted(Exception):
    pass


def test_backfill_commits_each_batch_and_resumes(
    url: URL, capsys: pytest.CaptureFixture[str]
) -> None:
    seen: list[online.Progress] = []

    def interrupt_after_three(progress: online.Progress) -> None:
        seen.append(progress)
        if len(seen) == 3:
            raise Interrupted

    def first_attempt() -> int:
        return online.backfill(
            "item",
            "label = 'label ' || code",
            where="label IS NULL",
            batch_size=1_000,
            batch_time=None,
            progress=interrupt_after_three,
        )

    with pytest.raises(Interrupted):
        run_ops(url, first_attempt)
    committed = pg.fetch(url, "SELECT count(*) AS n FROM item WHERE label IS NOT NULL")[0]["n"]
    assert committed == 3_000 == seen[-1].done
    assert seen[-1].total == ROWS

    def second_attempt() -> int:
        return online.backfill(
            "item", "label = 'label ' || code", where="label IS NULL", batch_size=1_000
        )

    assert run_ops(url, second_attempt) == ROWS - 3_000
    assert pg.fetch(url, "SELECT count(*) AS n FROM item WHERE label IS NULL")[0]["n"] == 0
    assert pg.fetch(url, "SELECT label FROM item WHERE id = 42")[0]["label"] == "label 42"
    lines = capsys.readouterr().err.splitlines()
    assert lines[-1].startswith(f"backfill item: {ROWS - 3_000:,}/{ROWS - 3_000:,} rows (100%), ")
    assert lines[-1].endswith(" rows/s")

    assert run_ops(url, second_attempt) == 0


def test_backfill_of_an_empty_table_does_nothing(url: URL) -> None:
    pg.execute(url, "DELETE FROM item")
    assert run_ops(url, lambda: online.backfill("item", "label = 'x'", where="label IS NULL")) == 0


def test_volatile_default_column_without_a_rewrite(url: URL) -> None:
    before = relfilenode(url, "item")

    run_ops(
        url,
        lambda: online.add_column_with_default(
            "item", "ref", sa.Uuid(), "gen_random_uuid()", batch_size=5_000
        ),
    )
    assert relfilenode(url, "item") == before
    assert not_null(url, "item", "ref")
    distinct = pg.fetch(url, "SELECT count(DISTINCT ref) AS n FROM item")[0]["n"]
    assert distinct == ROWS
    assert "gen_random_uuid()" in pg.columns(url, "item")["ref"]["column_default"]
    pg.execute(url, "INSERT INTO item (owner_id, name) VALUES (1, 'new')")
    assert pg.fetch(url, "SELECT ref FROM item WHERE name = 'new'")[0]["ref"] is not None


def test_the_naive_volatile_default_does_rewrite_the_table(url: URL) -> None:
    """The contrast that makes the helper worth having (and keeps the check above honest)."""
    before = relfilenode(url, "item")
    column = sa.Column(
        "ref", sa.Uuid(), nullable=False, server_default=sa.text("gen_random_uuid()")
    )
    run_ops(url, lambda: op.add_column("item", column))
    assert relfilenode(url, "item") != before


def test_column_backfilled_from_an_expression(url: URL) -> None:
    run_ops(
        url,
        lambda: online.add_column_with_default(
            "item", "slug", sa.String(80), "''", backfill_with="lower(name)"
        ),
    )
    assert pg.fetch(url, "SELECT slug FROM item WHERE id = 3")[0]["slug"] == "item 3"
    assert not_null(url, "item", "slug")


def test_a_failure_inside_a_helper_is_a_database_error(url: URL) -> None:
    with pytest.raises(DBAPIError, match="does not exist"):
        run_ops(url, lambda: online.set_not_null("item", "missing"))
