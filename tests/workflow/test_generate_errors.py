"""`make migration` when there is nothing to write, or something is wrong: one line, no file."""

from collections.abc import Callable
from pathlib import Path

import pytest
from sqlalchemy.engine import URL

from tests.support.project import VERSIONS, Project, Result, copy_project


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory, new_database: Callable[[], URL]) -> Project:
    root = copy_project(tmp_path_factory.mktemp("generate-errors") / "project")
    project = Project(root=root, database_url=new_database())
    migrated = project.make("migrate")
    assert migrated.returncode == 0, migrated.output
    return project


def generate(project: Project, *args: str) -> tuple[Result, list[Path]]:
    before = project.versions()
    result = project.make("migration", *args)
    return result, project.new_versions(before)


def assert_one_error(result: Result, *phrases: str) -> None:
    assert result.returncode != 0, result.output
    assert len(result.errors()) == 1, result.output
    assert "Traceback" not in result.output, result.output
    for phrase in phrases:
        assert phrase in result.errors()[0], result.output


def test_no_model_change_writes_nothing(project: Project) -> None:
    result, written = generate(project, "msg=nothing")
    assert result.returncode == 0, result.output
    assert "No changes detected" in result.output
    assert written == []


def test_a_broken_model_module_stops_generation(project: Project) -> None:
    project.write(
        "app/models/broken.py", "from sqlmodel import Field\n\nraise RuntimeError('oops')\n"
    )
    try:
        result, written = generate(project, "msg=with a broken module")
    finally:
        (project.root / "app/models/broken.py").unlink()
    assert_one_error(result, "app.models.broken", "RuntimeError")
    assert written == []


def test_a_malformed_rename_is_refused(project: Project) -> None:
    result, written = generate(project, "msg=rename", "rename=author.name")
    assert_one_error(result, "'author.name'", 'rename="author.name:full_name"')
    assert written == []


def test_a_rename_that_matches_nothing_is_refused(project: Project) -> None:
    result, written = generate(project, "msg=rename", "rename=author.nom:full_name")
    assert_one_error(result, "author.nom:full_name", "matches no")
    assert written == []


def test_a_file_that_fails_ruff_is_reported(project: Project) -> None:
    template = project.root / "app/storage/migrations/script.py.mako"
    original = template.read_text()
    # An undefined name in upgrade(): the file loads, ruff cannot fix it, the check must fail.
    template.write_text(
        original.replace(
            "def upgrade() -> None:\n", "def upgrade() -> None:\n    undefined_name()\n"
        )
    )
    project.edit(
        "app/models/author.py",
        "    id: int | None = Field(default=None, primary_key=True)\n",
        "    id: int | None = Field(default=None, primary_key=True)\n"
        "    note: str | None = Field(default=None, max_length=20)\n",
    )
    try:
        result, written = generate(project, "msg=lint failure")
    finally:
        template.write_text(original)
    assert_one_error(result, "fails `ruff check`", "nothing was written")
    assert "F821" in result.output  # the findings are shown
    assert written == []  # a failed generation leaves nothing behind


def test_a_broken_model_module_blocks_neither_rollback_nor_current(project: Project) -> None:
    """During an incident, a model module that fails to import must not stand in the way."""
    project.write("app/models/broken.py", "raise RuntimeError('oops')\n")
    try:
        rolled_back = project.make("rollback")
        current = project.make("migration-current")
        history = project.make("migration-history")
        migrated = project.make("migrate")
        generated, written = generate(project, "msg=blocked")
        checked = project.make("migration-check")
    finally:
        (project.root / "app/models/broken.py").unlink()
    for result in (rolled_back, current, history, migrated):
        assert result.returncode == 0, result.output
        assert "Traceback" not in result.output
    assert "rolled back from" in rolled_back.output
    assert "upgraded from" in migrated.output
    assert_one_error(generated, "app.models.broken", "RuntimeError")
    assert written == []
    assert_one_error(checked, "app.models.broken", "RuntimeError")


MESSAGES = [
    'a "quoted" word',
    'ends in a quote"',
    'triple """ quotes """ inside',
    "back\\slash \\N{oops} \\x00",
    "two\nlines",
    "x" * 500,
    "unicode: café, 数据库, 🚀",
    "-h",
]


@pytest.mark.parametrize("message", MESSAGES, ids=range(len(MESSAGES)))
def test_a_message_is_data_wherever_it_lands(project: Project, message: str) -> None:
    before = project.versions()
    result = project.make("migration-empty", f"msg={message}")
    assert result.returncode == 0, result.output
    [written] = project.new_versions(before)
    try:
        source = written.read_text()
        module = compile(source, str(written), "exec")
        namespace: dict[str, object] = {}
        exec(module, namespace)  # the revision file itself: Alembic imports it the same way
        assert str(namespace["__doc__"]).startswith(message)
        assert written.parent == project.root / VERSIONS  # the message never picks the folder
        assert not any(ch.isspace() or ch in "/\\\"'" for ch in written.name)
    finally:
        written.unlink()


def test_a_message_cannot_run_code(project: Project, tmp_path: Path) -> None:
    marker = tmp_path / "injected"
    message = f'x""" + __import__("os").system("touch {marker}") + """'
    before = project.versions()
    result = project.make("migration-empty", f"msg={message}")
    assert result.returncode == 0, result.output
    [written] = project.new_versions(before)
    try:
        history = project.make("migration-history")
        assert history.returncode == 0, history.output
        assert message in history.output  # shown as written, never run
        assert project.make("migrate").returncode == 0
        assert project.make("rollback").returncode == 0
    finally:
        written.unlink()
    assert not marker.exists()
