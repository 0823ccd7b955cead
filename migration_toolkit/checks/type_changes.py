"""Column type changes Postgres makes without rewriting the table, so the lint can let them be.

squawk's changing-column-type flags every `ALTER COLUMN ... TYPE`, but the SQL alone does not
say what the type was. Some changes are catalog-only (binary-coercible, the Postgres docs on
ALTER TABLE): a longer VARCHAR, VARCHAR to TEXT or to an unbounded VARCHAR, more precision for
a NUMERIC of the same scale, a longer VARBIT, cidr to inet. The old and the new type are read
from the revision's own `op.alter_column(..., existing_type=..., type_=...)` calls: parsed, never
run; only SQLAlchemy (or SQLModel) type constructors with literal arguments are understood.
"""

import ast
import importlib
import re
from pathlib import Path
from typing import Any

from sqlalchemy.types import TypeEngine

from migration_toolkit.autogen.types import spelled

_STATEMENT = re.compile(
    r"^ALTER TABLE (?:ONLY )?(?:IF EXISTS )?(?P<table>\S+) ALTER COLUMN (?P<column>\S+) "
    r"(?:SET DATA )?TYPE ",
    re.IGNORECASE,
)
_SPELLED = re.compile(r"^(?P<base>[A-Z ]+?)\s*(?:\((?P<args>[\d, ]*)\))?$")
_TRUSTED = ("sqlalchemy", "sqlmodel")
# Unbounded: any value of the family fits, without a rewrite, from these.
_WIDEST = {"TEXT": {"VARCHAR", "TEXT"}, "VARCHAR": {"VARCHAR", "TEXT"}, "INET": {"CIDR", "INET"}}


def _parts(type_: TypeEngine[Any]) -> tuple[str, list[int]] | None:
    match = _SPELLED.match(spelled(type_).upper())
    if match is None:
        return None
    args = [int(arg) for arg in (match.group("args") or "").split(",") if arg.strip()]
    return match.group("base").strip(), args


def rewrite_free(old: TypeEngine[Any], new: TypeEngine[Any]) -> bool:
    """True when Postgres changes old to new in its catalog only, without touching rows."""
    before, after = _parts(old), _parts(new)
    if before is None or after is None:
        return False
    (old_base, old_args), (new_base, new_args) = before, after
    if (old_base, old_args) == (new_base, new_args):
        return True
    if not new_args and old_base in _WIDEST.get(new_base, set()):
        return True  # to TEXT, an unbounded VARCHAR, or inet
    if old_base != new_base or not old_args or not new_args:
        return False
    if old_base in {"VARCHAR", "VARBIT", "BIT VARYING"}:
        return new_args[0] >= old_args[0]
    if old_base in {"NUMERIC", "DECIMAL"}:
        old_scale = old_args[1] if len(old_args) > 1 else 0
        new_scale = new_args[1] if len(new_args) > 1 else 0
        return new_scale == old_scale and new_args[0] >= old_args[0]
    return False


def _imports(tree: ast.Module) -> dict[str, str]:
    """Local name -> module, for the revision's imports of trusted packages."""
    names: dict[str, str] = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                names[(alias.asname or alias.name).split(".")[0]] = (
                    alias.name if alias.asname else alias.name.split(".")[0]
                )
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            for alias in node.names:
                names[alias.asname or alias.name] = f"{node.module}.{alias.name}"
    return {name: module for name, module in names.items() if module.startswith(_TRUSTED)}


def _dotted(node: ast.expr) -> list[str] | None:
    parts: list[str] = []
    while isinstance(node, ast.Attribute):
        parts.insert(0, node.attr)
        node = node.value
    if not isinstance(node, ast.Name):
        return None
    return [node.id, *parts]


def _resolve(path: list[str], imports: dict[str, str]) -> Any:
    root = imports.get(path[0])
    if root is None:
        return None
    dotted = [*root.split("."), *path[1:]]
    for split in range(len(dotted), 0, -1):
        try:
            found: Any = importlib.import_module(".".join(dotted[:split]))
        except ImportError:
            continue
        try:
            for attribute in dotted[split:]:
                found = getattr(found, attribute)
        except AttributeError:
            return None
        return found
    return None


def _type(node: ast.expr | None, imports: dict[str, str]) -> TypeEngine[Any] | None:
    """A type constructor call with literal arguments, built; None for anything else."""
    call = node if isinstance(node, ast.Call) else None
    target = _dotted(call.func if call is not None else node) if node is not None else None
    if target is None:
        return None
    found = _resolve(target, imports)
    if not (isinstance(found, type) and issubclass(found, TypeEngine)):
        return None
    try:
        args = [ast.literal_eval(arg) for arg in call.args] if call is not None else []
        kwargs = (
            {kw.arg: ast.literal_eval(kw.value) for kw in call.keywords if kw.arg}
            if call is not None
            else {}
        )
        built: TypeEngine[Any] = found(*args, **kwargs)
    except (ValueError, TypeError, SyntaxError):
        return None
    return built


def rewrite_free_columns(path: Path) -> set[tuple[str, str]]:
    """(table, column) of each rewrite-free type change in the revision's upgrade()."""
    try:
        tree = ast.parse(path.read_text())
    except (OSError, SyntaxError):
        return set()
    imports = _imports(tree)
    upgrade = next(
        (n for n in tree.body if isinstance(n, ast.FunctionDef) and n.name == "upgrade"), None
    )
    found: set[tuple[str, str]] = set()
    for node in ast.walk(upgrade) if upgrade is not None else ():
        if not (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr == "alter_column"
            and len(node.args) >= 2
        ):
            continue
        try:
            table, column = ast.literal_eval(node.args[0]), ast.literal_eval(node.args[1])
        except ValueError:
            continue
        keywords = {kw.arg: kw.value for kw in node.keywords if kw.arg}
        old = _type(keywords.get("existing_type"), imports)
        new = _type(keywords.get("type_"), imports)
        if old is not None and new is not None and rewrite_free(old, new):
            found.add((str(table), str(column)))
    return found


def statement_column(statement: str) -> tuple[str, str] | None:
    """(table, column) an `ALTER TABLE ... ALTER COLUMN ... TYPE` statement changes."""
    match = _STATEMENT.match(statement.strip())
    if match is None:
        return None
    table = match.group("table").split(".")[-1].strip('"')
    return table, match.group("column").strip('"')
