"""`make migration-lint`: squawk over each revision's offline SQL, advice per rule, opt-outs."""

import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest
from sqlalchemy.engine import URL

from migration_toolkit.checks.advice import advice_for
from migration_toolkit.checks.lint import read_opt_outs
from migration_toolkit.checks.offline_sql import split
from migration_toolkit.online import marks
from tests.storage.checks_support import FIRST, revision_text, revisions
from tests.support.project import Project, Result, copy_project

# One revision per unsafe operation, chained, each expected to be flagged with this rule.
UNSAFE = [
    (
        "a1000000000a",
        "require-concurrent-index-creation",
        'op.create_index("ix_author_name", "author", ["name"])',
    ),
    (
        "a2000000000b",
        "adding-required-field",
        'op.add_column("author", sa.Column("email", sa.String(320), nullable=False))',
    ),
    (
        "a3000000000c",
        "changing-column-type",
        'op.alter_column("book", "author_id", type_=sa.BigInteger(), existing_type=sa.Integer())',
    ),
    ("a4000000000d", "ban-drop-column", 'op.drop_column("author", "email")'),
    (
        "a5000000000e",
        "adding-foreign-key-constraint",
        'op.create_foreign_key("fk_book_id_author", "book", "author", ["id"], ["id"])',
    ),
]


def chain(header_for: dict[str, str] | None = None) -> list[tuple[str, str]]:
    texts = []
    down = FIRST
    for revision, _rule, operation in UNSAFE:
        header = (header_for or {}).get(revision, "")
        texts.append((revision, revision_text(revision, down, operation, header=header)))
        down = revision
    return texts


def findings_by_file(result: Result) -> dict[str, set[str]]:
    """The report's `file` headers and the rules listed under each."""
    found: dict[str, set[str]] = {}
    current = None
    for line in result.stdout.splitlines():
        if line.startswith("app/storage/migrations/versions/"):
            current = line.strip()
            found.setdefault(current, set())
        elif line.startswith("  ") and not line.startswith("    ") and current:
            found[current].add(line.strip().split(":", 1)[0])
    return found


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory, new_database: Callable[[], URL]) -> Project:
    return Project(
        root=copy_project(tmp_path_factory.mktemp("lint") / "project"),
        database_url=new_database(),
    )


def test_the_project_revisions_are_clean(project: Project) -> None:
    result = project.make("migration-lint")
    assert result.returncode == 0, result.output
    assert f"1 revision(s) in the history clean ({FIRST})" in result.stdout


def test_each_unsafe_operation_is_flagged_in_its_revision_with_advice(project: Project) -> None:
    with revisions(project, *chain()) as paths:
        result = project.make("migration-lint")
    assert result.returncode != 0, result.output
    assert len(result.errors()) == 1, result.output
    assert "findings in 5 revisions" in result.errors()[0]
    found = findings_by_file(result)
    for path, (_revision, rule, _operation) in zip(paths, UNSAFE, strict=True):
        relative = str(path.relative_to(project.root))
        assert rule in found.get(relative, set()), f"{rule} not under {relative}\n{result.stdout}"
        assert f"safe alternative: {advice_for(rule)}" in result.stdout
    assert "Traceback" not in result.output


def test_base_limits_the_lint_to_later_revisions(project: Project) -> None:
    with revisions(project, *chain()):
        result = project.make("migration-lint", "base=a3000000000c")
    assert result.returncode != 0, result.output
    rules = set().union(*findings_by_file(result).values())
    assert rules == {
        "ban-drop-column",
        "adding-foreign-key-constraint",
        "constraint-missing-not-valid",
    }, result.stdout


def test_opt_outs_need_a_known_rule_and_a_reason(project: Project) -> None:
    # Three revisions, each creating an index on an existing table, each opting out its way.
    reason = "the author table is empty at this point"
    index = 'op.create_index("ix_author_{0}", "author", ["name"])'
    headers = {
        "b1000000000a": f"# squawk-ignore: require-concurrent-index-creation -- {reason}\n",
        "b2000000000b": "# squawk-ignore: require-concurrent-index-creation\n",
        "b3000000000c": "# squawk-ignore: require-concurent-index -- a typo in the rule\n",
    }
    texts, down = [], FIRST
    for number, (revision, header) in enumerate(headers.items()):
        operation = index.format(number)
        texts.append((revision, revision_text(revision, down, operation, header=header)))
        down = revision
    with revisions(project, *texts):
        result = project.make("migration-lint")
    assert result.returncode != 0, result.output
    found = findings_by_file(result)
    by_revision = {
        path.rsplit("-", 1)[-1].removesuffix(".py"): rules for path, rules in found.items()
    }
    # Honoured, and shown to the reviewer:
    assert "b1000000000a" not in by_revision, result.stdout
    assert f"opts out of require-concurrent-index-creation: {reason}" in result.stdout
    # No reason: refused, so the rule still fires.
    assert by_revision["b2000000000b"] == {"require-concurrent-index-creation"}
    assert "b2000000000b.py line 10: an opt-out needs a rule and a reason" in result.stdout
    # A misspelt rule: squawk's own unused-ignore, and the real rule still fires.
    assert by_revision["b3000000000c"] == {"unused-ignore", "require-concurrent-index-creation"}
    assert result.errors() == [
        "error: migration-lint: 3 findings in 2 revisions and 1 malformed opt-out: apply the "
        "safe alternative, or opt out in the revision with "
        "`# squawk-ignore: <rule> -- <why it is safe here>`"
    ]


def test_a_git_ref_as_base_lints_only_the_branch_revisions(project: Project) -> None:
    def git(*args: str) -> None:
        subprocess.run(
            ["git", "-c", "user.name=t", "-c", "user.email=t@example.invalid", *args],
            cwd=project.root,
            check=True,
            capture_output=True,
        )

    git("init", "--quiet")
    with revisions(project, *chain()[:1]), revisions(project, *chain()[1:2]) as added:
        git("add", ".")
        git("reset", "--quiet", "--", str(added[0]))
        git("commit", "--quiet", "-m", "main: the first unsafe revision is merged already")
        result = project.make("migration-lint", "base=HEAD")
    assert result.returncode != 0, result.output
    assert set(findings_by_file(result)) == {str(added[0].relative_to(project.root))}, result.stdout


def test_an_unknown_base_is_one_error_line(project: Project) -> None:
    result = project.make("migration-lint", "base=nosuchthing")
    assert result.returncode != 0
    assert result.errors() == [
        "error: base=nosuchthing is neither a revision nor a git ref: use a revision id "
        "(`make migration-history`) or a branch such as origin/main"
    ]


def test_a_concurrent_index_in_an_autocommit_block_is_clean(project: Project) -> None:
    operation = """
    with op.get_context().autocommit_block():
        op.create_index("ix_author_name", "author", ["name"], postgresql_concurrently=True,
                        if_not_exists=True)
    """
    with revisions(project, ("c1000000000c", revision_text("c1000000000c", FIRST, operation))):
        result = project.make("migration-lint")
    assert result.returncode == 0, result.output


@pytest.mark.e2e
def test_make_migration_prints_the_findings_of_the_new_revision(
    tmp_path: Path, new_database: Callable[[], URL]
) -> None:
    project = Project(root=copy_project(tmp_path / "project"), database_url=new_database())
    assert project.make("migrate").returncode == 0
    project.edit(
        "app/models/author.py",
        "name: str = Field(min_length=1, max_length=255)",
        "name: str = Field(min_length=1, max_length=255, index=True)",
    )
    result = project.make("migration", "msg=index author names")
    assert result.returncode == 0, result.output
    assert "require-concurrent-index-creation" in result.stderr, result.output
    assert advice_for("require-concurrent-index-creation") in result.stderr


def test_split_keeps_each_revision_in_its_own_transaction() -> None:
    sql = "\n\n".join(
        [
            "BEGIN;",
            "CREATE TABLE alembic_version (\n    version_num VARCHAR(32) NOT NULL\n);",
            "-- Running upgrade  -> aaa",
            "CREATE TABLE t (id int);",
            "INSERT INTO alembic_version (version_num) VALUES ('aaa');",
            "COMMIT;",
            "BEGIN;",
            "-- Running upgrade aaa -> bbb",
            "COMMIT;",
            "CREATE INDEX CONCURRENTLY ix ON t (id);",
            "BEGIN;",
            "UPDATE alembic_version SET version_num='bbb' WHERE version_num = 'aaa';",
            "COMMIT;",
        ]
    )
    chunks = split(sql + "\n\n")
    assert [chunk.revision for chunk in chunks] == ["aaa", "bbb"]
    assert chunks[0].sql.split("\n\n") == [
        "BEGIN;",
        "-- Running upgrade  -> aaa",
        "CREATE TABLE t (id int);",
        "COMMIT;\n",
    ]
    assert chunks[1].sql.split("\n\n") == [
        "BEGIN;",
        "-- Running upgrade aaa -> bbb",
        "COMMIT;",
        "CREATE INDEX CONCURRENTLY ix ON t (id);",
        "BEGIN;",
        "COMMIT;\n",
    ]


def test_opt_outs_are_read_from_comments(tmp_path: Path) -> None:
    path = tmp_path / "rev.py"
    path.write_text(
        "# squawk-ignore: ban-drop-column, changing-column-type -- unused since v2\n"
        "x = 1  # squawk-ignore: prefer-robust-stmts\n"
    )
    opt_outs, problems = read_opt_outs(path)
    assert [(opt.rule, opt.reason) for opt in opt_outs] == [
        ("ban-drop-column", "unused since v2"),
        ("changing-column-type", "unused since v2"),
    ]
    assert len(problems) == 1 and "line 2" in problems[0]


HELPERS_EXPAND = """
op.add_column("author", sa.Column("email", sa.String(320), nullable=True))
op.add_column("book", sa.Column("editor_id", sa.Integer(), nullable=True))
"""
HELPERS_ONLINE = """
online.backfill("author", "email = lower(name) || '@example.invalid'", where="email IS NULL")
online.set_not_null("author", "email")
online.create_index_concurrently("ix_book_title", "book", ["title"])
online.add_foreign_key_not_valid(
    "fk_book_editor_id_author", "book", "author", ["editor_id"], ["id"]
)
online.add_column_with_default("book", "ref", sa.Uuid(), "gen_random_uuid()")
"""
HELPERS_LATER = """
online.validate_constraint("book", "fk_book_editor_id_author")
online.drop_index_concurrently("ix_book_title", "book")
"""


def test_revisions_using_the_online_helpers_have_no_findings(project: Project) -> None:
    header = "from migration_toolkit import online\n"
    texts = [
        ("d1000000000a", revision_text("d1000000000a", FIRST, HELPERS_EXPAND)),
        (
            "d2000000000b",
            revision_text("d2000000000b", "d1000000000a", HELPERS_ONLINE, header=header),
        ),
        (
            "d3000000000c",
            revision_text("d3000000000c", "d2000000000b", HELPERS_LATER, header=header),
        ),
    ]
    with revisions(project, *texts):
        result = project.make("migration-lint")
        sql = project.make("migration-sql", "rev=d1000000000a:d3000000000c")
    assert result.returncode == 0, result.output
    assert "4 revision(s) in the history clean" in result.stdout, result.stdout
    # The statements squawk would flag are there, inside the helpers' marks.
    assert "ALTER COLUMN email SET NOT NULL" in sql.stdout, sql.output
    assert "-- migration_toolkit.online begin: set_not_null(author, email)" in sql.stdout


def test_the_same_statements_written_by_hand_are_flagged(project: Project) -> None:
    by_hand = """
    op.alter_column("author", "email", nullable=False, existing_type=sa.String(320))
    op.create_index("ix_book_title", "book", ["title"])
    """
    texts = [
        ("e1000000000a", revision_text("e1000000000a", FIRST, HELPERS_EXPAND)),
        ("e2000000000b", revision_text("e2000000000b", "e1000000000a", by_hand)),
    ]
    with revisions(project, *texts):
        result = project.make("migration-lint")
    assert result.returncode != 0, result.output
    rules = set().union(*findings_by_file(result).values())
    assert {"adding-not-nullable-field", "require-concurrent-index-creation"} <= rules, rules


def test_helper_lines_are_those_between_the_marks() -> None:
    sql = "\n".join(
        [
            "BEGIN;",
            f"{marks.BEGIN} set_not_null(author, email)",
            "COMMIT;",
            "ALTER TABLE author ALTER COLUMN email SET NOT NULL;",
            f"{marks.END} set_not_null(author, email)",
            "ALTER TABLE author ALTER COLUMN name SET NOT NULL;",
        ]
    )
    assert marks.helper_lines(sql) == {1, 2, 3, 4}
