"""`alembic -q` for the post-write hook too: Alembic prints "Running post write hook ... done"
even when asked to be quiet (its status line ignores -q), around a hook that says what it did.
"""

import re
import sys
from typing import TextIO

_STATUS = re.compile(r"^\s*Running post write hook .* \.\.\.$")
_DONE = re.compile(r"^\s*done$")


class WithoutHookStatus:
    """A stdout that drops Alembic's hook status lines and passes everything else on.

    Whole lines are judged; a partial line is passed on at flush (a question's prompt), unless
    it may still become a status line.
    """

    def __init__(self, stream: TextIO) -> None:
        self.stream = stream
        self.pending = ""
        self.after_status = False

    def write(self, text: str) -> int:
        self.pending += text
        while "\n" in self.pending:
            line, self.pending = self.pending.split("\n", 1)
            if _STATUS.match(line):
                self.after_status = True
            elif self.after_status and _DONE.match(line):
                self.after_status = False
            else:
                self.stream.write(line + "\n")
        return len(text)

    def flush(self) -> None:
        if self.pending and not "Running post write hook".startswith(self.pending.strip()[:23]):
            self.stream.write(self.pending)
            self.pending = ""
        self.stream.flush()

    def __getattr__(self, name: str) -> object:
        return getattr(self.stream, name)


def hide_hook_status() -> None:
    """From now on, this process's stdout goes without Alembic's hook status lines."""
    if not isinstance(sys.stdout, WithoutHookStatus):
        sys.stdout = WithoutHookStatus(sys.stdout)
