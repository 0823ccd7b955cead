"""Who answers "did you rename ...?": the `rename=` list, then a person at a terminal.

`rename="author.name:full_name,author:writer"` renames column author.name to full_name and
table author to writer. Without a terminal, a question nobody answered counts as no.
"""

import re
import sys
from collections.abc import Callable
from dataclasses import dataclass, field

from migration_toolkit.errors import UserFacingError

Ask = Callable[[str], bool]

_IDENT = r"[A-Za-z_][A-Za-z0-9_$]*"
_COLUMN = re.compile(rf"^({_IDENT})\.({_IDENT}):({_IDENT})$")
_TABLE = re.compile(rf"^({_IDENT}):({_IDENT})$")
EXAMPLE = 'rename="author.name:full_name" (a column) or rename="author:writer" (a table)'


@dataclass(frozen=True)
class Rename:
    table: str
    old: str
    new: str
    column: bool

    def __str__(self) -> str:
        return f"{self.table}.{self.old}:{self.new}" if self.column else f"{self.old}:{self.new}"


def parse_renames(text: str) -> list[Rename]:
    """Parse the comma-separated `rename=` list; a malformed entry is the user's error."""
    renames: list[Rename] = []
    for raw in text.split(","):
        entry = raw.strip()
        if not entry:
            continue
        if column := _COLUMN.match(entry):
            table, old, new = column.groups()
            renames.append(Rename(table, old, new, column=True))
        elif table_match := _TABLE.match(entry):
            old, new = table_match.groups()
            renames.append(Rename(old, old, new, column=False))
        else:
            raise UserFacingError(f"cannot read rename entry {entry!r}: write {EXAMPLE}")
    return renames


def ask_terminal(question: str) -> bool:
    """Django's question: anything but y/yes, or end of input, is a no."""
    print(f"{question} [y/N] ", end="", flush=True)
    answer = sys.stdin.readline()
    return answer.strip().lower() in {"y", "yes"}


@dataclass
class Answers:
    """The renames given up front, and whom to ask about the rest (nobody without a TTY)."""

    given: list[Rename] = field(default_factory=list)
    ask: Ask | None = None
    used: set[Rename] = field(default_factory=set)

    def decide(self, rename: Rename, question: str) -> bool:
        if rename in self.given:
            self.used.add(rename)
            return True
        if self.ask is not None:
            return self.ask(question)
        return False

    def unused(self) -> list[Rename]:
        return [rename for rename in self.given if rename not in self.used]

    @classmethod
    def default(cls) -> "Answers":
        return cls(ask=ask_terminal if sys.stdin.isatty() else None)
