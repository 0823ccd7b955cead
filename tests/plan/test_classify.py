"""Each kind of statement gets Postgres's lock mode and the right kind of work, from the SQL
and the live catalogs of a database whose tables have rows."""

import pytest
from sqlalchemy.engine import URL

from migration_toolkit.plan.model import Verdict, WorkKind
from tests.plan.support import locks, only, plan_sql


def test_a_plain_index_blocks_writes_and_points_at_the_online_helper(library: URL) -> None:
    found = only(library, "CREATE INDEX ix_book_title ON book (title);")
    assert locks(found) == {"book": "SHARE"}
    assert found.analysis.work_kind is WorkKind.INDEX
    assert [b.what for b in found.blocking] == ["writes"]
    assert found.seconds is not None and found.seconds > 0
    assert found.analysis.advice == (
        'online.create_index_concurrently("ix_book_title", "book", ["title"])'
    )
    # Under the fixed rates it takes ~50 ms: fine at 1 s, refused at 10 ms.
    assert found.verdict is Verdict.FINE
    refused = only(library, "CREATE INDEX ix_book_title ON book (title);", threshold=0.01)
    assert refused.verdict is Verdict.BLOCKS
    assert "blocks writes of book (SHARE)" in refused.reason
    assert "instead: online.create_index_concurrently" in refused.reason


def test_a_concurrent_index_blocks_nothing(library: URL) -> None:
    found = only(library, "CREATE INDEX CONCURRENTLY IF NOT EXISTS ix_book_title ON book (title);")
    assert locks(found) == {"book": "SHARE UPDATE EXCLUSIVE"}
    assert found.analysis.work_kind is WorkKind.CONCURRENT_INDEX
    assert found.blocking == []
    assert only(library, "CREATE INDEX CONCURRENTLY ix ON book (title);", 0.0001).verdict is (
        Verdict.FINE
    )


@pytest.mark.parametrize(
    ("sql", "lock", "work"),
    [
        ("ALTER TABLE book ADD COLUMN subtitle VARCHAR(100)", "ACCESS EXCLUSIVE", "catalog only"),
        ("ALTER TABLE book ADD COLUMN n INTEGER DEFAULT 0", "ACCESS EXCLUSIVE", "catalog only"),
        (
            "ALTER TABLE book ADD COLUMN at timestamptz DEFAULT now()",
            "ACCESS EXCLUSIVE",
            "catalog only",
        ),
        (
            "ALTER TABLE book ADD COLUMN ref uuid DEFAULT gen_random_uuid()",
            "ACCESS EXCLUSIVE",
            "rewrite",
        ),
        ("ALTER TABLE book ADD COLUMN n SERIAL", "ACCESS EXCLUSIVE", "rewrite"),
        ("ALTER TABLE book ALTER COLUMN id TYPE BIGINT", "ACCESS EXCLUSIVE", "rewrite"),
        (
            "ALTER TABLE book ALTER COLUMN title TYPE VARCHAR(400)",
            "ACCESS EXCLUSIVE",
            "catalog only",
        ),
        ("ALTER TABLE book ALTER COLUMN title TYPE TEXT", "ACCESS EXCLUSIVE", "catalog only"),
        ("ALTER TABLE book ALTER COLUMN title TYPE VARCHAR(20)", "ACCESS EXCLUSIVE", "rewrite"),
        ("ALTER TABLE book ALTER COLUMN title SET NOT NULL", "ACCESS EXCLUSIVE", "catalog only"),
        ("ALTER TABLE book ALTER COLUMN title DROP NOT NULL", "ACCESS EXCLUSIVE", "catalog only"),
        ("ALTER TABLE book DROP COLUMN title", "ACCESS EXCLUSIVE", "catalog only"),
        ("ALTER TABLE book ADD CONSTRAINT ck CHECK (id > 0)", "ACCESS EXCLUSIVE", "full scan"),
        (
            "ALTER TABLE book ADD CONSTRAINT ck CHECK (id > 0) NOT VALID",
            "ACCESS EXCLUSIVE",
            "catalog only",
        ),
        (
            "ALTER TABLE book VALIDATE CONSTRAINT fk_book_author_id_author",
            "SHARE UPDATE EXCLUSIVE",
            "full scan",
        ),
        ("ALTER TABLE book SET (fillfactor = 90)", "SHARE UPDATE EXCLUSIVE", "catalog only"),
        ("ALTER TABLE book RENAME COLUMN title TO name", "ACCESS EXCLUSIVE", "catalog only"),
        ("DROP INDEX ix_book_author_id", "ACCESS EXCLUSIVE", "catalog only"),
        ("DROP INDEX CONCURRENTLY ix_book_author_id", "SHARE UPDATE EXCLUSIVE", "catalog only"),
        (
            "CREATE TRIGGER t AFTER INSERT ON book FOR EACH ROW EXECUTE FUNCTION f()",
            "SHARE ROW EXCLUSIVE",
            "catalog only",
        ),
        ("LOCK TABLE book IN SHARE MODE", "SHARE", "catalog only"),
        ("TRUNCATE book", "ACCESS EXCLUSIVE", "catalog only"),
        ("VACUUM FULL book", "ACCESS EXCLUSIVE", "rewrite"),
        ("UPDATE book SET title = upper(title)", "ROW EXCLUSIVE", "row changes"),
    ],
)
def test_lock_mode_and_work(library: URL, sql: str, lock: str, work: str) -> None:
    found = only(library, sql + ";")
    assert locks(found)["book"] == lock
    assert found.analysis.work_kind.value == work


def test_set_not_null_scans_unless_a_valid_check_proves_it(library: URL) -> None:
    plain = only(library, "ALTER TABLE author ALTER COLUMN name SET NOT NULL;")
    assert plain.analysis.work_kind is WorkKind.CATALOG  # already NOT NULL: no rows to check
    steps = plan_sql(
        library,
        "ALTER TABLE book ADD COLUMN rank INTEGER;ALTER TABLE book ALTER COLUMN rank SET NOT NULL;",
    )
    assert steps[1].analysis.work_kind is WorkKind.SCAN
    assert steps[1].analysis.advice == 'online.set_not_null("book", "rank")'
    helper = plan_sql(
        library,
        "ALTER TABLE book ADD COLUMN rank INTEGER;"
        "ALTER TABLE book ADD CONSTRAINT ck_rank CHECK (rank IS NOT NULL) NOT VALID;"
        "ALTER TABLE book VALIDATE CONSTRAINT ck_rank;"
        "ALTER TABLE book ALTER COLUMN rank SET NOT NULL;",
    )
    kinds = [step.analysis.work_kind for step in helper]
    assert kinds == [WorkKind.CATALOG, WorkKind.CATALOG, WorkKind.SCAN, WorkKind.CATALOG]


def test_a_new_foreign_key_locks_both_tables(library: URL) -> None:
    sql = "ALTER TABLE book ADD CONSTRAINT fk_x FOREIGN KEY (author_id) REFERENCES author (id)"
    validated = only(library, sql + ";")
    assert locks(validated) == {"book": "SHARE ROW EXCLUSIVE", "author": "SHARE ROW EXCLUSIVE"}
    assert validated.analysis.work_kind is WorkKind.SCAN
    assert validated.analysis.advice is not None
    assert "online.add_foreign_key_not_valid" in validated.analysis.advice
    not_valid = only(library, sql + " NOT VALID;")
    assert not_valid.analysis.work_kind is WorkKind.CATALOG


def test_a_type_change_on_a_foreign_key_column_locks_the_other_table(library: URL) -> None:
    found = only(library, "ALTER TABLE book ALTER COLUMN author_id TYPE BIGINT;")
    assert locks(found) == {"book": "ACCESS EXCLUSIVE", "author": "ACCESS EXCLUSIVE"}
    assert found.analysis.work_kind is WorkKind.REWRITE


def test_not_null_without_a_default_fails_on_a_table_with_rows(library: URL) -> None:
    found = only(library, "ALTER TABLE book ADD COLUMN isbn VARCHAR(13) NOT NULL;")
    assert found.verdict is Verdict.FAILS
    assert "fails on book, which has rows" in found.reason


def test_a_lock_is_held_until_the_transaction_ends(library: URL) -> None:
    # Catalog-only on its own, but the UPDATE after it keeps ACCESS EXCLUSIVE for its duration.
    steps = plan_sql(
        library,
        "BEGIN; ALTER TABLE book ADD COLUMN rank INTEGER; UPDATE book SET rank = 1; COMMIT;",
        threshold=0.1,
    )
    first, second = steps
    assert first.seconds == 0
    assert first.hold is not None and first.hold == second.seconds
    assert first.verdict is Verdict.BLOCKS
    assert "held until the transaction commits" in first.reason
    assert second.analysis.row_locks
    assert "online.backfill" in (second.analysis.advice or "")
    # The same statements each in a transaction of their own: the ALTER is instant.
    alone = plan_sql(
        library, "ALTER TABLE book ADD COLUMN rank INTEGER; UPDATE book SET rank = 1;", 0.1
    )
    assert alone[0].verdict is Verdict.FINE


def test_a_backfill_blocks_one_batch_at_a_time(library: URL) -> None:
    found = only(
        library,
        "/* online.backfill batch_size=1000 */ UPDATE book SET title = lower(title) "
        "WHERE (title <> lower(title));",
    )
    assert found.analysis.work_kind is WorkKind.BACKFILL
    assert not found.analysis.row_locks
    [batch] = found.blocking
    assert batch.what == "writes to one batch's rows"
    assert found.seconds is not None and batch.seconds < found.seconds / 10


def test_tables_created_by_the_plan_are_new_and_block_nobody(library: URL) -> None:
    steps = plan_sql(
        library,
        "CREATE TABLE review (id SERIAL PRIMARY KEY, book_id INTEGER REFERENCES book (id));"
        "CREATE INDEX ix_review_book_id ON review (book_id);",
    )
    assert locks(steps[0]) == {"book": "SHARE ROW EXCLUSIVE"}
    assert [step.analysis.work_kind for step in steps] == [WorkKind.CATALOG, WorkKind.CATALOG]
    assert steps[1].blocking == []
    assert steps[1].analysis.locks[0].new


@pytest.mark.parametrize(
    "sql",
    [
        "DO $$ BEGIN PERFORM 1; END $$",
        "DROP TABLE author CASCADE",
        "CALL refresh_everything()",
        "ALTER TABLE book ATTACH PARTITION other FOR VALUES IN (1)",
        "this is not SQL",
    ],
)
def test_what_cannot_be_classified_is_unknown_never_fine(library: URL, sql: str) -> None:
    found = only(library, sql + ";")
    assert found.verdict is Verdict.UNKNOWN
    assert found.reason.endswith("review it by hand")


@pytest.mark.parametrize(
    "sql",
    [
        "CREATE TYPE mood AS ENUM ('ok')",
        "CREATE FUNCTION f() RETURNS int LANGUAGE sql AS 'select 1'",
        "SELECT setval('book_id_seq', 10)",
        "GRANT SELECT ON book TO PUBLIC",
        "SET lock_timeout = '1s'",
    ],
)
def test_statements_that_touch_no_table_are_fine(library: URL, sql: str) -> None:
    found = only(library, sql + ";")
    assert found.verdict is Verdict.FINE
    assert found.blocking == []
