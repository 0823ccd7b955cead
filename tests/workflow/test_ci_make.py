"""`make ci`'s runner: every step in order, timed, on one Postgres, failing if any step fails."""

import re
import sys

import pytest
import yaml

from migration_toolkit.checks import ci
from tests.support import pg
from tests.support.project import PROJECT_ROOT

PYTHON = sys.executable
# A step that proves it got a working TEST_DATABASE_URL: it connects and prints the major.
PROBE = (
    "import os, asyncio, asyncpg\n"
    "async def main():\n"
    "    c = await asyncpg.connect(os.environ['TEST_DATABASE_URL'].replace('+asyncpg', ''))\n"
    "    print('server major', (await c.fetchval('SHOW server_version_num'))[:2])\n"
    "    await c.close()\n"
    "asyncio.run(main())\n"
)


def test_the_plan_is_the_merge_gate_in_order() -> None:
    names = [step.name for step in ci.steps()]
    assert names == [
        "ruff check",
        "ruff format",
        "mypy",
        "migration-check",
        "migration-lint",
        "migration-test",
        "test",
    ]
    assert ci.steps()[-1].argv[-1] == "test"  # the README's `make test`
    with_base = {step.name: step.argv for step in ci.steps("origin/main")}
    assert with_base["migration-lint"][-2:] == ("--base", "origin/main")
    assert with_base["migration-check"][-2:] == ("--base", "origin/main")


def test_every_step_runs_and_a_failure_fails_the_run(
    pg_server: pg.Server, monkeypatch: pytest.MonkeyPatch, capfd: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("TEST_DATABASE_URL", pg_server.url.render_as_string(hide_password=False))
    plan = [
        ci.Step("fails", (PYTHON, "-c", "raise SystemExit(3)")),
        ci.Step("probe", (PYTHON, "-c", PROBE)),
    ]
    assert ci.main([], plan=plan) == 1
    out, err = capfd.readouterr()
    assert "server major" in out  # the step after the failure still ran
    assert re.search(r"^  fails +\d+\.\d s  FAILED \(exit 3\)$", out, re.M), out
    assert re.search(r"^  probe +\d+\.\d s  ok$", out, re.M), out
    assert re.search(r"^  total +\d+\.\d s$", out, re.M), out
    assert err.strip().splitlines()[-1] == "error: make ci failed: fails: see the output above"


def test_without_a_server_one_is_started_for_the_whole_run(
    monkeypatch: pytest.MonkeyPatch, capfd: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("TEST_DATABASE_URL", raising=False)
    plan = [ci.Step("first", (PYTHON, "-c", PROBE)), ci.Step("second", (PYTHON, "-c", PROBE))]
    assert ci.main([], plan=plan) == 0
    out, err = capfd.readouterr()
    assert err.count("starting a throwaway Postgres") == 1
    # The embedded Postgres, the same major version as docker-compose.yml's.
    compose = yaml.safe_load((PROJECT_ROOT / "docker-compose.yml").read_text())
    major = compose["services"]["postgres"]["image"].split(":")[1].split(".")[0]
    assert out.count(f"server major {major}") == 2, out
