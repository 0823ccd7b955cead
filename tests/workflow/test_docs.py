"""Every command docs/migrations.md shows works as written, on a real Postgres."""

from collections.abc import Callable
from pathlib import Path

import pytest
from sqlalchemy.engine import URL

from tests.support.project import PROJECT_ROOT, Project, copy_project
from tests.workflow.docs_runner import Section, env_assignment, parse

DOCUMENTS = [PROJECT_ROOT / "docs" / "migrations.md"]
SECTIONS = [section for document in DOCUMENTS for section in parse(document)]


def test_the_guide_has_runnable_sections() -> None:
    titles = {section.title for section in SECTIONS}
    assert {"Quick start", "The workflow", "Troubleshooting"} <= titles


@pytest.mark.parametrize("section", SECTIONS, ids=[section.id for section in SECTIONS])
def test_section_commands_work_as_written(
    section: Section, tmp_path: Path, new_database: Callable[[], URL]
) -> None:
    project = Project(root=copy_project(tmp_path / "project"), database_url=new_database())
    for step in section.steps:
        where = f"{section.document} line {step.line}: {step.text}"
        if step.kind == "env":
            name, value = env_assignment(step.text)
            project.env[name] = value
            continue
        result = project.run("bash", "-c", step.text, timeout=180)
        if step.expect_error:
            assert result.returncode != 0, f"{where} should fail\n{result.output}"
            assert len(result.errors()) == 1, f"{where}: want one error line\n{result.output}"
            assert "Traceback" not in result.output, f"{where}\n{result.output}"
        else:
            assert result.returncode == 0, f"{where} failed\n{result.output}"
