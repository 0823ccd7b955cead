"""Read docs/*.md into runnable sections: the promise that every command shown works.

Conventions (they are invisible when the Markdown is rendered):
- every ```bash block is run, line by line, in a scratch copy of the project;
- each `## ` section runs in its own scratch copy with an empty database;
- `<!-- doc-test: sh COMMAND -->` runs COMMAND first (e.g. the model edit the prose describes);
- `<!-- doc-test: expect-error -->` before a block: each of its commands must fail with one
  `error:` line and no traceback;
- `<!-- doc-test: env NAME=VALUE -->` sets a variable for the rest of the section.
Commands that need a whole session of their own (`make test`, `make serve`, `make bench`,
`make ci`) are shown in ```sh blocks and tested elsewhere.
"""

import re
import shlex
from dataclasses import dataclass, field
from pathlib import Path

_DIRECTIVE = re.compile(r"<!--\s*doc-test:\s*(\w[\w-]*)\s*(.*?)\s*-->", re.S)
_FENCE = re.compile(r"^```(\w*)\s*$")


@dataclass
class Step:
    kind: str  # "run", "sh", "env"
    text: str
    expect_error: bool = False
    line: int = 0


@dataclass
class Section:
    document: str
    title: str
    steps: list[Step] = field(default_factory=list)

    @property
    def id(self) -> str:
        slug = re.sub(r"[^a-z0-9]+", "-", self.title.lower()).strip("-")
        return f"{Path(self.document).stem}:{slug}"


def parse(path: Path) -> list[Section]:
    sections: list[Section] = []
    current: Section | None = None
    expect_error = False
    in_block: str | None = None
    for number, line in enumerate(path.read_text().splitlines(), start=1):
        fence = _FENCE.match(line)
        if in_block is not None:
            if fence and not fence.group(1):
                in_block = None
                expect_error = False
            elif in_block == "bash" and current is not None:
                command = line.strip()
                if command and not command.startswith("#"):
                    current.steps.append(Step("run", command, expect_error, number))
            continue
        if fence:
            in_block = fence.group(1) or "text"
            continue
        if line.startswith("## "):
            current = Section(path.name, line[3:].strip())
            sections.append(current)
            expect_error = False
            continue
        for directive in _DIRECTIVE.finditer(line):
            name, argument = directive.group(1), directive.group(2)
            if name == "expect-error":
                expect_error = True
            elif current is not None and name in {"sh", "env"}:
                current.steps.append(Step(name, argument, line=number))
    return [section for section in sections if any(s.kind == "run" for s in section.steps)]


def env_assignment(text: str) -> tuple[str, str]:
    name, _, value = text.partition("=")
    return name.strip(), " ".join(shlex.split(value))
