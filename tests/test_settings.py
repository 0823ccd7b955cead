"""Settings: URL forms, escaped parts, hidden passwords, one-line errors."""

from urllib.parse import quote

import pytest
from sqlalchemy.engine import make_url

from app.settings import AppEnv, Settings, SettingsError, load_settings, parse_database_url
from tests.support import pg
from tests.support.pg import Server

NASTY = "p@ss%w:rd/#?&= x"


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in (
        "DATABASE_URL",
        "MIGRATION_DATABASE_URL",
        "DB_USER",
        "DB_PASSWORD",
        "DB_HOST",
        "DB_PORT",
        "DB_NAME",
        "APP_ENV",
    ):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir("/")  # no .env from the working tree


def test_defaults_compose_a_local_asyncpg_url() -> None:
    url = Settings().database_url
    assert url.drivername == "postgresql+asyncpg"
    assert (url.host, url.port, url.database, url.username) == (
        "127.0.0.1",
        54320,  # the project's own Postgres, never a server already on 5432
        "bookshelf",
        "postgres",
    )
    assert Settings().APP_ENV is AppEnv.DEVELOPMENT


def test_parts_are_escaped_so_any_password_survives(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DB_PASSWORD", NASTY)
    monkeypatch.setenv("DB_USER", "us@er")
    url = Settings().database_url
    rendered = url.render_as_string(hide_password=False)
    again = make_url(rendered)
    assert again.password == NASTY
    assert again.username == "us@er"
    assert again.host == "127.0.0.1"


@pytest.mark.parametrize("scheme", ["postgresql", "postgres", "postgresql+asyncpg"])
def test_url_schemes_become_asyncpg(scheme: str) -> None:
    url = parse_database_url(f"{scheme}://u:p@db.example:6543/shop")
    assert url.drivername == "postgresql+asyncpg"
    assert (url.host, url.port, url.database) == ("db.example", 6543, "shop")


def test_migration_url_falls_back_to_database_url(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DATABASE_URL", "postgresql://app:a@h/db")
    assert Settings().migration_url.username == "app"
    monkeypatch.setenv("MIGRATION_DATABASE_URL", "postgresql://owner:o@h/db")
    assert Settings().migration_url.username == "owner"
    assert Settings().database_url.username == "app"


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("mysql://u:secretpw@h/db", "DATABASE_URL must start with postgresql://"),
        ("not a url secretpw", "DATABASE_URL is not a valid URL"),
        ("postgresql://u:secretpw@h:notaport/db", "DATABASE_URL has a port that is not a number"),
        ("postgresql://u:secretpw@h", "DATABASE_URL names no database"),
    ],
)
def test_malformed_url_is_one_line_without_the_password(
    monkeypatch: pytest.MonkeyPatch, raw: str, expected: str
) -> None:
    monkeypatch.setenv("DATABASE_URL", raw)
    with pytest.raises(SettingsError) as caught:
        load_settings()
    message = str(caught.value)
    assert message.startswith(expected)
    assert "secretpw" not in message
    assert "\n" not in message


def test_unknown_app_env_names_the_choices(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("APP_ENV", "staging")
    with pytest.raises(SettingsError, match="APP_ENV='staging' is not one of: development, test"):
        load_settings()


def test_app_env_is_case_insensitive(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("APP_ENV", "Production")
    assert load_settings().APP_ENV is AppEnv.PRODUCTION


def test_password_never_shows_in_repr_or_str(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DB_PASSWORD", NASTY)
    monkeypatch.setenv("MIGRATION_DATABASE_URL", f"postgresql://o:{quote(NASTY, safe='')}@h/db")
    settings = Settings()
    assert settings.migration_url.password == NASTY
    for text in (
        repr(settings),
        str(settings),
        str(settings.database_url),
        repr(settings.database_url),
        str(settings.migration_url),
    ):
        assert NASTY not in text
        assert "p@ss" not in text


def test_dotenv_file_is_read(tmp_path: object, monkeypatch: pytest.MonkeyPatch) -> None:
    from pathlib import Path

    folder = Path(str(tmp_path))
    (folder / ".env").write_text("DB_NAME=from_dotenv\nAPP_ENV=test\n")
    monkeypatch.chdir(folder)
    settings = Settings()
    assert settings.database_url.database == "from_dotenv"
    assert settings.APP_ENV is AppEnv.TEST


def test_special_character_password_logs_in(
    pg_server: Server, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A real role with an awkward password connects through the composed URL."""
    role = "nasty_role"
    quoted_password = NASTY.replace("'", "''")
    pg.execute(
        pg_server.url,
        f"DROP ROLE IF EXISTS {role}",
        f"CREATE ROLE {role} LOGIN PASSWORD '{quoted_password}'",
    )
    try:
        for name, value in (
            ("DB_USER", role),
            ("DB_PASSWORD", NASTY),
            ("DB_HOST", pg_server.url.host or ""),
            ("DB_PORT", str(pg_server.url.port)),
            ("DB_NAME", "postgres"),
        ):
            monkeypatch.setenv(name, value)
        url = Settings().database_url
        rows = pg.fetch(url, "SELECT current_user AS who")
        assert rows[0]["who"] == role
    finally:
        pg.execute(pg_server.url, f"DROP ROLE IF EXISTS {role}")
