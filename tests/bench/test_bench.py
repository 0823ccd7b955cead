"""The parts of bench/ that compute what its reports say, and `make bench`'s usage check."""

import sys

from alembic.script import ScriptDirectory

from bench.speed import REVISIONS, plain_alembic, write_revisions
from bench.zero_downtime import longest_stall, percentile
from migration_toolkit.revisions import alembic_config
from tests.support import pg
from tests.support.project import Project


def sample(sent: float, latency: float, status: int = 200) -> dict[str, float]:
    return {"sent": sent, "latency": latency, "status": status}


def test_longest_stall_is_the_longest_time_without_a_good_answer() -> None:
    samples = [sample(0.0, 0.01), sample(0.1, 0.01), sample(0.2, 2.0, status=0), sample(1.5, 0.1)]
    # Answers at 0.01, 0.11 and 1.6; the failed one does not count.
    assert round(longest_stall(samples, 0.0, 2.0), 2) == 1.49
    assert longest_stall([], 0.0, 3.0) == 3.0


def test_percentile_picks_from_the_sorted_values() -> None:
    values = [float(v) for v in range(1, 101)]
    assert percentile(values, 0.5) == 51.0
    assert percentile(values, 0.99) == 100.0
    assert percentile([], 0.99) == 0.0


def test_synthetic_revisions_form_one_chain(project: Project) -> None:
    write_revisions(project, REVISIONS)
    script = ScriptDirectory.from_config(alembic_config(project.root / "alembic.ini"))
    assert script.get_heads() == [f"{REVISIONS:012x}"]
    files = project.versions()
    assert len(files) > REVISIONS
    assert len(list(script.walk_revisions())) == len(files)


def test_plain_alembic_reference_runs_the_same_revisions(project: Project) -> None:
    # The speed report's reference column: Alembic's async template over our versions/.
    write_revisions(project, 3)
    ini = plain_alembic(project)
    url = project.database_url
    project.env["DATABASE_URL"] = url.render_as_string(hide_password=False)
    for args, expected in ((("upgrade", "head"), [f"{3:012x}"]), (("downgrade", "base"), [])):
        result = project.run(sys.executable, "-m", "alembic", "-c", str(ini), *args)
        assert result.returncode == 0, result.output
        assert pg.version(url) == expected
    assert "alembic_checksum" not in pg.tables(url)


def test_make_bench_refuses_an_unknown_benchmark(project: Project) -> None:
    result = project.make("bench", "which=everything")
    assert result.returncode == 2
    assert result.errors() == [
        "error: unknown which=everything: make bench which=all|load|speed|chaos"
    ]
