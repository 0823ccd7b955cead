"""What the helpers report as they go: one Step per helper call, batch, pause, lock, index build.

A listener registered with `on_step` receives each Step when it ends (ok or not), with wall
clock start and end times, so a step can be laid over a latency graph of the app. `make migrate`
with MIGRATION_EVENT_LOG=<path> appends every step, and every SQL statement the run sends, to
that file as JSON lines (run/events.py); bench/ draws its timelines from that file.
"""

import json
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import IO, Any

Listener = Callable[["Step"], None]

_listeners: list[Listener] = []


@dataclass(frozen=True)
class Step:
    """One thing a migration did, from `start` to `end` (epoch seconds).

    kind is one of: revision, helper, batch, pause, guard, lock, lock-wait, index, validate, sql.
    """

    kind: str
    name: str
    start: float
    end: float
    ok: bool = True
    detail: dict[str, Any] = field(default_factory=dict)

    @property
    def seconds(self) -> float:
        return self.end - self.start

    def json(self) -> str:
        return json.dumps(asdict(self), default=str)

    @classmethod
    def from_json(cls, line: str) -> "Step":
        return cls(**json.loads(line))


def on_step(listener: Listener) -> Callable[[], None]:
    """Call listener with each Step from now on; returns the function that stops it."""
    _listeners.append(listener)

    def stop() -> None:
        if listener in _listeners:
            _listeners.remove(listener)

    return stop


def emit(step: Step) -> None:
    for listener in list(_listeners):
        listener(step)


@contextmanager
def span(kind: str, name: str, **detail: Any) -> Iterator[dict[str, Any]]:
    """Report the block as one Step; the block may add to the yielded detail."""
    started = time.time()
    ok = False
    try:
        yield detail
        ok = True
    finally:
        emit(Step(kind, name, started, time.time(), ok, detail))


class JsonLines:
    """A listener appending each Step to a file as one JSON line, flushed at once."""

    def __init__(self, path: Path) -> None:
        self.file: IO[str] = path.open("a", encoding="utf-8")

    def __call__(self, step: Step) -> None:
        self.file.write(step.json() + "\n")
        self.file.flush()

    def close(self) -> None:
        self.file.close()


def read(path: Path) -> list[Step]:
    """The steps of an event log, in the order they ended."""
    lines = path.read_text(encoding="utf-8").splitlines() if path.exists() else []
    return [Step.from_json(line) for line in lines if line.strip()]
