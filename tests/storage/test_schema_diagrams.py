"""docs/schema.md: both diagrams current, and Mermaid that parses (structural check)."""

from collections.abc import Callable
from pathlib import Path

import pytest
from sqlalchemy.engine import URL

from migration_toolkit.schema import diagrams
from tests.support import mermaid
from tests.support.project import PROJECT_ROOT, Project, copy_project

DOCS = PROJECT_ROOT / "docs" / "schema.md"


def test_docs_schema_md_is_current_and_holds_both_diagrams() -> None:
    text = DOCS.read_text()
    assert text == diagrams.current()
    er, graph = mermaid.blocks(text)
    assert mermaid.er_problems(er) == []
    assert mermaid.flowchart_problems(graph) == []
    assert "author ||--o{ book : author_id" in er
    assert "INTEGER author_id FK" in er
    assert '8ef2faae17b8: create author and book (head)"]' in graph


def test_the_checker_refuses_what_mermaid_would() -> None:
    assert mermaid.er_problems("erDiagram\n  author {\n    VARCHAR(255) name\n") == [
        "entity author is never closed"
    ]
    assert mermaid.er_problems("erDiagram\n  author ||--o{ book : author_id\n") == [
        "line 2: relationship names no entity 'author'",
        "line 2: relationship names no entity 'book'",
    ]
    assert mermaid.er_problems("erDiagram\n  a {\n    NUMERIC(10, 2) x\n  }\n")[0].startswith(
        "line 3: not an attribute of a"
    )
    assert mermaid.flowchart_problems('flowchart TD\n    r1["a "quoted" b"]\n') == [
        'line 2: not flowchart syntax: \'    r1["a "quoted" b"]\''
    ]
    assert mermaid.flowchart_problems("flowchart TD\n    r1 --> r2\n") == [
        "line 2: edge to undeclared node r1",
        "line 2: edge to undeclared node r2",
    ]


def test_labels_escape_what_mermaid_reads() -> None:
    assert (
        diagrams.label('say "hi" <b> & #1 `x`') == '"say #34;hi#34; #60;b#62; #38; #35;1 #96;x#96;"'
    )


@pytest.fixture
def scratch(tmp_path: Path, new_database: Callable[[], URL]) -> Project:
    return Project(root=copy_project(tmp_path / "project"), database_url=new_database())


def test_branches_and_merges_are_drawn_and_kept_current(scratch: Project) -> None:
    """Two heads joined by make migration-merge: a hexagon with an edge from each."""
    assert scratch.make("migrate").returncode == 0
    for message in ("teammate change", "my change"):
        result = scratch.run(
            "uv", "run", "--no-sync", "alembic", "revision", "-m", message,
            "--head", "8ef2faae17b8", "--splice",
        )  # fmt: skip
        assert result.returncode == 0, result.output
    stale = scratch.make("migration-check")
    assert stale.returncode != 0
    assert "docs/schema.md is out of date" in stale.stderr or "more than one head" in stale.stderr
    merged = scratch.make("migration-merge", 'msg=merge "heads" <ok>')
    assert merged.returncode == 0, merged.output
    text = (scratch.root / "docs/schema.md").read_text()
    er, graph = mermaid.blocks(text)
    assert mermaid.er_problems(er) == []
    assert mermaid.flowchart_problems(graph) == []
    merge_lines = [line for line in graph.splitlines() if "{{" in line]
    assert len(merge_lines) == 1
    assert "merge #34;heads#34; #60;ok#62; (head)" in merge_lines[0]
    merge_node = merge_lines[0].split("{{")[0].strip()
    assert sum(line.endswith(f"--> {merge_node}") for line in graph.splitlines()) == 2
    # The root branches: two edges leave it.
    assert sum(line.strip().startswith("r1 -->") for line in graph.splitlines()) == 2
    checked = scratch.make("migration-check")
    assert checked.returncode == 0, checked.output
