"""The revision graph as a team lives it: branches, merges, and the order revisions were written.

Alembic orders revisions only by their links, so two developers' revisions on one parent have
no order between them, and a relative step (`-1`, `+1`) across a merge point is ambiguous to
it. Here revisions are ordered by when they were written (the Create Date of their docstring,
else the date their file name starts with), which makes every walk repeatable:

- `ordered`: every revision, each after all it depends on, older first;
- `relative_steps`: what `rollback rev=-N` / `migrate rev=+N` mean on a branched history: undo
  the N revisions written last among those nothing applied depends on (a merge revision first,
  leaving its parents as heads), or apply the N oldest whose parents are all applied.
"""

import re
from collections.abc import Iterable, Sequence
from pathlib import Path

from alembic.runtime.migration import MigrationStep, RevisionStep
from alembic.script import Script, ScriptDirectory

_CREATE_DATE = re.compile(r"^Create Date:\s*(?P<date>\S.*?)\s*$", re.MULTILINE)
_LEADING_DIGITS = re.compile(r"^[\d_\-. :T]+")
_RELATIVE = re.compile(r"^(?P<sign>[-+])(?P<count>\d+)$")
_REVISION_LINE = re.compile(
    r"^revision(?:\s*:[^=\n]*)?\s*=\s*(?P<quote>['\"])(?P<id>[^'\"]+)(?P=quote)", re.MULTILINE
)


def _ids(value: str | Sequence[str] | None) -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, str):
        return (value,)
    return tuple(value)


def _digits(text: str) -> str:
    """The date and time a string starts with, as 14 digits (YYYYMMDDHHMMSS), or ''."""
    match = _LEADING_DIGITS.match(text)
    digits = re.sub(r"\D", "", match.group(0)) if match else ""
    return (digits + "0" * 14)[:14] if len(digits) >= 8 else ""


def written_at(revision: Script) -> tuple[str, str, str]:
    """A sort key: when the revision was written, then its file name and id as tie-breakers."""
    name = Path(revision.path).name if revision.path else ""
    found = _CREATE_DATE.search(revision.longdoc or "")
    when = _digits(found.group("date")) if found else ""
    return (when or _digits(name), name, revision.revision)


def parents(script: ScriptDirectory, revision: Script) -> set[str]:
    """The revisions this one needs applied first: its down revisions and its dependencies."""
    needed = set(_ids(revision.down_revision))
    for dependency in _ids(revision.dependencies):
        needed |= {found.revision for found in script.get_revisions(dependency) if found}
    return needed


def ordered(script: ScriptDirectory) -> list[Script]:
    """Every revision, each after all it depends on; among those free to go, the older first."""
    everything = {revision.revision: revision for revision in script.walk_revisions()}
    waiting = {rev: parents(script, found) & everything.keys() for rev, found in everything.items()}
    done: list[Script] = []
    placed: set[str] = set()
    while waiting:
        ready = [rev for rev, needs in waiting.items() if needs <= placed]
        if not ready:  # a cycle: Alembic refuses it before we get here
            break
        first = min(ready, key=lambda rev: written_at(everything[rev]))
        done.append(everything[first])
        placed.add(first)
        del waiting[first]
    return done


def applied(script: ScriptDirectory, heads: Iterable[str]) -> set[str]:
    """Every revision at or below heads."""
    found: set[str] = set()
    stack = list(heads)
    while stack:
        current = stack.pop()
        if current in found:
            continue
        found.add(current)
        revision = script.get_revision(current)
        if revision is not None:
            stack.extend(parents(script, revision))
    return found


def descendants(script: ScriptDirectory, revision: str) -> set[str]:
    """The revisions that have revision below them (not revision itself)."""
    children: dict[str, set[str]] = {}
    for found in script.walk_revisions():
        for parent in parents(script, found):
            children.setdefault(parent, set()).add(found.revision)
    found_ids: set[str] = set()
    stack = list(children.get(revision, ()))
    while stack:
        current = stack.pop()
        if current not in found_ids:
            found_ids.add(current)
            stack.extend(children.get(current, ()))
    return found_ids


def is_linear(script: ScriptDirectory) -> bool:
    """No branch point and no merge point anywhere in the history."""
    return all(
        len(revision.nextrev) <= 1 and len(_ids(revision.down_revision)) <= 1
        for revision in script.walk_revisions()
    )


def relative(destination: str | None) -> int | None:
    """-N or +N as an int, for a destination that is only a relative step; else None."""
    match = _RELATIVE.match(destination or "")
    if match is None:
        return None
    count = int(match.group("count"))
    return -count if match.group("sign") == "-" else count


class NotEnoughRevisions(Exception):
    """A relative step asks for more revisions than there are to undo or apply."""

    def __init__(self, wanted: int, found: int) -> None:
        super().__init__(f"{wanted} wanted, {found} found")
        self.wanted, self.found = wanted, found


def relative_steps(script: ScriptDirectory, heads: Sequence[str], count: int) -> list[RevisionStep]:
    """The steps of `downgrade -N` (count < 0) or `upgrade +N` on a branched history."""
    done = applied(script, heads)
    everything = {revision.revision: revision for revision in script.walk_revisions()}
    needs = {rev: parents(script, found) for rev, found in everything.items()}
    steps: list[RevisionStep] = []
    for _ in range(abs(count)):
        if count < 0:
            needed = set().union(*(needs.get(rev, set()) for rev in done))
            free = [rev for rev in done if rev not in needed and rev in everything]
            if not free:
                raise NotEnoughRevisions(abs(count), len(steps))
            chosen = max(free, key=lambda rev: written_at(everything[rev]))
            done.discard(chosen)
            steps.append(
                MigrationStep.downgrade_from_script(script.revision_map, everything[chosen])
            )
        else:
            free = [rev for rev in everything if rev not in done and needs[rev] <= done]
            if not free:
                raise NotEnoughRevisions(count, len(steps))
            chosen = min(free, key=lambda rev: written_at(everything[rev]))
            done.add(chosen)
            steps.append(MigrationStep.upgrade_from_script(script.revision_map, everything[chosen]))
    return steps


def version_files(script: ScriptDirectory) -> list[Path]:
    """The revision files of every version location."""
    locations = script.version_locations or [script.versions]
    files: list[Path] = []
    for location in locations:
        folder = Path(location)
        if folder.is_dir():
            files.extend(
                path for path in sorted(folder.rglob("*.py")) if "__pycache__" not in path.parts
            )
    return files


def duplicate_ids(script: ScriptDirectory) -> dict[str, list[Path]]:
    """Revision ids that more than one file declares (Alembic keeps only one of them)."""
    seen: dict[str, list[Path]] = {}
    for path in version_files(script):
        try:
            text = path.read_text()
        except (OSError, UnicodeDecodeError):
            continue
        found = _REVISION_LINE.search(text)
        if found is not None:
            seen.setdefault(found.group("id"), []).append(path)
    return {revision: paths for revision, paths in seen.items() if len(paths) > 1}


def describe(script: ScriptDirectory, revisions: Iterable[str]) -> str:
    shown = []
    for rev in sorted(revisions):
        found = script.get_revision(rev)
        shown.append(f"{rev} ({found.doc})" if found is not None and found.doc else rev)
    return ", ".join(shown)


def duplicate_problem(script: ScriptDirectory) -> str | None:
    duplicates = duplicate_ids(script)
    if not duplicates:
        return None
    revision, paths = sorted(duplicates.items())[0]
    names = ", ".join(path.name for path in paths)
    return (
        f"revision id {revision} is declared by {len(paths)} files ({names}): Alembic keeps only "
        "one of them, so the history looks forked; delete the copy that was never applied "
        'anywhere and generate it again with `make migration msg="..."` (or give it a new '
        "`revision =` id by hand)"
    )


def heads_problem(script: ScriptDirectory) -> str | None:
    """Why versions/ has no single head (a duplicated id, or unmerged branches), or None."""
    duplicated = duplicate_problem(script)
    if duplicated is not None:
        return duplicated
    heads = script.get_heads()
    if len(heads) <= 1:
        return None
    return (
        f"versions/ has {len(heads)} heads ({describe(script, heads)}): branches were added on "
        "the same parent; join them with `make migration-merge`, then run `make migrate`"
    )
