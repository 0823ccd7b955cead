"""`make migration` on real model edits: the file it writes, and that file applied and undone
on a real Postgres. One scratch project goes through three rounds; each test checks one
scenario of a round (file text, state after upgrade, state after rollback).
"""

import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.engine import URL

from tests.support import pg
from tests.support.project import Project, Result, copy_project
from tests.workflow.generate_support import (
    Round,
    State,
    apply_round,
    make_on_terminal,
    run_round,
)

AUTHOR = "app/models/author.py"
BOOK = "app/models/book.py"
SHELF = "app/models/shelf.py"
ID_LINE = "    id: int | None = Field(default=None, primary_key=True)\n"
NAME_LINE = "    name: str = Field(min_length=1, max_length=255)\n"
AUTHOR_ID = (
    '    author_id: int = Field(foreign_key="author.id", index=True, ge=1, le=2_147_483_647)\n'
)

SLUG_MODULE = '''"""Column types of our own."""

from typing import Any

import sqlalchemy as sa
from sqlalchemy.types import TypeDecorator


class Slug(TypeDecorator[str]):
    """Trimmed, lower-case text."""

    impl = sa.String(80)
    cache_ok = True

    def process_bind_param(self, value: Any, dialect: Any) -> Any:
        return value.strip().lower() if isinstance(value, str) else value
'''

SHELF_MODULE = '''"""The shelf table."""

import enum

from sqlmodel import Field, SQLModel

from app.models.types import Slug


class ShelfKind(str, enum.Enum):
    fiction = "fiction"
    reference = "reference"


class Shelf(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    label: str = Field(sa_type=Slug)
    kind: ShelfKind = Field(default=ShelfKind.fiction)
'''


class Rounds:
    """The scratch project's history: each round's generated file and database states."""

    def __init__(self, project: Project) -> None:
        self.project = project
        self.url: URL = project.database_url
        self.written: list[Path] = []
        self.no_tty_rename: str = ""
        self.prompt: tuple[int, str] = (0, "")
        self.rows: dict[str, list[Any]] = {}

    def round(self, *args: str) -> Round:
        before = self.project.versions()
        result = run_round(self.project, *args)
        self.written += self.project.new_versions(before)
        return result


@pytest.fixture(scope="module")
def rounds(
    tmp_path_factory: pytest.TempPathFactory, new_database: Callable[[], URL]
) -> Iterator[tuple[Rounds, dict[int, Round]]]:
    root = copy_project(tmp_path_factory.mktemp("generate") / "project")
    project = Project(root=root, database_url=new_database())
    assert project.make("migrate").returncode == 0
    history = Rounds(project)
    done: dict[int, Round] = {}

    # Round 1: add column, unique, FK + index, longer type, nullable, server default,
    # a new module with a new table, a custom type and an enum.
    project.edit(
        AUTHOR,
        NAME_LINE,
        "    name: str = Field(\n        min_length=1, max_length=255, "
        'sa_column_kwargs={"server_default": "anonymous"}\n    )\n',
    )
    project.edit(
        AUTHOR,
        ID_LINE,
        ID_LINE
        + "    email: str | None = Field(default=None, max_length=320)\n"
        + "    handle: str | None = Field(default=None, max_length=40, unique=True)\n",
    )
    project.edit(
        BOOK,
        "title: str = Field(min_length=1, max_length=255)",
        "title: str = Field(min_length=1, max_length=500)",
    )
    project.edit(
        BOOK,
        AUTHOR_ID,
        '    author_id: int | None = Field(\n        default=None, foreign_key="author.id", '
        "index=True, ge=1, le=2_147_483_647\n    )\n",
    )
    project.edit(
        BOOK,
        ID_LINE,
        ID_LINE
        + '    editor_id: int | None = Field(default=None, foreign_key="author.id", index=True)\n',
    )
    project.write("app/models/types.py", SLUG_MODULE)
    project.write(SHELF, SHELF_MODULE)
    done[1] = history.round("msg=grow the schema")

    # Round 2: remove a column, add an enum value, NOT NULL again, rename a column via
    # rename= and another at the terminal's question.
    pg.execute(
        history.url,
        "INSERT INTO author (name) VALUES ('Ursula')",
        "INSERT INTO book (title, author_id) VALUES ('Earthsea', 1)",
    )
    project.edit(AUTHOR, "    email: str | None = Field(default=None, max_length=320)\n", "")
    project.edit(
        SHELF,
        '    reference = "reference"\n',
        '    reference = "reference"\n    poetry = "poetry"\n',
    )
    project.edit(
        BOOK,
        "    title: str = Field(min_length=1, max_length=500)",
        "    heading: str = Field(min_length=1, max_length=500)",
    )
    project.edit(
        BOOK,
        '    author_id: int | None = Field(\n        default=None, foreign_key="author.id", '
        "index=True, ge=1, le=2_147_483_647\n    )\n",
        AUTHOR_ID,
    )
    # In the same revision, rename author.name: first with nobody to ask (drop + add,
    # flagged), then on a terminal answering yes.
    project.edit(AUTHOR, "    name: str = Field(\n", "    full_name: str = Field(\n")
    before = project.versions()
    unanswered = project.make("migration", "msg=rename columns", "rename=book.title:heading")
    assert unanswered.returncode == 0, unanswered.output
    (draft,) = project.new_versions(before)
    history.no_tty_rename = draft.read_text()
    draft.unlink()
    history.prompt = make_on_terminal(
        project,
        "migration",
        "msg=rename columns",
        "rename=book.title:heading",
        answers={"author.name to author.full_name": "y"},
    )
    written = project.new_versions(before)
    assert len(written) == 1, history.prompt[1]
    (path,) = written
    history.written.append(path)
    done[2] = apply_round(project, _terminal_result(history.prompt), path)
    history.rows["book"] = pg.fetch(history.url, "SELECT heading FROM book")
    history.rows["author"] = pg.fetch(history.url, "SELECT full_name FROM author")

    # Round 4: rename the author table (its FKs follow).
    project.edit(
        AUTHOR,
        "class Author(AuthorBase, table=True):\n",
        'class Author(AuthorBase, table=True):\n    __tablename__ = "writer"  # type: ignore\n\n',
    )
    project.edit(BOOK, 'foreign_key="author.id"', 'foreign_key="writer.id"')
    project.edit(BOOK, 'foreign_key="author.id"', 'foreign_key="writer.id"')
    done[3] = history.round("msg=rename author table", "rename=author:writer")
    yield history, done


def _terminal_result(prompt: tuple[int, str]) -> Result:
    code, transcript = prompt
    return Result(["make", "migration"], code, transcript, "")


History = tuple[Rounds, dict[int, Round]]


def column(state: State, table: str, name: str) -> dict[str, object]:
    return state.columns[table][name]


# Round 1 ------------------------------------------------------------------------------------


def test_add_column(rounds: History) -> None:
    r = rounds[1][1]
    assert (
        'sa.Column("email", sqlmodel.sql.sqltypes.AutoString(length=320), nullable=True)'
        in r.source
    )
    assert column(r.upgraded, "author", "email")["character_maximum_length"] == 320
    assert "email" not in r.downgraded.columns["author"]


def test_add_unique_named_by_convention(rounds: History) -> None:
    r = rounds[1][1]
    assert 'op.create_unique_constraint(op.f("uq_author_handle"), "author", ["handle"])' in r.source
    assert 'op.drop_constraint(op.f("uq_author_handle"), "author", type_="unique")' in r.source
    assert r.upgraded.constraints["author"]["uq_author_handle"] == "UNIQUE"
    assert "uq_author_handle" not in r.downgraded.constraints["author"]


def test_add_foreign_key_and_index(rounds: History) -> None:
    r = rounds[1][1]
    assert 'op.f("fk_book_editor_id_author"), "book", "author", ["editor_id"], ["id"]' in r.source
    assert r.upgraded.constraints["book"]["fk_book_editor_id_author"] == "FOREIGN KEY"
    assert "(editor_id)" in r.upgraded.indexes["book"]["ix_book_editor_id"]
    assert "fk_book_editor_id_author" not in r.downgraded.constraints["book"]
    assert "ix_book_editor_id" not in r.downgraded.indexes["book"]


def test_change_length(rounds: History) -> None:
    r = rounds[1][1]
    assert "type_=sqlmodel.sql.sqltypes.AutoString(length=500)" in r.source
    assert "DESTRUCTIVE" not in r.source.split("def downgrade")[0]  # widening is safe
    assert column(r.upgraded, "book", "title")["character_maximum_length"] == 500
    assert column(r.downgraded, "book", "title")["character_maximum_length"] == 255


def test_nullable_change(rounds: History) -> None:
    r = rounds[1][1]
    assert (
        'op.alter_column("book", "author_id", existing_type=sa.INTEGER(), nullable=True)'
        in r.source
    )
    assert column(r.upgraded, "book", "author_id")["is_nullable"] == "YES"
    assert column(r.downgraded, "book", "author_id")["is_nullable"] == "NO"


def test_server_default_change(rounds: History) -> None:
    r = rounds[1][1]
    assert 'server_default="anonymous"' in r.source
    assert "'anonymous'" in str(column(r.upgraded, "author", "name")["column_default"])
    assert column(r.downgraded, "author", "name")["column_default"] is None


def test_new_model_in_new_module(rounds: History) -> None:
    r = rounds[1][1]
    assert 'op.create_table(\n        "shelf"' in r.source
    assert 'sa.PrimaryKeyConstraint("id", name=op.f("pk_shelf"))' in r.source
    assert "shelf" in r.upgraded.tables
    assert "shelf" not in r.downgraded.tables


def test_custom_type_renders_as_its_sqlalchemy_type(rounds: History) -> None:
    r = rounds[1][1]
    assert 'sa.Column("label", sa.String(length=80), nullable=False)' in r.source
    assert "app." not in r.source  # a revision never imports application code
    assert column(r.upgraded, "shelf", "label")["character_maximum_length"] == 80


def test_enum_type_created_and_dropped(rounds: History) -> None:
    r = rounds[1][1]
    upgrade, downgrade = r.source.split("def downgrade")
    assert 'sa.Enum("fiction", "reference", name="shelfkind").create(op.get_bind())' in upgrade
    assert 'sa.Enum("fiction", "reference", name="shelfkind").drop(op.get_bind())' in downgrade
    assert r.upgraded.enums["shelfkind"] == ["fiction", "reference"]
    assert "shelfkind" not in r.downgraded.enums
    # The round ends with a second upgrade: the type is created again after its drop.
    assert r.steps[-1].returncode == 0


# Round 2 ------------------------------------------------------------------------------------


def test_remove_column_is_flagged(rounds: History) -> None:
    r = rounds[1][2]
    upgrade = r.source.split("def downgrade")[0]
    assert (
        "# DESTRUCTIVE: drops column author.email and its data\n"
        '    op.drop_column("author", "email")' in upgrade
    )
    assert "warning: drops column author.email and its data" in r.generated.output
    assert "email" not in r.upgraded.columns["author"]
    assert "email" in r.downgraded.columns["author"]


def test_not_null_without_default_is_flagged(rounds: History) -> None:
    r = rounds[1][2]
    assert "# DESTRUCTIVE: makes book.author_id NOT NULL without a server default" in r.source
    assert "warning: makes book.author_id NOT NULL" in r.generated.output
    assert column(r.upgraded, "book", "author_id")["is_nullable"] == "NO"


def test_enum_value_added(rounds: History) -> None:
    r = rounds[1][2]
    assert 'new_value="poetry"' in r.source
    assert r.upgraded.enums["shelfkind"] == ["fiction", "reference", "poetry"]
    assert r.downgraded.enums["shelfkind"] == ["fiction", "reference"]


def test_rename_column_from_make_variable_keeps_data(rounds: History) -> None:
    history, done = rounds
    r = done[2]
    assert 'new_column_name="heading"' in r.source
    assert 'new_column_name="title"' in r.source.split("def downgrade")[1]
    assert 'drop_column("book"' not in r.source
    assert "heading" in r.upgraded.columns["book"] and "title" not in r.upgraded.columns["book"]
    assert "title" in r.downgraded.columns["book"]
    assert [row[0] for row in history.rows["book"]] == ["Earthsea"]


# Round 2, at the terminal ----------------------------------------------------------------


def test_without_an_answer_a_rename_stays_drop_and_add_flagged(rounds: History) -> None:
    draft = rounds[0].no_tty_rename
    assert "# DESTRUCTIVE: drops column author.name and its data" in draft
    assert 'new_column_name="full_name"' not in draft
    assert 'new_column_name="heading"' in draft  # rename= answers without a terminal


def test_rename_column_on_a_terminal_keeps_data(rounds: History) -> None:
    history, done = rounds
    code, transcript = history.prompt
    assert code == 0, transcript
    assert "Did you rename author.name to author.full_name (VARCHAR)? [y/N]" in transcript
    r = done[2]
    assert 'new_column_name="full_name"' in r.source
    assert 'drop_column("author", "name")' not in r.source
    assert "full_name" in r.upgraded.columns["author"]
    assert "name" in r.downgraded.columns["author"]
    assert "full_name" not in r.downgraded.columns["author"]
    assert [row[0] for row in history.rows["author"]] == ["Ursula"]


# Round 3 ------------------------------------------------------------------------------------


def test_rename_table_keeps_rows_and_renames_constraints(rounds: History) -> None:
    history, done = rounds
    r = done[3]
    assert 'op.rename_table("author", "writer")' in r.source
    assert 'op.rename_table("writer", "author")' in r.source
    assert "drop_table" not in r.source
    assert {"writer"} <= r.upgraded.tables and "author" not in r.upgraded.tables
    assert r.upgraded.constraints["writer"]["pk_writer"] == "PRIMARY KEY"
    assert r.upgraded.constraints["writer"]["uq_writer_handle"] == "UNIQUE"
    assert r.upgraded.constraints["book"]["fk_book_author_id_writer"] == "FOREIGN KEY"
    assert r.downgraded.constraints["author"]["pk_author"] == "PRIMARY KEY"
    assert r.downgraded.constraints["book"]["fk_book_author_id_author"] == "FOREIGN KEY"
    assert [row[0] for row in pg.fetch(history.url, "SELECT full_name FROM writer")] == ["Ursula"]


# Every file ---------------------------------------------------------------------------------


def test_every_generated_file_passes_ruff_and_is_dated(rounds: History) -> None:
    history, _ = rounds
    assert len(history.written) == 3
    for path in history.written:
        assert path.name[:4].isdigit() and path.name[4] == "_", path.name
    files = [str(path) for path in history.written]
    lint = subprocess.run(
        [sys.executable, "-m", "ruff", "check", "--no-fix", *files], capture_output=True, text=True
    )
    assert lint.returncode == 0, lint.stdout
    formatted = subprocess.run(
        [sys.executable, "-m", "ruff", "format", "--check", *files], capture_output=True, text=True
    )
    assert formatted.returncode == 0, formatted.stdout


def test_models_and_database_agree_at_the_end(rounds: History) -> None:
    history, _ = rounds
    result = history.project.make("migration", "msg=nothing left")
    assert result.returncode == 0, result.output
    assert "No changes detected" in result.output
