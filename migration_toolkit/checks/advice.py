"""Our one-line safe alternative for each squawk rule a revision is likely to meet."""

ADVICE: dict[str, str] = {
    "require-concurrent-index-creation": (
        "build it without blocking writes: online.create_index_concurrently(name, table, columns)"
        " (CREATE INDEX CONCURRENTLY in an autocommit block)"
    ),
    "require-concurrent-index-deletion": (
        "drop it without blocking: online.drop_index_concurrently(name)"
        " (DROP INDEX CONCURRENTLY in an autocommit block)"
    ),
    "ban-concurrent-index-creation-in-transaction": (
        "CONCURRENTLY cannot run in a transaction: wrap it in"
        " `with op.get_context().autocommit_block():`"
    ),
    "adding-required-field": (
        "add the column nullable or with a constant server_default, backfill, then make it"
        " NOT NULL in a later revision (the three-phase pattern)"
    ),
    "adding-not-nullable-field": (
        "validate first, lock briefly: online.set_not_null(table, column)"
        " (CHECK ... NOT VALID, VALIDATE, then SET NOT NULL)"
    ),
    "changing-column-type": (
        "online.change_column_type(table, column, new_type): a new column kept in step by a"
        " trigger, backfilled, swapped in under a short lock"
    ),
    "ban-drop-column": (
        "deploy code that no longer reads the column first, then drop it in a revision of its own"
        " and opt out with that reason"
    ),
    "ban-drop-table": (
        "deploy code that no longer uses the table first, then drop it in a revision of its own"
        " and opt out with that reason"
    ),
    "adding-foreign-key-constraint": (
        "add it NOT VALID (online.add_foreign_key_not_valid), then VALIDATE CONSTRAINT"
        " (online.validate_constraint) in a later revision"
    ),
    "constraint-missing-not-valid": (
        "add the constraint NOT VALID, then VALIDATE CONSTRAINT in a later revision"
        " (online.validate_constraint)"
    ),
    "adding-field-with-default": (
        "use a constant default (no volatile function), or add the column nullable and backfill"
        " in batches (online.backfill)"
    ),
    "disallowed-unique-constraint": (
        "build a unique index CONCURRENTLY first, then ADD CONSTRAINT ... UNIQUE USING INDEX"
    ),
    "adding-serial-primary-key-field": (
        "build a unique index CONCURRENTLY first, then ADD CONSTRAINT ... PRIMARY KEY USING INDEX"
    ),
    "renaming-column": (
        "add the new column beside the old one, backfill, move the code over,"
        " then drop the old one later"
    ),
    "renaming-object": (
        "code rarely reads a constraint's or an index's name; if yours does, keep the old name"
        " until it no longer does"
    ),
    "renaming-table": (
        "create the new table (or a view under the new name), move the code over,"
        " then drop the old name later"
    ),
    "prefer-robust-stmts": (
        "use IF [NOT] EXISTS, so a revision interrupted outside a transaction can be re-run"
    ),
    "transaction-nesting": (
        "no BEGIN/COMMIT in a revision: Alembic runs each in its own transaction;"
        " step outside it with `with op.get_context().autocommit_block():`"
    ),
    "ban-uncommitted-transaction": (
        "no BEGIN/COMMIT in a revision: Alembic runs each in its own transaction"
    ),
    "prefer-timestamptz": (
        "store instants as TIMESTAMP WITH TIME ZONE: sa.DateTime(timezone=True) in the model"
    ),
    "ban-drop-constraint": (
        "deploy code that no longer relies on the constraint first, then drop it and opt out"
        " with that reason"
    ),
    "ban-char-field": "use VARCHAR(n) or TEXT: CHAR(n) pads with spaces",
    "ban-drop-database": "drop databases by hand, never from a revision",
    "ban-truncate-cascade": "truncate the tables you name, without CASCADE",
    "unused-ignore": (
        "fix the rule name in the `# squawk-ignore:` comment (https://squawkhq.com/docs/rules)"
    ),
    "ban-drop-not-null": (
        "deploy code that handles NULL first, then drop NOT NULL and opt out with that reason"
    ),
}


def advice_for(rule: str) -> str:
    return ADVICE.get(rule, f"see https://squawkhq.com/docs/{rule}")
