"""Run knobs from the environment (and the project's `.env`): timeouts, retries, APP_ENV.

The database URL is not here: env.py hands it over from the project's own settings.
"""

from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

from pydantic import Field, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from migration_toolkit.errors import UserFacingError


class SettingsError(UserFacingError):
    """A run knob has a value it cannot take."""


class AppEnv(StrEnum):
    DEVELOPMENT = "development"
    TEST = "test"
    PRODUCTION = "production"


class RunSettings(BaseSettings):
    model_config = SettingsConfigDict(
        env_file=".env", env_file_encoding="utf-8", extra="ignore", hide_input_in_errors=True
    )

    APP_ENV: AppEnv = AppEnv.DEVELOPMENT
    MIGRATION_LOCK_TIMEOUT: Annotated[float, Field(gt=0)] = 5.0
    MIGRATION_STATEMENT_TIMEOUT: Annotated[float, Field(ge=0)] = 600.0
    MIGRATION_LOCK_RETRIES: Annotated[int, Field(ge=1)] = 3
    MIGRATION_WAIT_TIMEOUT: Annotated[float, Field(gt=0)] = 60.0
    MIGRATION_CONNECT_TIMEOUT: Annotated[float, Field(gt=0)] = 10.0
    # A file to append the run's steps to, as JSON lines (run/event_log.py); none by default.
    MIGRATION_EVENT_LOG: Path | None = None

    @field_validator("APP_ENV", mode="before")
    @classmethod
    def normalise_app_env(cls, value: Any) -> Any:
        if isinstance(value, str):
            if value.strip().lower() not in {env.value for env in AppEnv}:
                choices = ", ".join(env.value for env in AppEnv)
                raise ValueError(f"APP_ENV={value!r} is not one of: {choices}")
            return value.strip().lower()
        return value

    @property
    def production(self) -> bool:
        return self.APP_ENV is AppEnv.PRODUCTION


def load_run_settings(**overrides: Any) -> RunSettings:
    """RunSettings (`.env` of the working directory), pydantic's report made one line."""
    try:
        return RunSettings(**overrides)
    except ValidationError as exc:
        first = exc.errors()[0]
        field = ".".join(str(part) for part in first["loc"]) or "settings"
        message = str(first["msg"]).removeprefix("Value error, ")
        if not message.startswith(field):
            message = f"{field}: {message}"
        raise SettingsError(message) from None
