"""The named calls env.py makes: Alembic's async template stays as it is, the toolkit plugs in.

Everything that makes a run safe lives behind these calls, so every way of running Alembic
(make, `uv run alembic`, a deploy script calling alembic.command, pytest-alembic) gets it:
local set-up, the migration lock, bounded lock waits, checksums, the production guard, and
one readable line instead of a traceback for a mistake a person can fix.
"""

import logging
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, SupportsIndex, overload

from alembic import context as alembic_context
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from alembic.script.revision import RevisionError
from alembic.util import CommandError
from sqlalchemy import MetaData
from sqlalchemy.engine import URL, Connection
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine
from sqlalchemy.pool import NullPool

from migration_toolkit import history
from migration_toolkit.autogen.quiet import hide_hook_status
from migration_toolkit.config import Project, current_project
from migration_toolkit.errors import (
    UserFacingError,
    causes,
    explain_connection_error,
    root_cause,
)
from migration_toolkit.run import checksums
from migration_toolkit.run.options import run_options
from migration_toolkit.settings import load_run_settings
from migration_toolkit.urls import (
    UrlError,
    check_address,
    describe,
    merge_connect_args,
    split_query,
)

LoadMetadata = Callable[[], MetaData]


def say(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def project() -> Project:
    try:
        config = alembic_context.config
    except AttributeError:  # outside env.py: Alembic's proxy is not set up
        config = None
    return current_project(config)


def configure_logging() -> None:
    """Alembic's INFO lines only with -x verbose=1 (or VERBOSE=1); warnings always."""
    verbose = run_options(alembic_context).verbose
    level = logging.INFO if verbose else logging.WARNING
    logging.getLogger("alembic").setLevel(level)
    messages = logging.getLogger("alembic.util.messaging")
    if alembic_context.config.messaging_opts.get("quiet"):
        # `alembic -q` (make's generating targets) silences Alembic's progress lines and its
        # `FAILED:` line too; the error is still logged here, so print it from the log.
        handler = logging.StreamHandler(sys.stdout)
        handler.setFormatter(logging.Formatter("FAILED: %(message)s"))
        messages.addHandler(handler)
        messages.setLevel(logging.ERROR)
        messages.propagate = False
        hide_hook_status()
    else:
        # Alembic logs a CommandError before printing it as `FAILED: ...`: say it once.
        messages.setLevel(logging.CRITICAL)


def is_autogenerate(context: MigrationContext) -> bool:
    """True for `revision --autogenerate`, from the command line or from Python."""
    revision_context = context.opts.get("revision_context")
    if revision_context is None:
        return False
    return bool(revision_context.command_args.get("autogenerate"))


class LazyMetadata(list[MetaData]):
    """target_metadata that imports the models only when autogenerate first reads it.

    A list, as Alembic and its plugins accept "a MetaData or a list of them"; it fills itself
    on first use, so upgrade, downgrade, current and history never import a model module.
    """

    def __init__(self, load: LoadMetadata) -> None:
        super().__init__()
        self.load = load
        self.filled = False

    def _fill(self) -> None:
        if not self.filled:
            self.filled = True
            super().append(load_models(self.load))

    def __iter__(self) -> Iterator[MetaData]:
        self._fill()
        return super().__iter__()

    def __len__(self) -> int:
        self._fill()
        return super().__len__()

    def __bool__(self) -> bool:
        return True

    @overload
    def __getitem__(self, index: SupportsIndex) -> MetaData: ...
    @overload
    def __getitem__(self, index: slice) -> list[MetaData]: ...
    def __getitem__(self, index: SupportsIndex | slice) -> MetaData | list[MetaData]:
        self._fill()
        return super().__getitem__(index)


def load_models(load: LoadMetadata) -> MetaData:
    """The models' MetaData; a model module that fails to import is one line naming it."""
    try:
        return load()
    except UserFacingError:
        raise
    except Exception as exc:
        raise UserFacingError(
            model_failure(exc)
            or f"the models failed to import: {type(exc).__name__}: {exc}; fix them before "
            "generating a revision (upgrade, rollback and current do not need them)"
        ) from None


def _in_models(module: str | None) -> bool:
    package = project().models
    return bool(module) and (module == package or str(module).startswith(package + "."))


def model_failure(exc: BaseException) -> str | None:
    """One line for an exception raised while a model module was imported; None otherwise.

    The models package may wrap the failure (app.models raises an ImportError naming the
    module, caused by the real error): the module and the real error are both named.
    """
    chain = causes(exc)
    module = None
    for link in chain:
        named = getattr(link, "name", None) if isinstance(link, ImportError) else None
        for candidate in (named, _failing_module(link)):
            if candidate and _in_models(candidate) and module is None:
                module = candidate
    if module is None:
        return None
    cause = chain[-1]
    return (
        f"model module {module} failed to import ({type(cause).__name__}: {cause}): fix it, "
        "then run the command again (upgrade, rollback and current do not need the models)"
    )


def _failing_module(exc: BaseException) -> str | None:
    traceback = exc.__traceback__
    module = None
    while traceback is not None:
        name = traceback.tb_frame.f_globals.get("__name__")
        if isinstance(name, str) and not name.startswith(("importlib", "migration_toolkit")):
            module = name
        traceback = traceback.tb_next
    return module


def context_options(load_metadata: LoadMetadata) -> dict[str, Any]:
    """context.configure() options; the models are imported only when they are compared."""
    project_ = project()
    options: dict[str, Any] = {
        "compare_type": True,
        "compare_server_default": True,
        # Each revision commits on its own: a failure leaves the one before it in place.
        "transaction_per_migration": True,
        # The checksum table beside alembic_version is the machinery's, not a model's.
        "include_name": checksums.include_name,
    }
    if project_.version_table_schema:
        options["version_table_schema"] = project_.version_table_schema
    from migration_toolkit.run.runner import changes_database

    if not changes_database():
        # revision (and check, current, history): the hooks, and the models only if read.
        from migration_toolkit import autogen
        from migration_toolkit.autogen import schemas

        metadata = LazyMetadata(load_metadata)
        options["target_metadata"] = metadata
        # Every schema the models use is compared; no other (autogen/schemas.py).
        options["include_schemas"] = True
        options["include_name"] = schemas.include_name(metadata, checksums.include_name)
        options["process_revision_directives"] = autogen.process_revision_directives
        options["render_item"] = autogen.render_item
    return options


def migration_url(url: URL) -> tuple[URL, dict[str, Any]]:
    """The URL to connect with and the connect_args its libpq parameters need."""
    try:
        check_address(url, name="the migrations' database URL")
        return split_query(url)
    except UrlError as exc:
        raise UserFacingError(str(exc)) from None


def create_engine(url: URL) -> AsyncEngine:
    """The migration engine: NullPool, named in pg_stat_activity, libpq parameters honoured."""
    from migration_toolkit.run.runner import APPLICATION_NAME

    settings = load_run_settings()
    plain, extra = migration_url(url)
    connect_args = merge_connect_args(
        {
            "timeout": settings.MIGRATION_CONNECT_TIMEOUT,
            "server_settings": {"application_name": APPLICATION_NAME},
        },
        extra,
    )
    return create_async_engine(plain, poolclass=NullPool, connect_args=connect_args)


def engine_like(engine: AsyncEngine) -> AsyncEngine:
    """A NullPool engine to engine's database: nothing pooled on another event loop is reused."""
    return create_async_engine(engine.url, poolclass=NullPool)


async def run_online(url: URL, do_run_migrations: Callable[[Connection], None]) -> None:
    """Set up (development only), lock, run; on the project's own Postgres, create the DB."""
    import asyncpg

    from migration_toolkit.local import provision
    from migration_toolkit.run import runner

    settings = load_run_settings()
    project_ = project()
    plain, _ = migration_url(url)
    if settings.APP_ENV.value == "development":
        provision.ensure_running(project_, plain, say)
    run = runner.run_for(alembic_context.config, settings, describe(plain))
    engine = create_engine(url)
    try:
        try:
            await runner.run_serialized(engine, run, do_run_migrations)
        except Exception as exc:
            missing = isinstance(root_cause(exc), asyncpg.InvalidCatalogNameError)
            if not (missing and provision.may_create_database(project_, plain)):
                raise
            await provision.create_database(project_, plain, say)
            await runner.run_serialized(engine, run, do_run_migrations)
    finally:
        await engine.dispose()


def _script() -> ScriptDirectory | None:
    """The revisions: env.py's own while it runs, else the project's."""
    try:
        found = alembic_context.script
        if isinstance(found, ScriptDirectory):
            return found
    except AttributeError:  # outside env.py Alembic's proxy is not set up
        pass
    try:
        return ScriptDirectory.from_config(project().alembic_config())
    except Exception:
        return None


def _heads_problem() -> str | None:
    script = _script()
    try:
        return history.heads_problem(script) if script is not None else None
    except Exception:
        return None


def _hint(message: str) -> str:
    lowered = message.lower()
    if "`make " in message:
        return message  # hinted already
    if "ambiguous walk" in lowered:
        return (
            "a relative revision (like <id>-1 or head-2) crosses a branch or merge point, where "
            "it has no single answer: name the revision to go to, e.g. `make rollback rev=<id>` "
            "(`make migration-history` lists them)"
        )
    if "multiple head" in lowered:
        return _heads_problem() or (
            "the history has several heads: `make migration-heads` lists them, "
            "`make migration-merge` joins them into one"
        )
    if "target database is not up to date" in lowered:
        return (
            _heads_problem()
            or "the database is not at head: run `make migrate` first, then generate again"
        )
    if "can't locate revision" in lowered or "no such revision" in lowered:
        return f"{message}; `make migration-history` lists the revisions"
    return message


def explain(exc: BaseException, url: URL | None) -> str | None:
    """The one line for a failure a user can fix; None for our own bugs."""
    if isinstance(exc, UserFacingError):
        return str(exc)
    if isinstance(exc, CommandError | RevisionError):
        return _hint(str(exc))
    if isinstance(exc, SyntaxError):
        return f"{exc.filename} line {exc.lineno} has a syntax error ({exc.msg}): fix the file"
    try:
        model = model_failure(exc)
    except Exception:  # no project to ask about its models package
        model = None
    if model is not None:
        return model
    if isinstance(exc, ValueError) and type(exc).__name__ == "SettingsError":
        return str(exc)
    if isinstance(exc, KeyError):
        revision = str(exc.args[0]) if exc.args else "?"
        return (
            f"revision {revision} is named by the history (a down_revision, or the database's "
            "alembic_version) but versions/ has no file for it: restore the file from version "
            "control, or point that down_revision at an existing revision"
        )
    if isinstance(exc, ImportError) and exc.name is not None:
        return (
            f"a revision file imports {exc.name}, which cannot be imported ({exc}): install it "
            "or fix the import"
        )
    if url is not None:
        return explain_connection_error(exc, url)
    return None


@contextmanager
def one_line_errors(url: Callable[[], URL] | None = None) -> Iterator[None]:
    """Turn a user's mistake into Alembic's CommandError, which it prints as one line."""
    try:
        yield
    except CommandError as exc:
        cause = exc.__cause__
        if isinstance(cause, RevisionError) and "multiple revisions start" in str(cause).lower():
            # Alembic words an ambiguous prefix as "Can't locate"; its cause lists the matches.
            raise CommandError(f"{cause}: type more of the revision id") from exc
        hinted = _hint(str(exc))
        if hinted == str(exc):
            raise
        raise CommandError(hinted) from exc
    except (SystemExit, KeyboardInterrupt) as exc:
        raise CommandError(
            f"interrupted ({type(exc).__name__}): the step in progress was rolled back; "
            "`make migration-current` shows where the database is"
        ) from None
    except Exception as exc:
        try:
            where = url() if url is not None else None
        except Exception:
            where = None
        message = explain(exc, where)
        if message is None:
            raise
        # Alembic prints only the message; Python callers still find the cause on it.
        raise CommandError(message) from exc


def online_options(connection: Connection) -> dict[str, Any]:
    """Extra context.configure() options for online runs: the step bookkeeping."""
    from migration_toolkit.run import runner

    run = runner.current_run()
    if run is None:
        # A connection handed in by the caller (tests, connection sharing): no lock, same checks.
        run = runner.run_for(
            alembic_context.config, load_run_settings(), describe(connection.engine.url)
        )
    run.external_transaction = connection.in_transaction()
    return runner.online_options()


def run_migrations() -> None:
    """context.run_migrations() with checksums, the guard, and a failure naming its revision."""
    from migration_toolkit.run import runner

    runner.run_migrations()


def run_migrations_online(
    url: Callable[[], URL], do_run_migrations: Callable[[Connection], None]
) -> None:
    """Alembic's `run_migrations_online`, for an env.py that wants it in one call.

    A connection handed in through config.attributes["connection"] (Alembic's cookbook,
    "connection sharing"; the toolkit's checks do this) or an AsyncEngine (pytest-alembic) is
    used as given; otherwise the toolkit connects to url() with its lock and set-up.
    """
    import asyncio

    handed = alembic_context.config.attributes.get("connection")
    if handed is None:
        asyncio.run(run_online(url(), do_run_migrations))
    elif isinstance(handed, AsyncEngine):

        async def on_engine(engine: AsyncEngine) -> None:
            async with engine.begin() as connection:
                await connection.run_sync(do_run_migrations)

        asyncio.run(on_engine(handed))
    else:
        do_run_migrations(handed)
