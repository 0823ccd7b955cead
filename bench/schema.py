"""Benchmark 3: the test session's database, built from the schema snapshot vs by replaying.

Two scratch copies with the same schema: 200 synthetic revisions after the project's own
(bench/speed.py's), and the same 200 plus 800 that add a column and drop it again in pairs, so
the history is five times longer and the schema at head is the same. For each, medians of
alternating runs, each on a new empty database (its creation not timed, as on every side):

- snapshot: what the test session's fixture does (migration_toolkit.schema.load.build): one
  psql run loads the committed snapshot and records the stamp (version table, checksum ledger);
- floor: psql loading the same snapshot file, nothing else;
- replay: the old way, every revision upgraded through env.py.

Everything runs in this process, as in the test session, after one warm-up run of each.
"""

import gc
import os
import random
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from sqlalchemy.engine import URL

from bench.common import (
    VERSIONS,
    Project,
    copy_project,
    head_of,
    median,
    pg,
    server,
    table,
    timed,
    write_report,
)
from bench.speed import HEADER, REVISIONS, write_revisions
from migration_toolkit.checks.connection import run_on
from migration_toolkit.schema import load, snapshot

LONG = 1000
RUNS = 7
TARGET = 1.2


def write_churn(project: Project, count: int) -> None:
    """count revisions after the head that leave the schema as it was: add, then drop."""
    rng = random.Random(7)
    down = head_of(project)
    target, column = "author", ""
    for offset in range(count):
        n = REVISIONS + 1 + offset
        rev = f"{n:012x}"
        if offset % 2 == 0:
            target, column = rng.choice(["author", "book"]), f"churn_{n:04d}"
            upgrade = f'    op.add_column("{target}", sa.Column("{column}", sa.Integer()))'
            downgrade = f'    op.drop_column("{target}", "{column}")'
        else:
            upgrade = f'    op.drop_column("{target}", "{column}")'
            downgrade = f'    op.add_column("{target}", sa.Column("{column}", sa.Integer()))'
        text = HEADER.format(n=n, rev=rev, down=down, upgrade=upgrade, downgrade=downgrade)
        (project.root / VERSIONS / f"2099_01_02_{n:04d}-churn_{n}-{rev}.py").write_text(text)
        down = rev


class Side:
    """One scratch copy, its snapshot written, measured in this process."""

    def __init__(self, found: pg.Server, root: Path, revisions: int) -> None:
        self.server, self.root, self.revisions = found, root, revisions
        self.snapshot = root / "app" / "storage" / "schema.sql"

    def activate(self) -> None:
        # The toolkit finds the project from here: this copy's alembic.ini and versions/.
        os.environ["MIGRATION_TOOLKIT_ROOT"] = str(self.root)

    def fresh(self) -> URL:
        return pg.create_database(self.server, prefix="bench_schema")

    def from_snapshot(self, url: URL) -> None:
        assert load.build(url, self.snapshot) == "snapshot"

    def psql(self, url: URL) -> None:
        load.psql_load(url, self.snapshot)

    def replay(self, url: URL) -> None:
        run_on(url, snapshot.upgrade_to_heads)


def measure(side: Side, runs: int) -> dict[str, float]:
    side.activate()
    # The floor and ours alternate; the replays come after them all, as they fill this
    # process with every revision module (whose garbage would be collected on our time). Each
    # run starts alike: a checkpoint, and a collection, neither timed.
    rounds: list[dict[str, Callable[[URL], None]]] = [
        {"psql": side.psql, "snapshot": side.from_snapshot},
        {"replay": side.replay},
    ]
    times: dict[str, list[float]] = {}
    for steps in rounds:
        for warm in (True, *([False] * runs)):
            for name, step in steps.items():
                url = side.fresh()
                pg.execute(side.server.url, "CHECKPOINT")
                gc.collect()
                seconds = timed(lambda url=url, step=step: step(url))  # type: ignore[misc]
                pg.drop_database(side.server, url)
                if not warm:
                    times.setdefault(name, []).append(seconds)
    return {name: median(values) for name, values in times.items()}


def prepared(found: pg.Server, folder: Path, name: str, churn: int) -> Side:
    root = copy_project(folder / name)
    project = Project(root=root, database_url=pg.create_database(found, prefix=f"bench_{name}"))
    write_revisions(project, REVISIONS)
    if churn:
        write_churn(project, churn)
    result = project.run(sys.executable, "-m", "migration_toolkit", "snapshot", timeout=600)
    if result.returncode != 0:
        raise RuntimeError(f"snapshot of {name} failed:\n{result.output}")
    pg.drop_database(found, project.database_url)
    return Side(found, root, REVISIONS + churn + 1)


def main(runs: int = RUNS) -> str:
    began = time.monotonic()
    saved = os.environ.get("MIGRATION_TOOLKIT_ROOT")
    rows = []
    try:
        with server() as found, tempfile.TemporaryDirectory(prefix="bench-schema-") as tmp:
            folder = Path(tmp)
            for name, churn in (("short", 0), ("long", LONG - REVISIONS)):
                print(f"schema: {name} history ...", file=sys.stderr, flush=True)
                side = prepared(found, folder, name, churn)
                got = measure(side, runs)
                print(f"schema: {name}: {got}", file=sys.stderr, flush=True)
                ratio = got["snapshot"] / got["psql"]
                rows.append(
                    [
                        f"{side.revisions} (+ {REVISIONS} synthetic + {churn} add-then-drop)"
                        if churn
                        else f"{side.revisions} (the project's + {REVISIONS} synthetic)",
                        f"{side.snapshot.stat().st_size:,}",
                        f"{got['snapshot']:.3f}",
                        f"{got['psql']:.3f}",
                        f"{ratio:.2f}x",
                        f"<= {TARGET:g}x " + ("met" if ratio <= TARGET else "NOT met"),
                        f"{got['replay']:.3f}",
                        f"{got['replay'] / got['snapshot']:.1f}x",
                    ]
                )
    finally:
        if saved is None:
            os.environ.pop("MIGRATION_TOOLKIT_ROOT", None)
        else:
            os.environ["MIGRATION_TOOLKIT_ROOT"] = saved
    header = [
        "revisions",
        "snapshot bytes",
        "from snapshot s",
        "psql alone s",
        "ratio",
        "target",
        "replay s",
        "replay / snapshot",
    ]
    text = "\n".join(
        [
            "# Test databases from the schema snapshot",
            "",
            "The test session's set-up: an empty database brought to head. *From snapshot* is "
            "what `tests/conftest.py` does (`migration_toolkit.schema.load.build`: one psql run "
            "loads the committed snapshot and records the stamp, Alembic's version table at its "
            "head and the checksum ledger of every revision file); *psql alone* loads the same "
            "file and nothing else (the floor); *replay* "
            "upgrades every revision through env.py, as the session did before. Both histories "
            "build the same schema: the long one adds 800 revisions that add a column to author "
            "or book and drop it again. Run in one process, as in the test session, after a "
            f"warm-up; medians of {runs} runs (floor and ours alternating), each on a new empty "
            "database whose "
            "creation is not timed, after a CHECKPOINT and a garbage collection; the replays after "
            "the rest, as they load every revision module into the process.",
            "",
            table(header, rows),
            "",
            f"Run took {time.monotonic() - began:.0f} s. Re-run: `make bench which=schema` "
            "(or `uv run python -m bench schema`).",
            "",
        ]
    )
    write_report("schema_snapshot.md", text)
    return text


if __name__ == "__main__":
    print(main())
