"""How operations and types are written into the file, so it runs with its own imports."""

import textwrap
from typing import Any, Literal

from alembic.autogenerate import renderers
from alembic.autogenerate.api import AutogenContext
from alembic.operations import ops
from sqlalchemy.types import TypeDecorator

from migration_toolkit.autogen.destructive import ReviewNote


def _own_package() -> str:
    """The project's own top-level package (its models'): a revision must not import its
    types, which change later."""
    from migration_toolkit.config import current_project

    return current_project().models.split(".")[0] + "."


@renderers.dispatch_for(ReviewNote)
def _render_note(autogen_context: AutogenContext, op: ReviewNote) -> str:
    # Wrapped so the file stays within the line length ruff checks.
    return "\n".join(f"# {line}" for line in textwrap.wrap(op.text, width=80))


@renderers.dispatch_for(ops.RenameTableOp, replace=True)
def _render_rename_table(autogen_context: AutogenContext, op: ops.RenameTableOp) -> str:
    schema = f", schema={op.schema!r}" if op.schema else ""
    return f"op.rename_table({op.table_name!r}, {op.new_table_name!r}{schema})"


@renderers.dispatch_for(ops.ExecuteSQLOp, replace=True)
def _render_execute(autogen_context: AutogenContext, op: ops.ExecuteSQLOp) -> str:
    """op.execute("..."), a long statement split into adjacent strings, so the file stays
    within the line length ruff checks (a rename of a long constraint name, say)."""
    if not isinstance(op.sqltext, str):
        raise NotImplementedError("only a plain SQL string renders in a revision")
    if len(op.sqltext) <= 70:
        return f"op.execute({op.sqltext!r})"
    lines: list[str] = []
    for word in op.sqltext.split(" "):
        if lines and len(lines[-1]) + len(word) < 70:
            lines[-1] += " " + word
        else:
            lines.append(word)
    pieces = [repr(line + " ") for line in lines[:-1]] + [repr(lines[-1])]
    return "op.execute(\n" + "".join(f"    {piece}\n" for piece in pieces) + ")"


def _plain_type(type_: Any, autogen_context: AutogenContext) -> str | None:
    """An application TypeDecorator written as the SQLAlchemy type it stores as."""
    impl = type_
    while isinstance(impl, TypeDecorator) and type(impl).__module__.startswith(_own_package()):
        impl = impl.impl_instance
    module = type(impl).__module__
    if module.startswith("sqlalchemy.dialects."):
        dialect = module.split(".")[2]
        autogen_context.imports.add(f"from sqlalchemy.dialects import {dialect}")
        return f"{dialect}.{impl!r}"
    if module.startswith("sqlalchemy."):
        return f"sa.{impl!r}"
    if module.startswith(_own_package()):
        return None
    autogen_context.imports.add(f"import {module}")
    return f"{module}.{impl!r}"


def render_item(type_: str, obj: Any, autogen_context: AutogenContext) -> str | Literal[False]:
    """Alembic's render_item hook: False means "render as Alembic would"."""
    if type_ == "type" and type(obj).__module__.startswith(_own_package()):
        rendered = _plain_type(obj, autogen_context)
        if rendered is not None:
            return rendered
        # Not reducible: import the type's module so the file still runs.
        autogen_context.imports.add(f"import {type(obj).__module__}")
    return False
