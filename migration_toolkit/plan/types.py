"""When Postgres rewrites a table: a new column type, a default that is not constant.

ALTER COLUMN TYPE keeps the table's files when the new type is binary-coercible and no value
needs checking (varchar(n) to a longer varchar or to text, numeric to a larger precision at
the same scale, cidr to inet); otherwise every row is rewritten and every index rebuilt.
ADD COLUMN with a default keeps the files only when the default is not volatile (Postgres 11+
stores it once in the catalog). These rules were checked on the server by comparing
pg_class.relfilenode before and after (tests/plan/test_types.py).
"""

from dataclasses import dataclass
from typing import Any

from pglast import ast
from pglast.visitors import Visitor

from migration_toolkit.plan.catalog import Catalog, Column

VARHDRSZ = 4
# Postgres's serial pseudo-types: an integer column whose default is nextval() (volatile).
SERIALS = {"smallserial": "int2", "serial2": "int2", "serial": "int4", "serial4": "int4"}
SERIALS |= {"bigserial": "int8", "serial8": "int8"}
# Same type, typmod changed: no rewrite when widened (Postgres's length "support" functions).
_WIDENS = {"varchar", "varbit", "time", "timetz", "timestamp", "timestamptz"}
_UTC = {"UTC", "Etc/UTC", "GMT", "Etc/GMT", "Universal", "Zulu", "Etc/Universal", "Etc/Zulu"}
_VOLATILITY_ORDER = "isv"


@dataclass(frozen=True)
class NewType:
    oid: int | None  # None: a type the catalog does not have yet (created by this plan)
    name: str
    typmod: int
    serial: bool = False


def _ints(typmods: Any) -> list[int] | None:
    values: list[int] = []
    for node in typmods or ():
        if not isinstance(node, ast.A_Const) or not isinstance(node.val, ast.Integer):
            return None
        values.append(int(node.val.ival or 0))
    return values


def _typmod(name: str, values: list[int] | None) -> int | None:
    """The atttypmod Postgres stores for name(values); None when we cannot tell."""
    if values is None:
        return None
    if not values:
        return -1
    if name in {"varchar", "bpchar"} and len(values) == 1:
        return values[0] + VARHDRSZ
    if name == "numeric" and len(values) in (1, 2):
        scale = values[1] if len(values) == 2 else 0
        return ((values[0] << 16) | scale) + VARHDRSZ
    if name in {"time", "timetz", "timestamp", "timestamptz", "bit", "varbit"}:
        return values[0] if len(values) == 1 else None
    return None


def resolve(type_name: Any, catalog: Catalog) -> NewType:
    names = [
        node.sval for node in type_name.names or () if isinstance(node, ast.String) and node.sval
    ]
    schema, name = (names[-2] if len(names) > 1 else None), names[-1]
    serial = name in SERIALS and schema is None
    if serial:
        schema, name = "pg_catalog", SERIALS[name]
    if type_name.arrayBounds:
        name = f"_{name}"
    typmod = _typmod(name, _ints(type_name.typmods))
    return NewType(
        oid=catalog.type_oid(schema, name),
        name=name,
        typmod=-2 if typmod is None else typmod,  # -2: a modifier we cannot decode
        serial=serial,
    )


def _numeric_widens(old: int, new: int) -> bool:
    old_precision, old_scale = (old - VARHDRSZ) >> 16, (old - VARHDRSZ) & 0xFFFF
    new_precision, new_scale = (new - VARHDRSZ) >> 16, (new - VARHDRSZ) & 0xFFFF
    return new_scale == old_scale and new_precision >= old_precision


def rewrites(old: Column, new: NewType, catalog: Catalog) -> bool:
    """True when ALTER COLUMN ... TYPE new rewrites the table (no USING clause)."""
    if new.oid is None or new.typmod == -2:
        return True
    name = catalog.types[new.oid].name if new.oid in catalog.types else new.name
    if old.type_oid == new.oid:
        if new.typmod == old.typmod:
            return False
        if name == "numeric":
            return not (
                new.typmod == -1 or (old.typmod != -1 and _numeric_widens(old.typmod, new.typmod))
            )
        if name in _WIDENS:
            return not (new.typmod == -1 or (old.typmod != -1 and new.typmod >= old.typmod))
        return True
    old_name = catalog.types[old.type_oid].name if old.type_oid in catalog.types else ""
    if {old_name, name} == {"timestamp", "timestamptz"}:
        # Postgres 12+ keeps the files when the session's time zone is UTC.
        return catalog.timezone not in _UTC
    if (old.type_oid, new.oid) in catalog.binary_casts:
        # varchar(n) -> text, text -> varchar, cidr -> inet: nothing to check, unless a
        # length limit now applies to values that had none.
        return new.typmod != -1
    return True


def narrows(old: Column, new: NewType, catalog: Catalog) -> str | None:
    """Why some values may not fit the new type (a shorter varchar, bigint to int), or None."""
    if new.oid is None:
        return "a type this plan creates"
    old_type, new_type = catalog.types.get(old.type_oid), catalog.types.get(new.oid)
    if old_type is None or new_type is None:
        return "an unknown type"
    limited = new.typmod not in (-1, -2)
    if old.type_oid == new.oid or (old_type.category == new_type.category == "S"):
        if limited and (old.typmod == -1 or new.typmod < old.typmod):
            return "narrows the type"
        return None
    if old_type.category != new_type.category:
        return f"converts {old_type.name} to {new_type.name}"
    old_rank, new_rank = _WIDTH.get(old_type.name), _WIDTH.get(new_type.name)
    if old_rank is None or new_rank is None or new_rank < old_rank or limited:
        return f"narrows {old_type.name} to {new_type.name}"
    return None


# Numbers by the values they hold: a conversion to a lower rank can fail.
_WIDTH = {"int2": 1, "int4": 2, "int8": 3, "numeric": 4, "float4": 1, "float8": 2}


class _Volatility(Visitor):
    def __init__(self, catalog: Catalog) -> None:
        super().__init__()
        self.catalog = catalog
        self.level = "i"

    def _raise(self, level: str) -> None:
        if _VOLATILITY_ORDER.index(level) > _VOLATILITY_ORDER.index(self.level):
            self.level = level

    def visit_FuncCall(self, ancestors: object, node: Any) -> None:
        name = node.funcname[-1].sval if node.funcname else ""
        # A function this plan creates is not in the catalog: assume the worst.
        self._raise(self.catalog.volatility.get(name, "v"))

    def visit_SQLValueFunction(self, ancestors: object, node: Any) -> None:
        self._raise("s")  # CURRENT_TIMESTAMP and friends: stable

    def visit_SubLink(self, ancestors: object, node: Any) -> None:
        self._raise("v")

    def visit_NextValueExpr(self, ancestors: object, node: Any) -> None:
        self._raise("v")


def volatility(expression: ast.Node, catalog: Catalog) -> str:
    """'i', 's' or 'v': the most volatile function the expression calls."""
    visitor = _Volatility(catalog)
    visitor(expression)
    return str(visitor.level)


def trivial_using(using: ast.Node | None, column: str, new_type: ast.TypeName | None) -> bool:
    """USING col::newtype (what Alembic's postgresql_using often writes) changes nothing."""
    if using is None:
        return True
    if isinstance(using, ast.TypeCast) and isinstance(using.arg, ast.ColumnRef):
        fields = using.arg.fields or ()
        named = [f.sval for f in fields if isinstance(f, ast.String)]
        return named == [column] and (new_type is None or using.typeName == new_type)
    return False
