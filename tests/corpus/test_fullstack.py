"""Corpus set `fullstack`, in the style of full-stack-fastapi-template (SQLModel).

Covers: UUID primary keys made by Postgres (`gen_random_uuid()`), a unique email index, an
owner foreign key with ON DELETE CASCADE, timestamptz with `now()`, an enum, a model module in
a subpackage (models/users/user.py) and one moved into another (nothing to write); changes
of type (VARCHAR -> TEXT, catalog-only), of nullability and default, an enum value, a column
rename that renames its index, a drop; two developers' branches and their merge.
"""

from collections.abc import Callable
from pathlib import Path

from sqlalchemy.engine import URL

from tests.corpus.support import Run, branches_and_merge, change, lifecycle, scratch, whole_history

USER = "app/models/users/user.py"
ITEM = "app/models/item.py"


def initial(run: Run) -> None:
    assert run.relations() == {"public.user", "public.item"}
    user = run.columns("public.user")
    assert user["id"]["type"] == "uuid" and user["id"]["default"] == "gen_random_uuid()"
    assert user["created_at"]["type"] == "timestamp with time zone"
    assert user["created_at"]["default"] == "now()" and not user["created_at"]["nullable"]
    assert "UNIQUE INDEX ix_user_email" in run.indexes("public.user")["ix_user_email"]
    fk = run.constraints("public.item")["fk_item_owner_id_user"]
    assert fk == 'FOREIGN KEY (owner_id) REFERENCES "user"(id) ON DELETE CASCADE'
    assert run.enums() == {"public.itemstatus": ["draft", "published"]}


def test_fullstack(tmp_path: Path, new_database: Callable[[], URL]) -> None:
    run = Run(scratch(tmp_path / "project", "fullstack", new_database()))
    lifecycle(run, initial)
    run.rows(
        'WITH u AS (INSERT INTO "user" (email, hashed_password, full_name, is_active, '
        "is_superuser) VALUES ('ann@example.com', 'x', 'Ann', true, false) RETURNING id) "
        "INSERT INTO item (title, description, owner_id, status) "
        "SELECT 'Lamp', 'brass', id, 'draft' FROM u RETURNING id"
    )

    # Type (catalog-only widening), nullability and a server default, in one revision.
    run.edit(
        ITEM,
        "description: str | None = Field(default=None, max_length=255)",
        "description: str | None = Field(default=None, sa_type=sa.Text)",
    )
    run.edit(
        USER,
        "    full_name: str | None = Field(default=None, max_length=255)",
        '    full_name: str = Field(\n        default="", max_length=255, '
        'sa_column_kwargs={"server_default": ""}\n    )',
    )
    run.edit(
        USER,
        "    is_active: bool = True",
        '    is_active: bool = Field(default=True, sa_column_kwargs={"server_default": sa.true()})',
    )
    source = change(
        run,
        "text descriptions, required names",
        opt_outs={"adding-not-nullable-field": "user holds a few hundred rows"},
    )
    assert "type_=sa.Text()" in source.split("def downgrade")[0]
    assert "warning: downgrade() narrows item.description from TEXT to VARCHAR(255)" in source
    assert run.columns("public.item")["description"]["type"] == "text"
    user = run.columns("public.user")
    assert not user["full_name"]["nullable"]
    assert user["full_name"]["default"] == "''::character varying"
    assert user["is_active"]["default"] == "true"

    # An enum value.
    run.edit(
        ITEM,
        '    published = "published"\n',
        '    published = "published"\n    archived = "archived"\n',
    )
    source = change(
        run,
        "archived items",
        opt_outs={"require-enum-value-ordering": "the value goes last, as in the Python enum"},
    )
    assert 'new_value="archived"' in source
    assert run.enums()["public.itemstatus"] == ["draft", "published", "archived"]

    # A rename: the data stays, the index named after the column follows it.
    run.edit(USER, "    email: str = Field(", "    email_address: str = Field(")
    source = change(
        run,
        "email address",
        "rename=user.email:email_address",
        opt_outs={"renaming-column": "the API reads it through the model only"},
    )
    assert "ALTER INDEX ix_user_email RENAME TO ix_user_email_address" in source
    assert "drop_index" not in source and "create_index" not in source
    assert "ix_user_email_address" in run.indexes("public.user")
    assert run.rows('SELECT email_address FROM "user"') == [("ann@example.com",)]

    # A drop, flagged both ways round.
    run.edit(ITEM, "    description: str | None = Field(default=None, sa_type=sa.Text)\n", "")
    source = change(
        run,
        "no descriptions",
        opt_outs={"ban-drop-column": "no release reads it since the last one"},
    )
    assert "# DESTRUCTIVE: drops column item.description and its data" in source
    assert "warning: downgrade() adds NOT NULL" not in source  # it comes back nullable
    assert "description" not in run.columns("public.item")

    # Two developers, one head: a phone on users, a price on items; then the merge.
    phone_line = "    phone: str | None = Field(default=None, max_length=32)\n"
    price_line = "    price: float | None = Field(default=None, sa_type=sa.Numeric(10, 2))\n"

    def phone(run: Run) -> None:
        run.edit(USER, "    hashed_password: str\n", "    hashed_password: str\n" + phone_line)

    def no_phone(run: Run) -> None:
        run.edit(USER, phone_line, "")

    def price(run: Run) -> None:
        run.edit(ITEM, "    status: ItemStatus", price_line + "    status: ItemStatus")

    def no_price(run: Run) -> None:
        run.edit(ITEM, price_line, "")

    branches_and_merge(run, [("user phone", phone, no_phone), ("item price", price, no_price)])
    assert {"phone"} <= run.columns("public.user").keys()
    assert run.columns("public.item")["price"]["type"] == "numeric(10,2)"
    # A model module moved into a subpackage: the same tables, nothing to write.
    catalog = run.project.root / "app/models/catalog"
    catalog.mkdir()
    (catalog / "__init__.py").write_text('"""The catalog."""\n')
    (run.project.root / ITEM).rename(catalog / "item.py")
    assert "No changes detected" in run.make("migration", "msg=moved").output
    whole_history(run)
