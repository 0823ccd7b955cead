"""`python -m app.storage` starts without the cyclic GC, and turns it back on for revisions."""

import sys

from tests.storage.safety_support import head_of, write_revision
from tests.support import pg
from tests.support.project import Project


def test_revisions_run_with_garbage_collection_on(project: Project) -> None:
    # A long backfill must not accumulate cyclic garbage: the revision records what it saw.
    write_revision(
        project,
        "9c0000000001",
        head_of(project),
        """
        import gc

        op.execute("CREATE TABLE gc_seen (enabled boolean NOT NULL)")
        op.execute(f"INSERT INTO gc_seen VALUES ({str(gc.isenabled()).lower()})")
        """,
        "op.execute('DROP TABLE gc_seen')",
    )
    result = project.make("migrate")
    assert result.returncode == 0, result.output
    assert [row["enabled"] for row in pg.fetch(project.database_url, "SELECT * FROM gc_seen")] == [
        True
    ]


def test_a_no_op_run_never_turns_it_on(project: Project) -> None:
    # Nothing to run: the process reads, checks and exits with collection still off.
    assert project.make("migrate").returncode == 0
    result = project.run(
        sys.executable,
        "-c",
        "import gc, runpy, sys; sys.argv = ['app.storage', 'migrate']\n"
        "try:\n    runpy.run_module('app.storage', run_name='__main__')\n"
        "except SystemExit as done:\n    print(done.code, gc.isenabled())",
    )
    assert result.stdout.split() == ["0", "False"], result.output
