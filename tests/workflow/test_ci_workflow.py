"""The hosted CI job: parses, runs `make ci` against a Postgres service of the same major
version as docker-compose.yml, and .ci/run does the same on a clean machine."""

import os
import re
from pathlib import Path
from typing import Any

import pytest
import yaml
from sqlalchemy.engine import make_url

from migration_toolkit.local import throwaway
from migration_toolkit.schema import dump
from tests.support import pg
from tests.support.project import PROJECT_ROOT, Project, copy_project

WORKFLOW = PROJECT_ROOT / ".github" / "workflows" / "ci.yml"


def load(path: Path) -> dict[str, Any]:
    loaded = yaml.safe_load(path.read_text())
    assert isinstance(loaded, dict), path
    return loaded


def postgres_major(image: str) -> str:
    match = re.fullmatch(r"postgres:(\d+)(?:[.\-].*)?", image)
    assert match, f"not a postgres image with a major version: {image}"
    return match.group(1)


def job() -> dict[str, Any]:
    jobs = load(WORKFLOW)["jobs"]
    assert len(jobs) == 1, jobs
    only: dict[str, Any] = next(iter(jobs.values()))
    return only


def runs(steps: list[dict[str, Any]]) -> list[str]:
    return [step["run"].strip() for step in steps if "run" in step]


def test_the_workflow_runs_on_pushes_and_pull_requests() -> None:
    workflow: dict[Any, Any] = load(WORKFLOW)
    # PyYAML reads the bare key `on` as True (YAML 1.1).
    triggers = workflow["on"] if "on" in workflow else workflow[True]
    assert {"push", "pull_request"} <= set(triggers)


def test_make_ci_runs_against_a_postgres_service_of_the_compose_major_version() -> None:
    compose = load(PROJECT_ROOT / "docker-compose.yml")
    ci = job()
    service = ci["services"]["postgres"]
    assert postgres_major(service["image"]) == postgres_major(
        compose["services"]["postgres"]["image"]
    )
    assert "pg_isready" in service["options"]
    # TEST_DATABASE_URL points at that service, with its credentials and published port.
    url = make_url(ci["env"]["TEST_DATABASE_URL"])
    published = {str(port).split(":")[0] for port in service["ports"]}
    assert url.host in {"127.0.0.1", "localhost"}
    assert str(url.port) in published
    assert url.username == service["env"]["POSTGRES_USER"]
    assert url.password == service["env"]["POSTGRES_PASSWORD"]
    commands = runs(ci["steps"])
    assert commands.index("make install") < commands.index("make ci"), commands


def test_pull_requests_lint_only_what_they_add() -> None:
    ci = job()
    assert "github.base_ref" in ci["env"]["base"]
    assert "pull_request" in ci["env"]["base"]
    checkout = next(step for step in ci["steps"] if step.get("uses", "").startswith("actions/"))
    assert checkout["with"]["fetch-depth"] == 0
    # make ci hands base= to the lint and the drift check.
    makefile = (PROJECT_ROOT / "Makefile").read_text()
    assert re.search(r"^ci:.*\n\t.*checks\.ci \$\$\{base:\+--base", makefile, re.M)


def test_the_guide_shows_the_same_job() -> None:
    guide = (PROJECT_ROOT / "docs" / "migrations.md").read_text()
    section = guide[guide.index("\n## CI\n") :]
    block = re.search(r"```yaml\n(.*?)```", section, re.S)
    assert block is not None
    shown = yaml.safe_load(block.group(1))["jobs"]["ci"]
    actual = job()
    assert shown["services"]["postgres"]["image"] == actual["services"]["postgres"]["image"]
    assert shown["env"] == {key: actual["env"][key] for key in shown["env"]}
    assert runs(shown["steps"]) == runs(actual["steps"])


def test_ci_run_installs_then_runs_make_ci() -> None:
    script = PROJECT_ROOT / ".ci" / "run"
    assert os.access(script, os.X_OK)
    lines = [line.strip() for line in script.read_text().splitlines()]
    assert lines.index("make install") < lines.index("make ci")


def test_the_checks_use_the_server_ci_names(pg_server: pg.Server, tmp_path: Path) -> None:
    # The developer's configured server is unreachable: only TEST_DATABASE_URL can serve.
    project = Project(
        root=copy_project(tmp_path / "project"),
        database_url=make_url("postgresql+asyncpg://postgres:x@127.0.0.1:1/app"),
        env={"TEST_DATABASE_URL": pg_server.url.render_as_string(hide_password=False)},
    )
    result = project.make("migration-check")
    assert result.returncode == 0, result.output
    # The snapshot is dumped from a server of pg_dump's major version: any other one (the
    # machine's older Postgres as TEST_DATABASE_URL, say) makes the check start one of ours.
    if throwaway.server_major(pg_server.url) == dump.pg_dump_major():
        assert "starting a throwaway Postgres" not in result.output


@pytest.mark.parametrize("target", ["migration-check", "migration-lint", "migration-test", "ci"])
def test_the_targets_ci_relies_on_are_listed(target: str) -> None:
    makefile = (PROJECT_ROOT / "Makefile").read_text()
    assert re.search(rf"^{re.escape(target)}: .*## ", makefile, re.M), target
