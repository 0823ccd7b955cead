"""`make migration-lint`: squawk over each revision's offline SQL, with our advice per rule.

A revision opts out of a rule with a visible comment that says why, anywhere in its file:

    # squawk-ignore: require-concurrent-index-creation -- the table is empty at this point

It becomes squawk's own `-- squawk-ignore-file <rule>` on that revision's SQL.

Statements of the online helpers are safe by construction: their offline SQL is marked
(migration_toolkit/online/marks.py) and findings inside the marks are not reported.
"""

import json
import re
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TextIO

from alembic.script import Script, ScriptDirectory
from alembic.util import CommandError

from migration_toolkit import history
from migration_toolkit.checks import type_changes
from migration_toolkit.checks.advice import advice_for
from migration_toolkit.checks.connection import config_for
from migration_toolkit.checks.offline_sql import per_revision
from migration_toolkit.config import current_project
from migration_toolkit.errors import UserFacingError
from migration_toolkit.online.marks import helper_lines

OPT_OUT_SYNTAX = "# squawk-ignore: <rule> -- <why it is safe here>"
_MENTION = re.compile(r"#\s*squawk-ignore\b")
_OPT_OUT = re.compile(
    r"#\s*squawk-ignore:\s*(?P<rules>[a-z0-9][a-z0-9-]*(?:\s*,\s*[a-z0-9][a-z0-9-]*)*)"
    r"\s+--\s*(?P<reason>\S.*?)\s*$"
)
# Files written after this import are the ones this process wrote (see review_new_revisions).


@dataclass(frozen=True)
class OptOut:
    rule: str
    reason: str


@dataclass(frozen=True)
class Finding:
    revision: str
    path: str
    rule: str
    message: str
    statement: str


@dataclass
class Report:
    revisions: list[Script] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)
    opt_outs: dict[str, list[OptOut]] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)


def relative(path: str | Path) -> str:
    try:
        return str(Path(path).resolve().relative_to(current_project().root))
    except ValueError:
        return str(path)


def squawk_binary() -> str:
    beside_python = Path(sys.executable).parent / "squawk"
    found = str(beside_python) if beside_python.exists() else shutil.which("squawk")
    if found is None:
        raise UserFacingError("squawk is not installed: run `make install` (squawk-cli)")
    return found


def read_opt_outs(path: Path) -> tuple[list[OptOut], list[str]]:
    """The opt-outs a revision file declares, and the malformed ones as problems."""
    opt_outs: list[OptOut] = []
    problems: list[str] = []
    for number, line in enumerate(path.read_text().splitlines(), start=1):
        if not _MENTION.search(line):
            continue
        match = _OPT_OUT.search(line)
        if match is None:
            problems.append(
                f"{relative(path)} line {number}: an opt-out needs a rule and a reason: "
                f"write `{OPT_OUT_SYNTAX}`"
            )
            continue
        for rule in re.split(r"\s*,\s*", match.group("rules")):
            opt_outs.append(OptOut(rule, match.group("reason")))
    return opt_outs, problems


def _git_paths(ref: str) -> set[str] | None:
    versions = "app/storage/migrations/versions/"
    try:
        listed = subprocess.run(
            ["git", "ls-tree", "-r", "--name-only", ref, "--", versions],
            cwd=current_project().root,
            capture_output=True,
            text=True,
            check=False,
        )
    except OSError:
        return None
    if listed.returncode != 0:
        return None
    return set(listed.stdout.split())


def select(script: ScriptDirectory, base: str | None) -> list[Script]:
    """Revisions after base (a revision, or a git ref whose versions/ counts as known), oldest
    first; all of them without a base."""
    everything = history.ordered(script)
    if not base:
        return everything
    try:
        found = script.get_revision(base)
    except CommandError:
        found = None
    if found is not None:
        newer = history.descendants(script, found.revision)
        return [rev for rev in everything if rev.revision in newer]
    known = _git_paths(base)
    if known is None:
        raise UserFacingError(
            f"base={base} is neither a revision nor a git ref: "
            "use a revision id (`make migration-history`) or a branch such as origin/main"
        )
    return [rev for rev in everything if relative(rev.path) not in known]


def _statement_at(sql: str, line: int) -> str:
    lines = sql.splitlines()
    return lines[line].strip() if 0 <= line < len(lines) else ""


def run_squawk(sql_by_revision: dict[str, str], paths: dict[str, str]) -> list[Finding]:
    """One squawk run over one file per revision; findings in revision order."""
    if not sql_by_revision:
        return []
    with tempfile.TemporaryDirectory(prefix="migration-lint-") as folder:
        files: dict[str, str] = {}
        for revision, sql in sql_by_revision.items():
            target = Path(folder) / f"{revision}.sql"
            target.write_text(sql)
            files[str(target)] = revision
        config = current_project().root / ".squawk.toml"
        completed = subprocess.run(
            [
                squawk_binary(),
                *(("-c", str(config)) if config.is_file() else ()),
                "--reporter",
                "json",
                *files,
            ],
            cwd=current_project().root,
            capture_output=True,
            text=True,
            check=False,
        )
    try:
        violations = json.loads(completed.stdout or "[]")
    except json.JSONDecodeError:
        violations = None
    if completed.returncode not in (0, 1) or not isinstance(violations, list):
        detail = (completed.stderr or completed.stdout).strip().splitlines()
        raise UserFacingError(f"squawk failed: {detail[-1] if detail else completed.returncode}")
    order = {revision: index for index, revision in enumerate(sql_by_revision)}
    by_helpers = {revision: helper_lines(sql) for revision, sql in sql_by_revision.items()}
    findings = []
    for violation in violations:
        revision = files.get(violation["file"], Path(violation["file"]).stem)
        if violation["line"] in by_helpers.get(revision, set()):
            continue
        findings.append(
            Finding(
                revision=revision,
                path=paths.get(revision, revision),
                rule=violation["rule_name"],
                message=violation["message"],
                statement=_statement_at(sql_by_revision.get(revision, ""), violation["line"]),
            )
        )
    findings.sort(key=lambda finding: order.get(finding.revision, len(order)))
    return findings


def lint(base: str | None = None, only: Iterable[str] | None = None) -> Report:
    """Lint the revisions after base (or those named in only), each on its own."""
    script = ScriptDirectory.from_config(config_for())
    duplicated = history.duplicate_problem(script)
    if duplicated is not None:
        raise UserFacingError(duplicated)
    chosen = select(script, base)
    if only is not None:
        wanted = set(only)
        chosen = [rev for rev in chosen if rev.revision in wanted]
    report = Report(revisions=chosen)
    if not chosen:
        return report
    sql = per_revision()
    inputs: dict[str, str] = {}
    paths: dict[str, str] = {}
    for rev in chosen:
        opt_outs, problems = read_opt_outs(Path(rev.path))
        report.problems.extend(problems)
        if opt_outs:
            report.opt_outs[rev.revision] = opt_outs
        header = "".join(f"-- squawk-ignore-file {opt.rule}\n" for opt in opt_outs)
        inputs[rev.revision] = header + sql.get(rev.revision, "")
        paths[rev.revision] = relative(rev.path)
    files = {rev.revision: Path(rev.path) for rev in chosen}
    report.findings = [
        finding for finding in run_squawk(inputs, paths) if not _rewrite_free(finding, files)
    ]
    return report


def _rewrite_free(finding: Finding, files: dict[str, Path]) -> bool:
    """A type change squawk flags that Postgres makes in its catalog only (type_changes.py)."""
    if finding.rule != "changing-column-type" or finding.revision not in files:
        return False
    changed = type_changes.statement_column(finding.statement)
    return changed is not None and changed in type_changes.rewrite_free_columns(
        files[finding.revision]
    )


def print_report(report: Report, out: TextIO, prefix: str = "") -> None:
    current = None
    for finding in report.findings:
        if finding.path != current:
            current = finding.path
            print(f"{prefix}{finding.path}", file=out)
        print(f"{prefix}  {finding.rule}: {finding.statement}", file=out)
        print(f"{prefix}    why: {finding.message}", file=out)
        print(f"{prefix}    safe alternative: {advice_for(finding.rule)}", file=out)
    by_path = {rev.revision: relative(rev.path) for rev in report.revisions}
    for revision, opt_outs in report.opt_outs.items():
        for opt in opt_outs:
            print(f"{prefix}{by_path[revision]}: opts out of {opt.rule}: {opt.reason}", file=out)
    for problem in report.problems:
        print(f"{prefix}{problem}", file=out)


def _count(number: int, noun: str) -> str:
    return f"{number} {noun}{'s' * (number != 1)}"


def check(base: str | None = None) -> None:
    """The `make migration-lint` command: report, and fail when anything was found."""
    report = lint(base)
    print_report(report, sys.stdout)
    if report.problems and not report.findings and len(report.problems) == 1:
        raise UserFacingError(report.problems[0])
    if report.findings or report.problems:
        parts = []
        if report.findings:
            revisions = len({finding.revision for finding in report.findings})
            parts.append(
                f"{_count(len(report.findings), 'finding')} in {_count(revisions, 'revision')}"
            )
        if report.problems:
            parts.append(_count(len(report.problems), "malformed opt-out"))
        raise UserFacingError(
            f"migration-lint: {' and '.join(parts)}: apply the safe alternative, or opt out in "
            f"the revision with `{OPT_OUT_SYNTAX}`"
        )
    scope = f"after {base}" if base else "in the history"
    names = ", ".join(rev.revision for rev in report.revisions) or "none"
    print(f"migration-lint: {len(report.revisions)} revision(s) {scope} clean ({names})")


def review_file(path: Path) -> None:
    """After a revision is written: print the lint findings of its SQL (never fails)."""
    script = ScriptDirectory.from_config(config_for())
    written = [
        rev.revision
        for rev in script.walk_revisions()
        if rev.path and Path(rev.path).resolve() == path.resolve()
    ]
    if not written:
        return
    report = lint(only=written)
    if not report.findings and not report.problems:
        print("lint: the new revision is clean (squawk)", file=sys.stderr)
        return
    print("lint: review these before you commit (`make migration-lint`):", file=sys.stderr)
    print_report(report, sys.stderr, prefix="  ")
