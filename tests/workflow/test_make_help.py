"""`make help` groups the targets truthfully, and README.md's tables list every one of them."""

import re
from pathlib import Path

from tests.support.project import PROJECT_ROOT, Project

MAKEFILE = PROJECT_ROOT / "Makefile"
README = PROJECT_ROOT / "README.md"
_TARGET = re.compile(r"^(?P<name>[a-zA-Z_-]+):.*## ")
# What never touches your database (the checks group's promise).
CHECKS = {"migration-check", "migration-lint", "migration-sql", "migration-test", "ci"}


def documented_targets(path: Path) -> dict[str, str]:
    """Each target with a `## ` help text, and the `##@` group it is listed under."""
    groups: dict[str, str] = {}
    group = ""
    for line in path.read_text().splitlines():
        if line.startswith("##@ "):
            group = line[4:].strip()
        elif match := _TARGET.match(line):
            groups[match["name"]] = group
    return groups


def test_help_lists_every_target_under_its_group(project: Project) -> None:
    targets = documented_targets(MAKEFILE)
    result = project.make("help")
    assert result.returncode == 0, result.output
    shown: dict[str, str] = {}
    group = ""
    for line in result.stdout.splitlines():
        if line and not line.startswith(" "):
            group = line.strip()
        elif line.strip():
            shown[line.split()[0]] = group
    assert shown == targets


def test_only_checks_are_filed_as_checks() -> None:
    groups = documented_targets(MAKEFILE)
    filed = {name for name, group in groups.items() if group.startswith("Checks")}
    assert filed == CHECKS
    for name in ("alembic", "start", "stop", "migrate", "rollback"):
        assert not groups[name].startswith("Checks"), name


def test_the_readme_tables_list_every_target() -> None:
    rows = [line for line in README.read_text().splitlines() if line.startswith("| `make ")]
    listed = {name for row in rows for name in re.findall(r"`make ([a-z-]+)", row)}
    assert listed == set(documented_targets(MAKEFILE)), listed ^ set(documented_targets(MAKEFILE))
