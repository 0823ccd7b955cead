"""docs/migrations.md and README.md, followed as a reader follows them: top to bottom, in one
clone and one database, every command shown run in order and every file edit applied as shown.
"""

import os
import re
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest
from sqlalchemy.engine import URL

from tests.support.project import PROJECT_ROOT, Project, Result, copy_project
from tests.workflow import docs_runner
from tests.workflow.docs_runner import GuideError, Step

GUIDE = PROJECT_ROOT / "docs" / "migrations.md"
README = PROJECT_ROOT / "README.md"
# What following the guide must leave green: the migration gates of `make ci`, and ruff/mypy.
GATES = ("migration-check", "migration-lint", "migration-test", "lint")


def without_uv(path: str) -> str:
    """PATH minus every folder holding a `uv`: a newcomer has none."""
    folders = path.split(os.pathsep)
    return os.pathsep.join(f for f in folders if f and not Path(f, "uv").exists())


def clone(root: Path, database_url: URL) -> Project:
    """A clean clone: the source tree, committed in a git repository of its own."""
    project = Project(root=copy_project(root), database_url=database_url)
    project.env.update(
        PATH=without_uv(os.environ.get("PATH", "")),
        GIT_AUTHOR_NAME="Newcomer",
        GIT_AUTHOR_EMAIL="newcomer@example.invalid",
        GIT_COMMITTER_NAME="Newcomer",
        GIT_COMMITTER_EMAIL="newcomer@example.invalid",
    )
    for command in (["init", "-q", "-b", "main"], ["add", "-A"], ["commit", "-qm", "clone"]):
        done = project.run("git", *command)
        assert done.returncode == 0, done.output
    return project


def check(result: Result, step: Step, document: str) -> None:
    where = step.where(document)
    assert "Traceback" not in result.output, f"{where}\n{result.output}"
    if step.expect_error:
        assert result.returncode != 0, f"{where}: should fail\n{result.output}"
        assert len(result.errors()) == 1, f"{where}: want one error line\n{result.output}"
    else:
        assert result.returncode == 0, f"{where}: failed\n{result.output}"


def follow(project: Project, steps: list[Step], document: str) -> None:
    for step in steps:
        if step.kind == "run":
            check(project.run("bash", "-c", step.text, timeout=300), step, document)
        else:
            docs_runner.apply(project.root, step, document)


def test_the_guide_hides_nothing() -> None:
    text = GUIDE.read_text()
    assert "doc-test" not in text, "a hidden <!-- doc-test --> directive is back"
    assert not re.search(r"(^|[\s`(])uv (run|sync)", text), "the guide assumes uv on PATH"
    steps = docs_runner.parse(GUIDE)
    titles = docs_runner.sections(steps)
    for expected in ("Quick start", "The workflow", "Common operations", "CI", "Incidents"):
        assert expected in titles, titles
    assert any(step.kind == "edit" for step in steps)
    assert any(step.expect_error for step in steps)


def test_the_guide_runs_top_to_bottom_in_one_clone_and_one_database(
    tmp_path: Path, new_database: Callable[[], URL]
) -> None:
    project = clone(tmp_path / "project", new_database())
    follow(project, docs_runner.parse(GUIDE), "docs/migrations.md")
    # Done as written, the guide leaves `make ci`'s migration gates and ruff/mypy green.
    for gate in GATES:
        result = project.make(gate, timeout=600)
        assert result.returncode == 0, f"after the guide, make {gate} fails:\n{result.output}"


def test_the_readme_runs_as_written(tmp_path: Path, new_database: Callable[[], URL]) -> None:
    text = README.read_text()
    assert not re.search(r"(^|[\s`(])uv (run|sync)", text), "the README assumes uv on PATH"
    steps = docs_runner.parse(README)
    assert [step.text for step in steps if step.kind == "run"][:1] == ["make migrate"]
    follow(clone(tmp_path / "project", new_database()), steps, "README.md")


# The runner itself: what a block means.

REVISION = '''"""add things"""

import sqlalchemy as sa
from alembic import op

revision = "abc"


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
'''


def test_an_edit_replaces_definitions_and_adds_imports() -> None:
    change = (
        "from migration_toolkit import online\n\n\n"
        "# squawk-ignore: ban-drop-column -- unused since the last release\n"
        "def upgrade() -> None:\n"
        '    online.set_not_null("author", "email")\n'
    )
    edited = docs_runner.edit(REVISION, change, "test")
    assert edited == REVISION.replace(
        "from alembic import op\n",
        "from alembic import op\n\nfrom migration_toolkit import online\n",
    ).replace(
        "def upgrade() -> None:\n    pass\n",
        "# squawk-ignore: ban-drop-column -- unused since the last release\n"
        'def upgrade() -> None:\n    online.set_not_null("author", "email")\n',
    )
    # Applied again, it changes nothing: the comment above is part of the definition.
    assert docs_runner.edit(edited, change, "test") == edited


def test_an_edit_refuses_what_it_cannot_place() -> None:
    with pytest.raises(GuideError, match="no `upgrad` to replace"):
        docs_runner.edit(REVISION, "def upgrad() -> None:\n    pass\n", "test")
    with pytest.raises(GuideError, match="imports, functions and classes only"):
        docs_runner.edit(REVISION, "x = 1\n", "test")


def test_blocks_become_steps(tmp_path: Path) -> None:
    guide = tmp_path / "guide.md"
    guide.write_text(
        "## One\n\n"
        "```bash\nmake migrate\n# a comment\nmake rollback \\\n  rev=base\n"
        'make migration msg="x"   # fails: not at head\n```\n\n'
        "```sh\nmake test\n```\n\n"
        "```python\n# file: app/x.py\nX = 1\n```\n\n"
        "1. Step:\n\n   ```python\n   # edit: app/storage/migrations/versions/*-x-*.py\n"
        "   def upgrade() -> None:\n       pass\n   ```\n\n"
        "```python\nprint('shown, not applied')\n```\n"
    )
    steps = docs_runner.parse(guide)
    assert [(s.kind, s.text, s.expect_error) for s in steps if s.kind == "run"] == [
        ("run", "make migrate", False),
        ("run", "make rollback rev=base", False),
        ("run", 'make migration msg="x"   # fails: not at head', True),
    ]
    assert [(s.kind, s.path, s.text) for s in steps if s.kind != "run"] == [
        ("file", "app/x.py", "X = 1\n"),
        ("edit", "app/storage/migrations/versions/*-x-*.py", "def upgrade() -> None:\n    pass\n"),
    ]
    assert {s.section for s in steps} == {"One"}
    with pytest.raises(GuideError, match="inside the project"):
        docs_runner.target(tmp_path, "../outside.py")


def test_git_is_what_a_clone_has(tmp_path: Path, new_database: Callable[[], URL]) -> None:
    project = clone(tmp_path / "project", new_database())
    status = subprocess.run(
        ["git", "status", "--porcelain"], cwd=project.root, capture_output=True, text=True
    )
    assert status.returncode == 0 and status.stdout == ""
    folders = project.environment()["PATH"].split(os.pathsep)
    assert not any(Path(folder, "uv").exists() for folder in folders if folder)
