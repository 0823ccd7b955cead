"""The revisions the zero-downtime benchmark applies under load: each change, naive and online."""

import zlib
from dataclasses import dataclass
from pathlib import Path

from bench.common import VERSIONS, Project

REVISION = '''"""bench: {name}

Revision ID: {revision}
Revises: {down}
"""

import sqlalchemy as sa
from alembic import op

from migration_toolkit import online

revision = "{revision}"
down_revision = "{down}"
branch_labels = None
depends_on = None


def upgrade() -> None:
{upgrade}


def downgrade() -> None:
{downgrade}
'''


@dataclass(frozen=True)
class Scenario:
    name: str
    change: str  # which change, in words
    upgrade: str
    downgrade: str
    online: bool


# Columns: a uuid with a volatile default, a NOT NULL column filled from title, an index on
# title. The naive version takes the strongest lock first: built in the other order it
# deadlocked with the app's PATCH requests (the index build's SHARE lock, then the ALTERs).
NAIVE = """\
    op.add_column(
        "book",
        sa.Column("ref", sa.Uuid(), nullable=False, server_default=sa.text("gen_random_uuid()")),
    )
    op.add_column("book", sa.Column("sort_key", sa.String(255), nullable=False, server_default=""))
    op.execute("UPDATE book SET sort_key = lower(title)")
    op.create_index("ix_book_title", "book", ["title"])"""

# add_column_with_default() once per column would backfill twice; one pass fills both.
HELPERS = """\
    with online.short_lock("book"):
        op.add_column("book", sa.Column("ref", sa.Uuid(), nullable=True))
        op.add_column("book", sa.Column("sort_key", sa.String(255), nullable=True))
        op.alter_column("book", "ref", server_default=sa.text("gen_random_uuid()"))
        op.alter_column("book", "sort_key", server_default="")
    online.backfill(
        "book",
        "ref = coalesce(ref, gen_random_uuid()), sort_key = coalesce(sort_key, lower(title))",
        where="ref IS NULL OR sort_key IS NULL",
    )
    online.set_not_null("book", "ref")
    online.set_not_null("book", "sort_key")
    online.create_index_concurrently("ix_book_title", "book", ["title"])"""

# The helpers scenario as it ran before batches were timed and index builds kept to one core:
# fixed 5,000-row batches, 0.2 s apart, Postgres's parallel sort. Not run by default
# (BENCH_SCENARIOS=helpers-unpaced): the comparison behind bench/README.md's findings.
UNPACED = HELPERS.replace(
    """        where="ref IS NULL OR sort_key IS NULL",
    )""",
    """        where="ref IS NULL OR sort_key IS NULL",
        batch_size=5_000,
        batch_time=None,
        duty_cycle=1.0,
        pause=0.2,
    )""",
).replace('["title"])', '["title"], workers=None)')

COLUMNS_DOWN = """\
    op.drop_index("ix_book_title", table_name="book")
    op.drop_column("book", "sort_key")
    op.drop_column("book", "ref")"""

# integer -> bigint on a foreign-key column with an index: the classic big-table type change.
NAIVE_RETYPE = """\
    op.alter_column("book", "author_id", type_=sa.BigInteger())"""

ONLINE_RETYPE = """\
    online.change_column_type("book", "author_id", sa.BigInteger())"""

SCENARIOS = [
    Scenario("naive", "add columns, backfill, NOT NULL, index", NAIVE, COLUMNS_DOWN, False),
    Scenario("helpers", "add columns, backfill, NOT NULL, index", HELPERS, COLUMNS_DOWN, True),
    Scenario(
        "naive-retype",
        "author_id integer -> bigint",
        NAIVE_RETYPE,
        '    op.alter_column("book", "author_id", type_=sa.Integer())',
        False,
    ),
    Scenario(
        "online-retype",
        "author_id integer -> bigint",
        ONLINE_RETYPE,
        '    online.change_column_type("book", "author_id", sa.Integer())',
        True,
    ),
]


EXTRA = [
    Scenario(
        "helpers-unpaced", "add columns, backfill, NOT NULL, index", UNPACED, COLUMNS_DOWN, True
    ),
]


def write_revision(project: Project, scenario: Scenario, down: str) -> str:
    """The scenario's revision, on top of `down`, in the scratch copy's versions/; its id."""
    revision = f"bench{zlib.crc32(scenario.name.encode()) % 10**7:07d}"
    body = REVISION.format(
        name=scenario.name,
        revision=revision,
        down=down,
        upgrade=scenario.upgrade,
        downgrade=scenario.downgrade,
    )
    slug = scenario.name.replace("-", "_")
    path: Path = project.root / VERSIONS / f"2099_01_01_0000-bench_{slug}-{revision}.py"
    path.write_text(body)
    return revision
