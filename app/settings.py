"""Configuration from the environment and `.env`, in one typed place."""

from enum import StrEnum
from functools import lru_cache
from typing import Annotated, Any

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError

from migration_toolkit.urls import ACCEPTED as LIBPQ_PARAMETERS

ASYNC_DRIVER = "postgresql+asyncpg"
_ACCEPTED_SCHEMES = {"postgres", "postgresql", "postgresql+asyncpg"}
LOCAL_HOSTS = frozenset({"localhost", "127.0.0.1", "::1", ""})


class SettingsError(ValueError):
    """A configuration mistake, worded for the person who made it."""


class AppEnv(StrEnum):
    DEVELOPMENT = "development"
    TEST = "test"
    PRODUCTION = "production"


def parse_database_url(raw: str, *, name: str = "DATABASE_URL") -> URL:
    """Parse a Postgres URL into the asyncpg form; the error never echoes the URL itself."""
    try:
        url = make_url(raw.strip())
    except ValueError as exc:
        if "int()" in str(exc):
            raise SettingsError(f"{name} has a port that is not a number") from None
        raise SettingsError(
            f"{name} is not a valid URL: expected postgresql://USER:PASSWORD@HOST:PORT/DBNAME"
        ) from None
    except ArgumentError:
        raise SettingsError(
            f"{name} is not a valid URL: expected postgresql://USER:PASSWORD@HOST:PORT/DBNAME"
        ) from None
    if url.drivername not in _ACCEPTED_SCHEMES:
        raise SettingsError(
            f"{name} must start with postgresql:// (got {url.drivername}://): "
            "expected postgresql://USER:PASSWORD@HOST:PORT/DBNAME"
        )
    if not url.database:
        raise SettingsError(
            f"{name} names no database: expected postgresql://USER:PASSWORD@HOST:PORT/DBNAME"
        )
    try:
        port = url.port
    except ValueError:
        raise SettingsError(f"{name} has a port that is not a number") from None
    if not url.host:
        # libpq would try a Unix socket or whatever answers on localhost: say where instead.
        raise SettingsError(
            f"{name} names no host: expected postgresql://USER:PASSWORD@HOST:PORT/DBNAME"
        )
    if port is not None and not 1 <= port <= 65535:
        raise SettingsError(f"{name} has port {port}, outside 1-65535: fix the port")
    unknown = sorted(set(url.query) - LIBPQ_PARAMETERS)
    if unknown:
        raise SettingsError(
            f"{name} has parameter {unknown[0]!r}, which is not supported: use "
            f"{', '.join(sorted(LIBPQ_PARAMETERS))}"
        )
    return url.set(drivername=ASYNC_DRIVER)


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_file=".env", env_file_encoding="utf-8", extra="ignore", hide_input_in_errors=True
    )

    APP_ENV: AppEnv = AppEnv.DEVELOPMENT

    # Either a whole URL, or its parts (escaped when composed, so any password works).
    DATABASE_URL: SecretStr | None = None
    DB_USER: str = "postgres"
    DB_PASSWORD: SecretStr = SecretStr("postgres")
    DB_HOST: str = "127.0.0.1"
    # Not 5432: the project's own Postgres never collides with a server already on this machine.
    DB_PORT: Annotated[int, Field(ge=1, le=65535)] = 54320
    DB_NAME: str = "bookshelf"

    # Migrations may run as the schema owner while the app runs with data rights only.
    MIGRATION_DATABASE_URL: SecretStr | None = None

    # Behind PgBouncer in transaction mode, asyncpg's prepared-statement cache must be off.
    DB_STATEMENT_CACHE: bool = True
    DB_POOL_SIZE: Annotated[int, Field(ge=1)] = 5

    @field_validator("APP_ENV", mode="before")
    @classmethod
    def normalise_app_env(cls, value: Any) -> Any:
        if isinstance(value, str):
            choices = ", ".join(env.value for env in AppEnv)
            if value.strip().lower() not in {env.value for env in AppEnv}:
                raise SettingsError(f"APP_ENV={value!r} is not one of: {choices}")
            return value.strip().lower()
        return value

    @model_validator(mode="after")
    def check_urls(self) -> "Settings":
        # Parse eagerly so a malformed URL fails at start-up, with its variable named.
        if self.DATABASE_URL is not None:
            parse_database_url(self.DATABASE_URL.get_secret_value())
        if self.MIGRATION_DATABASE_URL is not None:
            parse_database_url(
                self.MIGRATION_DATABASE_URL.get_secret_value(), name="MIGRATION_DATABASE_URL"
            )
        return self

    @property
    def database_url(self) -> URL:
        """The app's URL; SQLAlchemy's URL masks the password in str() and repr()."""
        if self.DATABASE_URL is not None:
            return parse_database_url(self.DATABASE_URL.get_secret_value())
        return URL.create(
            ASYNC_DRIVER,
            username=self.DB_USER,
            password=self.DB_PASSWORD.get_secret_value(),
            host=self.DB_HOST,
            port=self.DB_PORT,
            database=self.DB_NAME,
        )

    @property
    def migration_url(self) -> URL:
        """The URL migrations run with: the schema owner's, else the app's."""
        if self.MIGRATION_DATABASE_URL is not None:
            return parse_database_url(
                self.MIGRATION_DATABASE_URL.get_secret_value(), name="MIGRATION_DATABASE_URL"
            )
        return self.database_url


def is_local(url: URL) -> bool:
    """True when the URL's server is this machine (so the project may start one there)."""
    return (url.host or "") in LOCAL_HOSTS


def describe(url: URL) -> str:
    """host:port/dbname, for messages: never the user's password."""
    return f"{url.host or 'localhost'}:{url.port or 5432}/{url.database}"


@lru_cache
def get_settings() -> Settings:
    return load_settings()


def migration_url() -> URL:
    """The URL migrations run with (env.py and the migration toolkit ask for it here)."""
    return get_settings().migration_url


def load_settings(**overrides: Any) -> Settings:
    """Build Settings, turning pydantic's multi-line report into one SettingsError line."""
    from pydantic import ValidationError

    try:
        return Settings(**overrides)
    except ValidationError as exc:
        first = exc.errors()[0]
        field = ".".join(str(part) for part in first["loc"]) or "settings"
        context = first.get("ctx") or {}
        cause = context.get("error")
        message = str(cause) if isinstance(cause, SettingsError) else f"{field}: {first['msg']}"
        raise SettingsError(message) from None
