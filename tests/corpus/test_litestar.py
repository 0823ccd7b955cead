"""Corpus set `litestar`, in the style of litestar-fullstack (advanced-alchemy mixins).

Covers: a declarative base with UUID-key and audit-timestamp mixins, a model module in a
subpackage (models/accounts/), one enum type shared by two tables, a many-to-many link table
with a composite key, a composite UNIQUE, an audit table in a schema of its own with a BIGINT
identity key, JSONB and a nullable foreign key (ON DELETE SET NULL); changes of type (INTEGER ->
BIGINT, whose downgrade narrows; VARCHAR -> TEXT, catalog-only), nullability and a server
default, a value of the shared enum, a table rename that renames its constraints, its index
and the foreign key that points at it, a drop; two branches and their merge.
"""

from collections.abc import Callable
from pathlib import Path

from sqlalchemy.engine import URL

from tests.corpus.support import Run, branches_and_merge, change, lifecycle, scratch, whole_history

TEAM = "app/models/team.py"
USER = "app/models/accounts/user_account.py"


def initial(run: Run) -> None:
    assert run.relations() == {
        "public.user_account",
        "public.team",
        "public.team_member",
        "public.team_invitation",
        "public.tag",
        "public.team_tag",
        "audit.audit_log",
    }
    assert run.enums() == {"public.team_role": ["admin", "member"]}
    assert run.columns("public.team_member")["role"]["type"] == "team_role"
    assert run.columns("public.team_invitation")["role"]["type"] == "team_role"
    assert run.constraints("public.team_member")["pk_team_member"] == (
        "PRIMARY KEY (team_id, user_id)"
    )
    assert run.constraints("public.team_invitation")["uq_team_invitation_team_id"] == (
        "UNIQUE (team_id, email)"
    )
    audit = run.columns("audit.audit_log")
    assert audit["id"]["type"] == "bigint" and audit["id"]["identity"] == "d"
    assert (
        "ON DELETE SET NULL"
        in run.constraints("audit.audit_log")["fk_audit_log_actor_id_user_account"]
    )


def test_litestar(tmp_path: Path, new_database: Callable[[], URL]) -> None:
    run = Run(scratch(tmp_path / "project", "litestar", new_database()))
    lifecycle(run, initial)
    run.rows(
        "WITH t AS (INSERT INTO team (name, slug, is_active) VALUES ('Core', 'core', true) "
        "RETURNING id), g AS (INSERT INTO tag (slug, name) VALUES ('db', 'Databases') "
        "RETURNING id) INSERT INTO team_tag SELECT t.id, g.id FROM t, g RETURNING team_id"
    )

    # Types (a rewrite, and a catalog-only change), nullability and a server default.
    run.edit(
        TEAM,
        'mapped_column(sa.Integer, server_default="50")',
        'mapped_column(sa.BigInteger, server_default="50")',
    )
    run.edit(
        TEAM,
        "description: Mapped[str | None] = mapped_column(sa.String(500))",
        "description: Mapped[str | None] = mapped_column(sa.Text)",
    )
    run.edit(
        TEAM,
        "    is_active: Mapped[bool] = mapped_column(default=True)",
        "    is_active: Mapped[bool] = mapped_column(default=True, server_default=sa.true())",
    )
    run.edit(
        USER,
        "    name: Mapped[str | None] = mapped_column(sa.String(255))",
        "    name: Mapped[str] = mapped_column(sa.String(255), server_default='')",
    )
    source = change(
        run,
        "bigger teams",
        opt_outs={
            "changing-column-type": "team has a few rows; the rewrite takes milliseconds",
            "adding-not-nullable-field": "user_account has no NULL name",
        },
    )
    assert "warning: downgrade() narrows team.max_members from BIGINT to INTEGER" in source
    assert "warning: downgrade() narrows team.description from TEXT to VARCHAR(500)" in source
    assert run.columns("public.team")["max_members"]["type"] == "bigint"
    assert run.columns("public.team")["is_active"]["default"] == "true"
    assert not run.columns("public.user_account")["name"]["nullable"]

    # A value of the enum both tables use.
    run.edit(TEAM, '    member = "member"\n', '    member = "member"\n    owner = "owner"\n')
    change(
        run,
        "team owners",
        opt_outs={"require-enum-value-ordering": "the value goes last, as in the Python enum"},
    )
    assert run.enums() == {"public.team_role": ["admin", "member", "owner"]}

    # A table rename: its constraints, its index and the foreign key pointing at it follow.
    run.edit(TEAM, '    __tablename__ = "tag"', '    __tablename__ = "label"')
    run.edit(TEAM, 'sa.ForeignKey("tag.id"', 'sa.ForeignKey("label.id"')
    source = change(
        run,
        "tags are labels",
        "rename=tag:label",
        opt_outs={"renaming-table": "the API reads it through the models only"},
    )
    assert 'op.rename_table("tag", "label")' in source
    for old, new in [
        ("pk_tag", "pk_label"),
        ("uq_tag_slug", "uq_label_slug"),
        ("fk_team_tag_tag_id_tag", "fk_team_tag_tag_id_label"),
    ]:
        assert f"RENAME CONSTRAINT {old} TO {new}" in source, old
    assert "ALTER INDEX ix_tag_name RENAME TO ix_label_name" in source
    assert "drop_constraint" not in source and "create_foreign_key" not in source
    assert "fk_team_tag_tag_id_label" in run.constraints("public.team_tag")
    assert "ix_label_name" in run.indexes("public.label")
    assert run.rows("SELECT name FROM label") == [("Databases",)]

    # A drop.
    run.edit(USER, "    avatar_url: Mapped[str | None] = mapped_column(sa.String(500))\n", "")
    source = change(run, "no avatars", opt_outs={"ban-drop-column": "avatars moved to storage"})
    assert "# DESTRUCTIVE: drops column user_account.avatar_url and its data" in source

    phone = "    phone: Mapped[str | None] = mapped_column(sa.String(32))\n"
    logo = "    logo_url: Mapped[str | None] = mapped_column(sa.String(500))\n"
    slug = "    slug: Mapped[str] = mapped_column(sa.String(100), unique=True)\n"
    email = "    email: Mapped[str] = mapped_column(sa.String(255), unique=True, index=True)\n"
    branches_and_merge(
        run,
        [
            (
                "user phone",
                lambda r: r.edit(USER, email, email + phone),
                lambda r: r.edit(USER, phone, ""),
            ),
            (
                "team logo",
                lambda r: r.edit(TEAM, slug, slug + logo),
                lambda r: r.edit(TEAM, logo, ""),
            ),
        ],
    )
    whole_history(run)
