"""A corpus model set in a scratch copy of the project, driven through the real `make` targets.

Each set under tests/corpus/<name>/models/ replaces the bookshelf's models (app/models/ keeps
its __init__.py, which finds every module, and naming.py); versions/ starts empty. The
catalog helpers read pg_catalog schema-qualified, so sets may use any Postgres schema.
"""

import re
import shutil
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy.engine import URL

from tests.support import pg
from tests.support.project import VERSIONS, Project, Result, copy_project

CORPUS = Path(__file__).resolve().parent
MODELS = Path("app/models")
_KEEP = {"__init__.py", "naming.py"}
# app/models/__init__.py re-exports the bookshelf's models for the API; a set has its own.
_REEXPORTS = "\nfrom app.models.author import"

_USER_SCHEMAS = (
    "n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg\\_%'"
)


def scratch(root: Path, name: str, url: URL) -> Project:
    """A scratch project whose models are the set's and whose history is empty."""
    project = Project(root=copy_project(root), database_url=url)
    models = project.root / MODELS
    for path in models.iterdir():
        if path.name not in _KEEP:
            shutil.rmtree(path) if path.is_dir() else path.unlink()
    init = models / "__init__.py"
    text = init.read_text()
    init.write_text(text[: text.index(_REEXPORTS)] + "\n" if _REEXPORTS in text else text)
    shutil.copytree(
        CORPUS / name / "models",
        models,
        dirs_exist_ok=True,
        ignore=shutil.ignore_patterns("__pycache__"),
    )
    for path in (project.root / VERSIONS).glob("*.py"):
        path.unlink()
    return project


@dataclass
class Run:
    """A set's scratch project and what its steps printed, for messages on failure."""

    project: Project
    log: list[str] = field(default_factory=list)
    # Revision files in the order they were written.
    written: list[str] = field(default_factory=list)

    @property
    def url(self) -> URL:
        return self.project.database_url

    def make(self, *args: str, ok: bool = True) -> Result:
        result = self.project.make(*args)
        self.log.append(f"$ make {' '.join(args)} -> {result.returncode}\n{result.output}")
        if ok:
            assert result.returncode == 0, self.transcript()
            assert "Traceback" not in result.output, self.transcript()
        return result

    def refused(self, *args: str) -> str:
        """Run a step that must fail with exactly one error line; return that line."""
        result = self.make(*args, ok=False)
        assert result.returncode != 0, self.transcript()
        assert "Traceback" not in result.output, self.transcript()
        assert len(result.errors()) == 1, self.transcript()
        return result.errors()[0]

    def generate(self, message: str, *args: str) -> tuple[Path, Result]:
        before = self.project.versions()
        result = self.make("migration", f"msg={message}", *args)
        written = self.project.new_versions(before)
        assert len(written) == 1, self.transcript()
        self.written.append(written[0].name)
        return written[0], result

    def edit(self, relative: str, old: str, new: str) -> None:
        self.project.edit(relative, old, new)

    def opt_out(self, path: Path, rule: str, reason: str) -> None:
        """The documented opt-out, written into a revision before it is applied."""
        text = path.read_text()
        marker = "def upgrade() -> None:"
        path.write_text(text.replace(marker, f"# squawk-ignore: {rule} -- {reason}\n{marker}", 1))

    def transcript(self) -> str:
        return "\n".join(self.log[-6:])

    # The database as pg_catalog has it ---------------------------------------------------

    def heads(self) -> list[str]:
        return sorted(
            row[0] for row in pg.fetch(self.url, "SELECT version_num FROM alembic_version")
        )

    def relations(self) -> set[str]:
        rows = pg.fetch(
            self.url,
            "SELECT n.nspname || '.' || c.relname FROM pg_class c JOIN pg_namespace n "
            f"ON n.oid = c.relnamespace WHERE c.relkind IN ('r', 'p') AND {_USER_SCHEMAS} "
            "AND c.relname NOT IN ('alembic_version', 'alembic_checksum')",
        )
        return {row[0] for row in rows}

    def schemas(self) -> set[str]:
        rows = pg.fetch(self.url, f"SELECT n.nspname FROM pg_namespace n WHERE {_USER_SCHEMAS}")
        return {row[0] for row in rows}

    def columns(self, table: str) -> dict[str, dict[str, Any]]:
        rows = pg.fetch(
            self.url,
            "SELECT a.attname, format_type(a.atttypid, a.atttypmod) AS type, "
            "NOT a.attnotnull AS nullable, pg_get_expr(d.adbin, d.adrelid) AS default, "
            "a.attidentity::text AS identity, a.attgenerated::text AS generated "
            "FROM pg_attribute a LEFT JOIN pg_attrdef d "
            "ON d.adrelid = a.attrelid AND d.adnum = a.attnum "
            "WHERE a.attrelid = $1::regclass AND a.attnum > 0 AND NOT a.attisdropped",
            table,
        )
        return {row["attname"]: dict(row) for row in rows}

    def indexes(self, table: str) -> dict[str, str]:
        rows = pg.fetch(
            self.url,
            "SELECT c.relname, pg_get_indexdef(i.indexrelid) FROM pg_index i "
            "JOIN pg_class c ON c.oid = i.indexrelid WHERE i.indrelid = $1::regclass",
            table,
        )
        return {row[0]: row[1] for row in rows}

    def constraints(self, table: str) -> dict[str, str]:
        rows = pg.fetch(
            self.url,
            "SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint "
            "WHERE conrelid = $1::regclass AND contype <> 'n'",
            table,
        )
        return {row[0]: row[1] for row in rows}

    def enums(self) -> dict[str, list[str]]:
        rows = pg.fetch(
            self.url,
            "SELECT n.nspname || '.' || t.typname, e.enumlabel FROM pg_type t "
            "JOIN pg_enum e ON e.enumtypid = t.oid JOIN pg_namespace n ON n.oid = t.typnamespace "
            "ORDER BY 1, e.enumsortorder",
        )
        found: dict[str, list[str]] = {}
        for name, label in rows:
            found.setdefault(name, []).append(label)
        return found

    def rows(self, sql: str) -> list[Any]:
        return [tuple(row) for row in pg.fetch(self.url, sql)]


Step = Callable[[Run], None]


def lifecycle(run: Run, check_initial: Step) -> Path:
    """Generate the first revision, migrate, check clean, lint clean, roll back to nothing,
    migrate again; check_initial asserts on the database after the first migrate."""
    path, generated = run.generate("initial schema")
    assert "warning: downgrade() drops table" in generated.output, run.transcript()
    run.make("migrate")
    check_initial(run)
    assert "models and migrations agree" in run.make("migration-check").output
    assert "clean" in run.make("migration-lint").output
    tables = run.relations()
    run.make("rollback")
    assert run.relations() == set() and run.enums() == {}, run.transcript()
    assert run.schemas() == {"public"}, run.transcript()
    run.make("migrate")
    assert run.relations() == tables
    # Nothing left to write: no false drift right after a migrate.
    assert "No changes detected" in run.make("migration", "msg=nothing").output
    return path


def change(run: Run, message: str, *args: str, opt_outs: dict[str, str] | None = None) -> str:
    """One model change: generate, opt out of the lint rules named (rule -> reason), migrate.
    Returns the file's text (adjacent strings joined) and what make printed. Its downgrade
    runs in whole_history (make migration-test)."""
    path, generated = run.generate(message, *args)
    for rule, reason in (opt_outs or {}).items():
        assert rule in generated.output, run.transcript()
        run.opt_out(path, rule, reason)
    run.make("migrate")
    # Long statements are written as adjacent strings: read them joined.
    text = re.sub(r'"\n\s*"', "", path.read_text())
    return text + "\n# make migration said:\n" + generated.output


def branches_and_merge(run: Run, branches: list[tuple[str, Step, Step]]) -> list[str]:
    """Two or three developers branch from the same head, each with a model change
    (edit, undo), then merge: the merge is generated, applied, rolled back and re-applied.
    Returns the branch revisions' ids."""
    parent = run.heads()
    written: list[Path] = []
    parked = run.project.root / "parked"
    parked.mkdir()
    for message, edit, undo in branches:
        # Each developer starts from the shared head, with only their own change.
        edit(run)
        path, _ = run.generate(message)
        written.append(path)
        assert run.heads() == parent, run.transcript()
        undo(run)
        path.rename(parked / path.name)
    # The branches meet: every file back, every model change in.
    for path, (_, edit, _) in zip(written, branches, strict=True):
        (parked / path.name).rename(path)
        edit(run)
    parked.rmdir()
    heads = [path.stem.rsplit("-", 1)[-1] for path in written]
    count = len(branches)
    error = run.refused("migration", "msg=on two heads")
    assert f"versions/ has {count} heads" in error and "make migration-merge" in error, error
    error = run.refused("migrate")
    assert f"versions/ has {count} heads" in error and "make migration-merge" in error, error
    before = run.project.versions()
    merged = run.make("migration-merge")
    assert "wrote" in merged.output, run.transcript()
    run.written += [path.name for path in run.project.new_versions(before)]
    run.make("migrate")
    assert len(run.heads()) == 1
    assert "models and migrations agree" in run.make("migration-check").output
    # Rolling back from the merge point undoes the merge: each branch is a head again.
    undone = run.make("rollback")
    assert run.heads() == sorted(heads), run.transcript()
    assert f"the database is at {count} heads" in undone.output, run.transcript()
    # Then the branch written last; then forward again through the merge.
    run.make("rollback", "rev=-1")
    assert run.heads() == sorted(heads[:-1]), run.transcript()
    run.make("migrate")
    assert len(run.heads()) == 1
    return heads


def whole_history(run: Run) -> None:
    """The gates on the whole history, branches and merge included."""
    # `ls versions/` reads as a changelog, even for files written within the same minute.
    assert [path.name for path in run.project.versions()] == run.written
    tested = run.make("migration-test")
    assert "the schema is the same" in tested.stdout, run.transcript()
    assert "clean" in run.make("migration-lint").output
    sql = run.make("migration-sql").stdout
    assert sql.count("-- Running upgrade") == len(run.project.versions()), run.transcript()
