"""Read a Markdown guide into the steps a reader follows, top to bottom, as the reader sees them.

The conventions are all visible in the rendered page (docs/migrations.md explains them):
- a ```bash block is typed in order, one command a line (a trailing `\\` continues a line);
  a command whose comment says `# fails` must fail, with one error line and no traceback;
- a code block whose first line is `# file: PATH` is the whole new content of PATH;
- a code block whose first line is `# from: PATH` shows what PATH holds: each of its functions
  and classes must be the file's one of the same name, comments and layout aside;
- a code block whose first line is `# edit: PATH` changes PATH (a `*` in PATH stands for a
  generated revision's date and id, and must match one file): each top-level function or class
  of the block replaces the one of the same name, comment lines just above it included, and
  its imports the file lacks are added after the file's imports, as a group of their own;
- ```sh, ```text, ```sql, ```yaml blocks and code blocks without such a first line are shown,
  not run. Commands that need a session of their own stay in ```sh blocks and are tested
  elsewhere: `make test` is the suite itself, `make ci` tests/workflow/test_ci_make.py,
  `make serve` tests/workflow/test_serve_and_bootstrap.py, `make bench` tests/bench/.
"""

import ast
import re
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

_FENCE = re.compile(r"^(?P<indent> *)```(?P<info>[\w-]*)\s*$")
_FAILS = re.compile(r"\s#\s*fails\b")
_TARGET = re.compile(r"^#\s*(?P<kind>file|edit|from):\s*(?P<path>\S+)\s*$")


class GuideError(AssertionError):
    """The guide asks for something the runner cannot do as written."""


@dataclass(frozen=True)
class Step:
    kind: str  # "run", "file", "edit" or "from"
    text: str  # the command, or the code
    line: int
    section: str
    path: str = ""
    expect_error: bool = False

    def where(self, document: str) -> str:
        shown = self.text if self.kind == "run" else f"{self.kind}: {self.path}"
        return f"{document} line {self.line} ({self.section}): {shown}"


def _commands(block: list[tuple[int, str]], section: str) -> list[Step]:
    steps: list[Step] = []
    pending, start = "", 0
    for number, raw in block:
        line = raw.strip()
        if not pending and (not line or line.startswith("#")):
            continue
        start = start if pending else number
        if line.endswith("\\"):
            pending += line[:-1].rstrip() + " "
            continue
        command = pending + line
        pending = ""
        steps.append(
            Step("run", command, start, section, expect_error=bool(_FAILS.search(command)))
        )
    if pending:
        raise GuideError(f"line {start}: a command ends with `\\` and nothing follows")
    return steps


def _code(block: list[tuple[int, str]], indent: int, section: str) -> list[Step]:
    if not block:
        return []
    target = _TARGET.match(block[0][1].strip())
    if target is None:
        return []
    body = "\n".join(text[indent:] for _, text in block[1:]).strip("\n") + "\n"
    return [Step(target["kind"], body, block[0][0], section, path=target["path"])]


def parse(path: Path) -> list[Step]:
    """Every step of the document, in order; each names the `## ` section it belongs to."""
    steps: list[Step] = []
    section = ""
    fence: re.Match[str] | None = None
    block: list[tuple[int, str]] = []
    for number, line in enumerate(path.read_text().splitlines(), start=1):
        match = _FENCE.match(line)
        if fence is not None:
            if match and not match["info"] and len(match["indent"]) == len(fence["indent"]):
                info, indent = fence["info"], len(fence["indent"])
                if info == "bash":
                    steps += _commands(block, section)
                elif info not in {"sh", "text", "sql", "yaml", "console"}:
                    steps += _code(block, indent, section)
                fence, block = None, []
            else:
                block.append((number, line))
            continue
        if match:
            fence = match
        elif line.startswith("## "):
            section = line[3:].strip()
    if fence is not None:
        raise GuideError(
            f"a code block opened at line {block[0][0] - 1 if block else '?'} never closes"
        )
    return steps


def sections(steps: list[Step]) -> list[str]:
    return list(dict.fromkeys(step.section for step in steps))


def target(root: Path, pattern: str) -> Path:
    """The one file a step's PATH names, inside the project."""
    relative = PurePosixPath(pattern)
    if relative.is_absolute() or ".." in relative.parts:
        raise GuideError(f"{pattern}: a path inside the project is needed")
    if "*" not in pattern:
        return root / relative
    found = sorted(root.glob(pattern))
    if len(found) != 1:
        raise GuideError(f"{pattern} matches {len(found)} files, not one: {found}")
    return found[0]


def _spans(source: str) -> dict[str, tuple[int, int]]:
    """Top-level functions and classes: name -> (first, last) 0-based line, comments above
    and decorators included."""
    lines = source.splitlines()
    spans: dict[str, tuple[int, int]] = {}
    for node in ast.parse(source).body:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            first = min([node.lineno, *(d.lineno for d in node.decorator_list)]) - 1
            while first > 0 and lines[first - 1].lstrip().startswith("#"):
                first -= 1
            last = (node.end_lineno or node.lineno) - 1
            # Comments that end the body (Alembic's "### end Alembic commands ###") belong to it.
            while last + 1 < len(lines) and re.match(r"\s+#", lines[last + 1]):
                last += 1
            spans[node.name] = (first, last)
    return spans


def edit(source: str, change: str, where: str) -> str:
    """source with change applied: same-named definitions replaced, new imports added."""
    change_lines = change.splitlines()
    imports: list[str] = []
    for node in ast.parse(change).body:
        if isinstance(node, ast.Import | ast.ImportFrom):
            imports += change_lines[node.lineno - 1 : node.end_lineno]
        elif not isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            raise GuideError(f"{where}: an edit holds imports, functions and classes only")
    lines = source.splitlines()
    targets = _spans(source)
    replacements = _spans(change)
    for name in replacements:
        if name not in targets:
            raise GuideError(f"{where}: the file has no `{name}` to replace")
    # From the bottom up, so earlier spans keep their line numbers.
    for name, (first, last) in sorted(targets.items(), key=lambda item: -item[1][0]):
        if name in replacements:
            new_first, new_last = replacements[name]
            lines[first : last + 1] = change_lines[new_first : new_last + 1]
    missing = [line for line in imports if line not in lines]
    if missing:
        tree = ast.parse("\n".join(lines))
        ends = [
            n.end_lineno or n.lineno
            for n in tree.body
            if isinstance(n, ast.Import | ast.ImportFrom)
        ]
        at = max(ends) if ends else 0
        # A group of its own, as isort has it: the guide's imports are the project's own.
        lines[at:at] = ["", *missing] if at else missing
    return "\n".join(lines) + "\n"


def definitions(source: str) -> dict[str, str]:
    """Top-level functions and classes by name, as their AST (comments and layout aside)."""
    return {
        node.name: ast.dump(node)
        for node in ast.parse(source).body
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef)
    }


def shown_as_it_is(source: str, shown: str, where: str) -> None:
    """Refuse a `# from:` block whose definitions differ from the file's."""
    actual = definitions(source)
    for name, tree in definitions(shown).items():
        if actual.get(name) != tree:
            raise GuideError(f"{where}: `{name}` is not what the file holds")


def apply(root: Path, step: Step, document: str) -> Path:
    """Write or edit the file a code step names (or check a `# from:` one); its path."""
    path = target(root, step.path)
    if step.kind == "from":
        shown_as_it_is(path.read_text(), step.text, step.where(document))
    elif step.kind == "file":
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(step.text)
    else:
        if not path.exists():
            raise GuideError(f"{step.where(document)}: no such file to edit")
        path.write_text(edit(path.read_text(), step.text, step.where(document)))
    return path
