"""Every table a model module declares must be on the MetaData the migrations compare with.

Two ways a table escapes it: a module `import app.models` never reaches (a subpackage, say),
or a table built on a MetaData of its own. Either way autogenerate cannot see it, and a
revision would never create it (or would drop it).
"""

import importlib
import pkgutil
from types import ModuleType

from sqlalchemy import MetaData, Table


def _tables_in(module: ModuleType) -> list[Table]:
    found: list[Table] = []
    for value in vars(module).values():
        if isinstance(value, Table):
            found.append(value)
        elif isinstance(value, MetaData):
            found.extend(value.tables.values())
        elif isinstance(getattr(value, "__table__", None), Table):
            found.append(value.__table__)
    return found


def unregistered_tables(package: str) -> list[str]:
    """Problems, one line each: tables the migrations' MetaData does not hold."""
    root = importlib.import_module(package)
    metadata: MetaData = root.metadata
    registered = set(metadata.tables)
    problems: list[str] = []
    seen: set[str] = set()
    # A package: every module under it; a plain module: itself.
    search = getattr(root, "__path__", None)
    names = (
        [info.name for info in pkgutil.walk_packages(search, prefix=f"{package}.")]
        if search is not None
        else [package]
    )
    for name in names:
        module = importlib.import_module(name)
        for table in _tables_in(module):
            key = f"{name}:{table.fullname}"
            if key in seen:
                continue
            seen.add(key)
            if table.metadata is not metadata:
                problems.append(
                    f"table {table.fullname!r} in {name} is on a MetaData of its own, which "
                    "the migrations never see: declare it as `class ...(SQLModel, table=True)`"
                )
            elif table.fullname not in registered:
                problems.append(
                    f"table {table.fullname!r} in {name} is not reached by `import "
                    f"{package}`: move the module to the top of {package}/ (its __init__ "
                    "imports every module there) or import it from there"
                )
    return problems
