"""Offline SQL marks around the statements a helper emits, so `make migration-lint` knows them.

The helpers are safe by construction (each step short, outside the revision's transaction where
it must be, re-runnable), yet their statements look like the ones squawk warns about: a
`SET NOT NULL`, a `VALIDATE` outside a transaction, dropping the temporary CHECK. In `--sql`
output each helper call is bracketed by two comments, and the lint drops findings between them.
Online runs print nothing.
"""

import functools
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import ParamSpec, TypeVar

from alembic import op

BEGIN = "-- migration_toolkit.online begin:"
END = "-- migration_toolkit.online end:"
P = ParamSpec("P")
R = TypeVar("R")


@contextmanager
def marked(call: str) -> Iterator[None]:
    """Bracket what the block emits in offline SQL with marks naming the call."""
    context = op.get_context()
    if not context.as_sql:
        yield
        return
    context.impl.static_output(f"{BEGIN} {call}")
    yield
    context.impl.static_output(f"{END} {call}")


def helper(function: Callable[P, R]) -> Callable[P, R]:
    """A helper of this package: its offline SQL is marked with its name and string arguments."""

    @functools.wraps(function)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        shown = ", ".join(str(arg) for arg in args if isinstance(arg, str))
        with marked(f"{function.__name__}({shown})"):
            return function(*args, **kwargs)

    return wrapper


def helper_lines(sql: str) -> set[int]:
    """The 0-based numbers of the lines of sql inside a helper's marks (marks included)."""
    inside: set[int] = set()
    depth = 0
    for number, line in enumerate(sql.splitlines()):
        if line.startswith(BEGIN):
            depth += 1
        if depth:
            inside.add(number)
        if line.startswith(END):
            depth = max(depth - 1, 0)
    return inside
