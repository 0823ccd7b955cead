"""Column types as Postgres spells them: for rename questions and narrowing checks."""

import re
from typing import Any

from sqlalchemy.dialects import postgresql
from sqlalchemy.types import TypeEngine

_DIALECT = postgresql.dialect()  # type: ignore[no-untyped-call]
_SPELLED = re.compile(r"^(?P<base>[^(]*)(?:\((?P<args>[^)]*)\))?(?P<rest>.*)$")
# Within a family a value converts without loss when the target ranks at least as high.
_FAMILIES: dict[str, tuple[str, int]] = {
    "SMALLINT": ("integer", 1),
    "INTEGER": ("integer", 2),
    "BIGINT": ("integer", 3),
    "CHAR": ("text", 1),
    "VARCHAR": ("text", 2),
    "TEXT": ("text", 3),
    "REAL": ("float", 1),
    "FLOAT": ("float", 2),
    "DOUBLE PRECISION": ("float", 2),
    "NUMERIC": ("numeric", 1),
    "DECIMAL": ("numeric", 1),
}


def spelled(type_: TypeEngine[Any]) -> str:
    """The type as Postgres DDL writes it, e.g. VARCHAR(255)."""
    try:
        return str(type_.compile(dialect=_DIALECT))
    except Exception:
        # Types this dialect cannot compile (e.g. NullType) still need a name in a message.
        return type(type_).__name__.upper()


def _parts(type_: TypeEngine[Any]) -> tuple[str, list[int]]:
    match = _SPELLED.match(spelled(type_))
    if match is None:
        return spelled(type_), []
    base = " ".join((match.group("base") + match.group("rest")).split())
    args = [int(a) for a in (match.group("args") or "").split(",") if a.strip().isdigit()]
    return base, args


def base_name(type_: TypeEngine[Any]) -> str:
    """VARCHAR for VARCHAR(255): the word the rename question shows."""
    return _parts(type_)[0]


def family(type_: TypeEngine[Any]) -> str:
    base = base_name(type_)
    return _FAMILIES.get(base, (base, 0))[0]


def compatible(old: TypeEngine[Any], new: TypeEngine[Any]) -> bool:
    """Could a column of type old have been renamed into one of type new?"""
    return family(old) == family(new)


def narrows(old: TypeEngine[Any], new: TypeEngine[Any]) -> bool:
    """True when some value of old may not fit new: data is cut or the ALTER fails."""
    if spelled(old) == spelled(new):
        return False
    (old_base, old_args), (new_base, new_args) = _parts(old), _parts(new)
    old_family, old_rank = _FAMILIES.get(old_base, (old_base, 0))
    new_family, new_rank = _FAMILIES.get(new_base, (new_base, 0))
    if old_family != new_family:
        return True
    if new_rank != old_rank:
        return new_rank < old_rank
    if not new_args:
        return False  # VARCHAR, NUMERIC without limits hold anything of their family
    if not old_args:
        return True
    # (length,) or (precision, scale): any bound that shrinks can cut a value.
    return any(n < o for o, n in zip(old_args, new_args, strict=False))
