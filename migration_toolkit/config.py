"""The toolkit's configuration: `[tool.migration_toolkit]` in the project's pyproject.toml.

    [tool.migration_toolkit]
    alembic_ini = "alembic.ini"                    # where Alembic's own configuration is
    models = "app.models"                          # the package whose modules hold the tables
    database_url = "app.settings:migration_url"    # a function returning the migrations' URL
    schema_file = "app/storage/schema.sql"         # the committed schema at head (pg_dump);
                                                   # default: schema.sql beside the migrations
    schema_docs = "docs/schema.md"                 # its pictures: ER diagram, revision graph

The toolkit never imports the project's code by name: `models` is imported only by the
commands that compare models with the database (autogenerate, the drift check), and
`database_url` only by the commands that run outside env.py (start, stop, the checks).
The project root is the folder of that pyproject.toml, found from the working directory up.
"""

import importlib
import os
import tomllib
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from alembic.config import Config
from sqlalchemy.engine import URL, make_url

from migration_toolkit.errors import UserFacingError

TABLE = "migration_toolkit"
DEFAULTS: dict[str, str] = {
    "alembic_ini": "alembic.ini",
    "models": "app.models",
    "database_url": "app.settings:migration_url",
    "version_table_schema": "",
    "schema_file": "",
    "schema_docs": "docs/schema.md",
}


class ConfigError(UserFacingError):
    """The toolkit's configuration is missing or wrong."""


@dataclass(frozen=True)
class Project:
    """One project the toolkit serves: its root folder and its `[tool.migration_toolkit]`."""

    root: Path
    alembic_ini: Path
    models: str
    database_url: str
    version_table_schema: str | None = None
    # Absolute once read from pyproject.toml (project_at).
    schema_file: Path = Path("schema.sql")
    schema_docs: Path = Path(DEFAULTS["schema_docs"])

    @property
    def local_dir(self) -> Path:
        """Git-ignored state of this machine: the project's own Postgres and what it knows."""
        return self.root / ".local"

    def alembic_config(self) -> Config:
        config = Config(str(self.alembic_ini))
        config.attributes["project"] = self
        return config

    def url(self) -> URL:
        """The migrations' URL, from the project's configured function."""
        function = load_object(self.database_url, what="database_url")
        try:
            value = function()
        except ValueError as exc:  # a settings mistake: its message names the variable
            raise ConfigError(str(exc)) from None
        return value if isinstance(value, URL) else make_url(str(value))


def load_object(spec: str, *, what: str) -> Any:
    """`module:attribute` -> the attribute; one line naming the setting when it is wrong."""
    module_name, _, attribute = spec.partition(":")
    if not module_name or not attribute:
        raise ConfigError(
            f"[tool.{TABLE}] {what} = {spec!r} is not `module:function`, "
            'e.g. "app.settings:migration_url"'
        )
    module = importlib.import_module(module_name)
    try:
        return getattr(module, attribute)
    except AttributeError:
        raise ConfigError(
            f"[tool.{TABLE}] {what}: {module_name} has no {attribute!r}: fix pyproject.toml"
        ) from None


def find_root(start: Path | None = None) -> Path:
    """The nearest folder from start (default: the working directory) up with a pyproject.toml
    naming the toolkit, or else with an alembic.ini."""
    here = (start or Path.cwd()).resolve()
    candidates = [here, *here.parents]
    for folder in candidates:
        pyproject = folder / "pyproject.toml"
        if pyproject.is_file() and f"[tool.{TABLE}]" in pyproject.read_text():
            return folder
    for folder in candidates:
        if (folder / "alembic.ini").is_file():
            return folder
    raise ConfigError(
        f"no pyproject.toml with [tool.{TABLE}] (nor an alembic.ini) in {here} or above: "
        "run this from the project's folder"
    )


def _table(root: Path) -> dict[str, Any]:
    pyproject = root / "pyproject.toml"
    if not pyproject.is_file():
        return {}
    try:
        data = tomllib.loads(pyproject.read_text())
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{pyproject} is not valid TOML ({exc}): fix it") from None
    table = data.get("tool", {}).get(TABLE, {})
    unknown = sorted(set(table) - set(DEFAULTS))
    if unknown:
        raise ConfigError(
            f"[tool.{TABLE}] has unknown key(s) {', '.join(unknown)}: "
            f"the keys are {', '.join(DEFAULTS)}"
        )
    return dict(table)


def _beside_migrations(alembic_ini: Path) -> Path:
    """The default snapshot: schema.sql in the folder that holds Alembic's script_location."""
    try:
        location = Config(str(alembic_ini)).get_main_option("script_location")
    except Exception:  # a missing or broken alembic.ini is reported by the command that needs it
        location = None
    folder = alembic_ini.parent / (location or "")
    if not location or not folder.is_dir():  # none, or a package resource (pkg:folder)
        return alembic_ini.parent / "schema.sql"
    return folder.resolve().parent / "schema.sql"


@lru_cache
def project_at(root: Path) -> Project:
    values = {**DEFAULTS, **_table(root)}
    alembic_ini = (root / str(values["alembic_ini"])).resolve()
    schema_file = (
        root / str(values["schema_file"])
        if values["schema_file"]
        else _beside_migrations(alembic_ini)
    )
    return Project(
        root=root,
        alembic_ini=alembic_ini,
        models=str(values["models"]),
        database_url=str(values["database_url"]),
        version_table_schema=str(values["version_table_schema"]) or None,
        schema_file=schema_file,
        schema_docs=root / str(values["schema_docs"]),
    )


def current_project(config: Config | None = None) -> Project:
    """The project of an Alembic config (its alembic.ini's folder), else of the working dir."""
    if config is not None:
        given = config.attributes.get("project")
        if isinstance(given, Project):
            return given
        if config.config_file_name is not None:
            return project_at(find_root(Path(config.config_file_name).resolve().parent))
    override = os.environ.get("MIGRATION_TOOLKIT_ROOT")
    return project_at(find_root(Path(override) if override else None))
