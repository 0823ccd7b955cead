"""Corpus set `dispatch`, in the style of Netflix Dispatch (SQLAlchemy declarative models).

Covers: a declarative base sharing the models' MetaData, a table in a schema of its own
(dispatch_core) referenced from public, identity columns (ALWAYS and BY DEFAULT), a computed
column, JSONB with a default, ARRAY, Numeric, timestamptz with `now()`, an enum, a partial and a
functional index, a CHECK and a composite UNIQUE constraint, a self-referential foreign key, a
many-to-many link table with a composite key; changes of Numeric precision (catalog-only),
nullability, a JSONB default, an enum value, renames in both schemas that rename their
constraints and indexes, an ARRAY column dropped; three developers' branches and their merge.
"""

from collections.abc import Callable
from pathlib import Path

from sqlalchemy.engine import URL

from tests.corpus.support import Run, branches_and_merge, change, lifecycle, scratch, whole_history

ORGANIZATION = "app/models/organization.py"
PROJECT = "app/models/project.py"
INCIDENT = "app/models/incident.py"


def initial(run: Run) -> None:
    assert run.relations() == {
        "dispatch_core.organization",
        "public.project",
        "public.incident",
        "public.tag",
        "public.incident_tag",
    }
    organization = run.columns("dispatch_core.organization")
    assert organization["id"]["identity"] == "a"
    incident = run.columns("public.incident")
    assert incident["id"]["identity"] == "d"
    assert incident["title_length"]["generated"] == "s"
    assert incident["meta"]["type"] == "jsonb" and incident["meta"]["default"] == "'{}'::jsonb"
    assert incident["labels"]["type"] == "character varying(64)[]"
    assert incident["cost"]["type"] == "numeric(14,2)"
    indexes = run.indexes("public.incident")
    assert "WHERE (status <> 'closed'::incident_status)" in indexes["ix_incident_open_reported_at"]
    assert "lower((title)::text)" in indexes["ix_incident_title_lower"]
    project = run.constraints("public.project")
    assert project["uq_project_name"] == "UNIQUE (name, organization_id)"
    assert (
        project["ck_project_cost_not_negative"] == "CHECK ((annual_employee_cost >= (0)::numeric))"
    )
    assert (
        "REFERENCES dispatch_core.organization(id) ON DELETE CASCADE"
        in (project["fk_project_organization_id_organization"])
    )
    self_reference = run.constraints("public.incident")["fk_incident_duplicate_id_incident"]
    assert self_reference.endswith("REFERENCES incident(id) ON DELETE SET NULL")
    assert run.constraints("public.incident_tag")["pk_incident_tag"] == (
        "PRIMARY KEY (incident_id, tag_id)"
    )
    assert run.enums() == {"public.incident_status": ["active", "stable", "closed"]}


def test_dispatch(tmp_path: Path, new_database: Callable[[], URL]) -> None:
    run = Run(scratch(tmp_path / "project", "dispatch", new_database()))
    lifecycle(run, initial)
    run.rows(
        "WITH o AS (INSERT INTO dispatch_core.organization (name, slug) "
        "VALUES ('Default', 'default') RETURNING id), "
        "p AS (INSERT INTO project (name, organization_id) SELECT 'Core', id FROM o RETURNING id) "
        "INSERT INTO incident (title, status, labels, project_id) "
        "SELECT 'Outage', 'active', ARRAY['db'], id FROM p RETURNING id"
    )

    # Numeric precision (catalog-only), nullability, a JSONB default.
    run.edit(PROJECT, "sa.Numeric(12, 2)", "sa.Numeric(16, 2)")
    run.edit(ORGANIZATION, "    slug: Mapped[str] =", "    slug: Mapped[str | None] =")
    run.edit(
        INCIDENT, "sa.text(\"'{}'::jsonb\")", 'sa.text("\'{\\"source\\": \\"web\\"}\'::jsonb")'
    )
    source = change(
        run,
        "wider costs, optional slugs, web by default",
        opt_outs={"ban-drop-not-null": "every reader of slug handles None"},
    )
    assert "warning: downgrade() narrows project.annual_employee_cost" in source
    assert "warning: downgrade() makes dispatch_core.organization.slug NOT NULL" in source
    assert run.columns("public.project")["annual_employee_cost"]["type"] == "numeric(16,2)"
    assert run.columns("dispatch_core.organization")["slug"]["nullable"]
    assert "web" in str(run.columns("public.incident")["meta"]["default"])

    # An enum value.
    run.edit(
        INCIDENT, '    closed = "closed"\n', '    closed = "closed"\n    archived = "archived"\n'
    )
    change(
        run,
        "archived incidents",
        opt_outs={"require-enum-value-ordering": "the value goes last, as in the Python enum"},
    )
    assert run.enums()["public.incident_status"][-1] == "archived"

    # Renames in both schemas: a self-referential key and its index, a unique constraint.
    run.edit(INCIDENT, "    duplicate_id: Mapped", "    duplicate_of_id: Mapped")
    run.edit(ORGANIZATION, "    name: Mapped[str]", "    display_name: Mapped[str]")
    source = change(
        run,
        "clearer names",
        "rename=incident.duplicate_id:duplicate_of_id,organization.name:display_name",
        opt_outs={"renaming-column": "read through the models only"},
    )
    assert (
        "ALTER TABLE incident RENAME CONSTRAINT fk_incident_duplicate_id_incident TO "
        "fk_incident_duplicate_of_id_incident" in source
    )
    assert "ALTER INDEX ix_incident_duplicate_id RENAME TO ix_incident_duplicate_of_id" in source
    assert (
        "ALTER TABLE dispatch_core.organization RENAME CONSTRAINT uq_organization_name TO "
        "uq_organization_display_name" in source
    )
    assert "drop_constraint" not in source and "create_foreign_key" not in source
    assert "fk_incident_duplicate_of_id_incident" in run.constraints("public.incident")
    assert "uq_organization_display_name" in run.constraints("dispatch_core.organization")
    assert run.rows("SELECT display_name FROM dispatch_core.organization") == [("Default",)]

    # A drop.
    run.edit(
        INCIDENT,
        "    labels: Mapped[list[str]] = mapped_column(postgresql.ARRAY(sa.String(64)), "
        "default=list)\n",
        "",
    )
    source = change(
        run, "no labels", opt_outs={"ban-drop-column": "tags replaced labels a release ago"}
    )
    assert "# DESTRUCTIVE: drops column incident.labels and its data" in source
    assert "labels" not in run.columns("public.incident")

    # Three developers branch from one head.
    color = "    color: Mapped[str | None] = mapped_column(sa.String(7))\n"
    slug = "    slug: Mapped[str | None] = mapped_column(sa.String(255))\n"
    banner = "    banner_text: Mapped[str | None] = mapped_column(sa.Text)\n"
    tag_name = "    name: Mapped[str] = mapped_column(sa.String(255), unique=True)\n"
    project_name = "    name: Mapped[str] = mapped_column(sa.String(255))\n"
    org_description = "    description: Mapped[str | None] = mapped_column(sa.Text)\n"

    def adding(path: str, anchor: str, line: str) -> tuple[Callable[[Run], None], ...]:
        return (
            lambda run: run.edit(path, anchor, anchor + line),
            lambda run: run.edit(path, anchor + line, anchor),
        )

    branches = [
        ("tag color", *adding(INCIDENT, tag_name, color)),
        ("project slug", *adding(PROJECT, project_name, slug)),
        ("organization banner", *adding(ORGANIZATION, org_description, banner)),
    ]
    branches_and_merge(run, branches)  # type: ignore[arg-type]
    assert "banner_text" in run.columns("dispatch_core.organization")
    whole_history(run)
