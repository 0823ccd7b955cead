"""The parts of bench/ that compute what its reports say, and `make bench`'s usage check."""

import sys
from pathlib import Path

from alembic.script import ScriptDirectory

from bench import timeline
from bench.calibrate import percentile
from bench.schema import write_churn
from bench.service import Sample
from bench.speed import REVISIONS, plain_alembic, write_revisions
from migration_toolkit.online.events import Step
from migration_toolkit.revisions import alembic_config
from tests.support import pg
from tests.support.project import Project


def sample(sent: float, latency: float, status: int = 200) -> Sample:
    return Sample(kind="get", sent=sent, latency=latency, status=status)


def test_longest_stall_is_the_longest_time_without_a_good_answer() -> None:
    samples = [sample(0.0, 0.01), sample(0.1, 0.01), sample(0.2, 2.0, status=0), sample(1.5, 0.1)]
    # Answers at 0.01, 0.11 and 1.6; the failed one does not count.
    start, end = timeline.longest_stall(samples, 0.0, 2.0)
    assert (round(start, 2), round(end, 2)) == (0.11, 1.6)
    assert timeline.longest_stall([], 0.0, 3.0) == (0.0, 3.0)


STEPS = [
    Step("revision", "upgrade bench", 0.0, 10.0),
    Step("helper", "backfill book", 0.5, 6.0),
    Step("batch", "book id > 0", 0.6, 0.7),
    Step("batch", "book id > 1,000", 1.0, 1.9),
    Step("sql", "UPDATE book ...", 1.0, 1.9),
    Step("sql", "SELECT 1", 2.0, 2.001),
    Step("index", "create ix_book_title", 6.0, 9.0),
]


def test_a_stall_is_put_on_the_most_specific_step_it_overlapped() -> None:
    samples = [sample(0.0, 0.01), sample(1.1, 0.01), sample(1.95, 0.02)]
    stall = timeline.stall(samples, STEPS, 0.0, 2.0)
    assert stall.culprit is not None and stall.culprit.name == "book id > 1,000"
    assert timeline.culprit(STEPS, 6.5, 7.0) == STEPS[-1]
    assert timeline.culprit(STEPS, 9.5, 9.9) == STEPS[0]  # only the revision was running
    slow = [sample(6.2, 1.5), sample(1.0, 0.01)]
    assert timeline.slowest(slow, STEPS) == STEPS[-1]
    assert timeline.drawn(STEPS) == [s for s in STEPS if s.name != "SELECT 1"]


def test_shading_marks_statements_that_block_writes_not_batches() -> None:
    def sql(text: str) -> Step:
        return Step("sql", text, 0.0, 1.0)

    assert timeline.blocking_statement(sql("ALTER TABLE book ALTER COLUMN author_id TYPE BIGINT"))
    assert timeline.blocking_statement(sql("UPDATE book SET sort_key = lower(title)"))
    assert not timeline.blocking_statement(sql("WITH batch AS (SELECT id AS backfill_key ..."))
    assert not timeline.blocking_statement(sql("CREATE INDEX CONCURRENTLY ix ON book (title)"))
    assert not timeline.blocking_statement(Step("sql", "ALTER TABLE book ADD x", 0.0, 0.01))
    assert timeline.contains(STEPS[0], STEPS[1]) and not timeline.contains(STEPS[1], STEPS[1])


def test_the_timeline_is_a_png(tmp_path: Path) -> None:
    samples = [sample(t / 10, 0.005 + (0.5 if 10 < t < 20 else 0)) for t in range(100)]
    samples.append(sample(3.0, 5.0, status=0))
    path = tmp_path / "t.png"
    timeline.draw(path, title="test", samples=samples, steps=STEPS, started=0.0, finished=10.0)
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


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
        "error: unknown which=everything: make bench which=all|load|speed|plan|schema|chaos"
    ]


def test_churn_revisions_lengthen_the_history_not_the_schema(project: Project) -> None:
    # bench/schema.py's long history: the same schema at head as the short one.
    write_revisions(project, 3)
    write_churn(project, 6)
    script = ScriptDirectory.from_config(alembic_config(project.root / "alembic.ini"))
    assert script.get_heads() == [f"{REVISIONS + 6:012x}"]
    result = project.make("migrate")
    assert result.returncode == 0, result.output
    for table in ("author", "book"):
        assert not [name for name in pg.columns(project.database_url, table) if "churn" in name]
