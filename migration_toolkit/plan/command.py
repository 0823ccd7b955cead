"""`make migration-plan`: what the pending revisions will do to the configured database.

Read-only: the catalogs and pg_stat_user_tables are read, the rate probe works on a temporary
table in a transaction it rolls back. Exits non-zero when a statement would block writes
longer than the threshold, fails on the rows there are, or cannot be classified.
"""

import asyncio
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.engine import URL

from migration_toolkit.config import Project, current_project
from migration_toolkit.errors import UserFacingError
from migration_toolkit.plan import catalog as catalogs
from migration_toolkit.plan import probe, report
from migration_toolkit.plan.classify import Classifier
from migration_toolkit.plan.connect import connect
from migration_toolkit.plan.estimate import Rates, duration, estimate
from migration_toolkit.plan.source import pending_revisions
from migration_toolkit.revisions import VERSION_TABLE
from migration_toolkit.urls import describe


class PlanRefused(UserFacingError):
    """The plan found statements that should not run as they are."""


@dataclass(frozen=True)
class Options:
    threshold: float = 1.0
    out: Path | None = None
    traffic: float = 2.0
    fresh_probe: bool = False


def version_table(project: Project) -> str:
    schema = project.version_table_schema
    return f"{schema}.{VERSION_TABLE}" if schema else VERSION_TABLE


async def read_catalog(
    url: URL, project: Project, traffic: float, fresh_probe: bool, measure: bool = True
) -> tuple[catalogs.Catalog, Rates]:
    """The catalog snapshot, and this server's rates (the reference ones unless `measure`)."""
    connection = await connect(url)
    try:
        catalog = await catalogs.load(
            connection, version_table=version_table(project), traffic=traffic
        )
        key = probe.server_key(url.host, url.port, catalog.server_version)
        rates = None if fresh_probe else probe.stored(project.local_dir, key)
        if not measure:
            rates = probe.DEFAULT
        if rates is None:
            rates = await probe.probe_or_default(connection)
    finally:
        await connection.close()
    return catalog, rates


def make_plan(url: URL, catalog: catalogs.Catalog, rates: Rates, threshold: float) -> report.Plan:
    applied = catalog.versions
    revisions = pending_revisions(applied)
    classifier = Classifier(catalog)
    analyses = [classifier.analyse(s) for revision in revisions for s in revision.statements]
    estimates = estimate(analyses, catalog, rates, threshold)
    return report.Plan(describe(url), applied, revisions, estimates, rates, threshold, catalog)


def check_options(options: Options) -> None:
    if options.threshold <= 0:
        raise UserFacingError(f"threshold={options.threshold:g} must be a number of seconds > 0")
    if options.traffic < 0:
        raise UserFacingError(f"traffic={options.traffic:g} must be seconds >= 0 (0: skip)")
    if options.out is not None and options.out.is_dir():
        raise UserFacingError(f"out={options.out} is a folder: name the Markdown file to write")


def refuse(plan: report.Plan, what: str = "plan") -> None:
    failing = plan.failing
    if not failing:
        return
    numbers = ", ".join(f"[{plan.estimates.index(found) + 1}]" for found in failing)
    raise PlanRefused(
        f"{len(failing)} statement(s) would block writes longer than "
        f"{duration(plan.threshold)}, fail, or cannot be classified ({numbers} above): "
        f"change them as the {what} says, or raise threshold= if the blocking is acceptable"
    )


def plan_for(options: Options, url: URL | None = None) -> report.Plan:
    """The plan of the pending revisions of the configured database (or url); reads only."""
    check_options(options)
    project = current_project()
    url = url or project.url()
    catalog, rates = asyncio.run(read_catalog(url, project, options.traffic, options.fresh_probe))
    return make_plan(url, catalog, rates, options.threshold)


def run(options: Options) -> None:
    plan = plan_for(options)
    print(report.terminal(plan), flush=True)
    if options.out is not None:
        options.out.write_text(report.markdown(plan))
        print(f"\nwritten: {options.out}", flush=True)
    refuse(plan)
