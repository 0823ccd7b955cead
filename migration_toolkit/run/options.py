"""Our options on Alembic's own command line: `-x name=value`, the way Alembic documents it.

    alembic upgrade head -x accept-edited=3f2a1b9c0d4e
    alembic downgrade -1 -x confirm=3f2a1b9c0d4e:8ef2faae17b8
    alembic revision --autogenerate -m "..." -x rename=author.name:full_name

Python callers may put the same names in config.attributes["x"] (a dict).
"""

from dataclasses import dataclass
from typing import Any

from migration_toolkit.errors import UserFacingError

KNOWN = ("accept-edited", "confirm", "rename", "verbose")


@dataclass(frozen=True)
class RunOptions:
    accept_edited: tuple[str, ...] = ()
    confirm: str | None = None
    rename: str = ""
    verbose: bool = False


def x_arguments(environment: Any) -> dict[str, str]:
    """-x name=value pairs (and config.attributes["x"]), unknown names refused in one line."""
    given: dict[str, str] = {}
    for raw in environment.get_x_argument(as_dictionary=False):
        name, separator, value = str(raw).partition("=")
        if not separator:
            raise UserFacingError(f"-x {raw}: expected name=value, e.g. -x confirm=<from>:<to>")
        given[name.strip()] = value
    extra = environment.config.attributes.get("x")
    if isinstance(extra, dict):
        given.update({str(name): str(value) for name, value in extra.items()})
    unknown = sorted(set(given) - set(KNOWN))
    if unknown:
        raise UserFacingError(
            f"-x {unknown[0]}: unknown option; the options are {', '.join(KNOWN)}"
        )
    return given


def run_options(environment: Any) -> RunOptions:
    given = x_arguments(environment)
    accept = tuple(part for part in given.get("accept-edited", "").split(",") if part.strip())
    confirm = given.get("confirm")
    return RunOptions(
        accept_edited=tuple(part.strip() for part in accept),
        confirm=confirm.strip() if confirm is not None and confirm.strip() else None,
        rename=given.get("rename", ""),
        verbose=given.get("verbose", "") not in ("", "0", "false", "no"),
    )
