"""`make migration-squash`: on 50 revisions, the first 40 become one, proven; databases at 40
and 45 go on to head; one at 20 is refused in one line and left as it was; a squash that would
build another schema is refused and nothing is written."""

import sys
from collections.abc import Callable
from pathlib import Path

from sqlalchemy.engine import URL

from bench.speed import write_revisions
from migration_toolkit.checks import snapshot as catalog
from migration_toolkit.checks.connection import run_on
from migration_toolkit.run.checksums import file_checksum
from tests.support import pg
from tests.support.project import Project, copy_project

AT_20, AT_40, AT_45, HEAD = (f"{n - 1:012x}" for n in (20, 40, 45, 50))

# Drops every index the squash would create: the proof must see the difference.
BROKEN_SQUASH = """
import sys
from migration_toolkit.schema import squash
def without_indexes(statements):
    return [s for s in statements if not s.startswith("CREATE INDEX")]
try:
    squash.squash(sys.argv[1], transform=without_indexes)
except Exception as exc:
    print(f"error: {exc}", file=sys.stderr)
    sys.exit(1)
"""


def migrated(project: Project, url: URL, rev: str) -> None:
    project.database_url = url
    result = project.make("migrate", f"rev={rev}")
    assert result.returncode == 0, result.output


def test_squash_the_first_40_of_50_revisions(
    tmp_path: Path, new_database: Callable[[], URL]
) -> None:
    project = Project(root=copy_project(tmp_path / "project"), database_url=new_database())
    write_revisions(project, 49)  # after the project's own: 50 in all
    assert len(project.versions()) == 50
    reference, at_20, at_40, at_45 = (new_database() for _ in range(4))
    migrated(project, reference, "head")
    for url, rev in ((at_20, AT_20), (at_40, AT_40), (at_45, AT_45)):
        migrated(project, url, rev)
    at_head = run_on(reference, catalog.take)
    before_20 = run_on(at_20, catalog.take)
    files = project.versions()

    # A squash whose SQL would build another schema: refused, nothing written.
    broken = project.run(sys.executable, "-c", BROKEN_SQUASH, AT_40, timeout=300)
    assert broken.returncode == 1, broken.output
    assert broken.errors() == [
        f"error: the squashed revision builds a different schema at {AT_40} (differences "
        "above): the squash is refused, nothing was written"
    ]
    assert "is missing (CREATE INDEX" in broken.stderr
    assert project.versions() == files

    usage = project.make("migration-squash")
    assert usage.returncode == 2
    assert usage.errors()[0].startswith("error: missing rev: make migration-squash rev=")
    unknown = project.make("migration-squash", "rev=feedfacecafe")
    assert unknown.errors() == [
        "error: rev=feedfacecafe names no revision (or more than one): "
        "`make migration-history` lists them"
    ]

    squashed = project.make("migration-squash", f"rev={AT_40}", timeout=300)
    assert squashed.returncode == 0, squashed.output
    assert f"proven: same catalog at {AT_40} and at head" in squashed.stderr
    remaining = project.versions()
    assert len(remaining) == 11  # the squash and the 10 revisions after it
    [squash_file] = [path for path in remaining if "squash_40_revisions" in path.name]
    text = squash_file.read_text()
    assert (
        f'revision: str = "{AT_40}"' in text
        and "down_revision: str | Sequence[str] | None = None" in text
    )
    assert '"8ef2faae17b8",' in text and f'"{AT_20}",' in text
    # Alembic's own graph is valid, and the check is content (no model drift aside).
    history = project.make("migration-history")
    assert history.returncode == 0, history.output
    assert f"<base> -> {AT_40}, squash of 40 revisions" in history.stdout

    fresh = new_database()
    migrated(project, fresh, "head")
    assert catalog.differences(at_head, run_on(fresh, catalog.take)) == []

    for url in (at_40, at_45):
        migrated(project, url, "head")
        assert pg.version(url) == [HEAD]
        assert catalog.differences(at_head, run_on(url, catalog.take)) == []
    # The ledger of a database at 40 now records the squash file, not the file it replaced.
    ledger = {
        row["revision"]: (row["checksum"], row["filename"])
        for row in pg.fetch(at_40, "SELECT revision, checksum, filename FROM alembic_checksum")
    }
    assert ledger[AT_40] == (file_checksum(squash_file), squash_file.name)
    assert set(ledger) == {path.name.rsplit("-", 1)[1][:-3] for path in remaining}

    project.database_url = at_20
    refused = project.make("migrate")
    assert refused.returncode != 0
    assert len(refused.errors()) == 1, refused.output
    line = refused.errors()[0]
    assert f"is at revision {AT_20}, which squash {AT_40} (" in line
    assert squash_file.name in line and "nothing was changed" in line
    assert "Traceback" not in refused.output
    assert pg.version(at_20) == [AT_20]
    assert catalog.differences(before_20, run_on(at_20, catalog.take)) == []
