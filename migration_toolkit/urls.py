"""Postgres URLs as people write them, for asyncpg: libpq query parameters translated.

Managed Postgres services hand out URLs like `postgresql://u:p@host/db?sslmode=require`.
SQLAlchemy passes query parameters to asyncpg.connect() as keywords, which it refuses;
asyncpg reads the libpq ones from a DSN instead. So they leave the URL and travel as a DSN
of their own in connect_args, where asyncpg parses them as libpq would.
"""

from typing import Any
from urllib.parse import quote, urlencode

from sqlalchemy.engine import URL

LOCAL_HOSTS = frozenset({"localhost", "127.0.0.1", "::1"})
# libpq parameters asyncpg understands in a DSN.
LIBPQ_PARAMETERS = frozenset(
    {
        "sslmode",
        "sslrootcert",
        "sslcert",
        "sslkey",
        "sslpassword",
        "sslcrl",
        "ssl_min_protocol_version",
        "ssl_max_protocol_version",
        "application_name",
        "target_session_attrs",
        "krbsrvname",
        "gsslib",
        "passfile",
    }
)
# Handled here: connect_timeout becomes asyncpg's timeout, options becomes server settings.
OWN_PARAMETERS = frozenset({"connect_timeout", "options"})
ACCEPTED = LIBPQ_PARAMETERS | OWN_PARAMETERS


class UrlError(ValueError):
    """A URL the toolkit cannot use as given."""


def describe(url: URL) -> str:
    """user@host:port/dbname, for messages: never the password."""
    user = f"{url.username}@" if url.username else ""
    return f"{user}{url.host or 'localhost'}:{url.port or 5432}/{url.database}"


def is_local(url: URL) -> bool:
    """True when the URL's server is this machine."""
    return (url.host or "") in LOCAL_HOSTS


def check_address(url: URL, *, name: str = "the database URL") -> None:
    """A URL must say where: a host, and a port in range (a default port is fine)."""
    if not url.host:
        raise UrlError(
            f"{name} names no host: write it, e.g. postgresql://USER:PASSWORD@127.0.0.1:5432/DB"
        )
    if url.port is not None and not 1 <= url.port <= 65535:
        raise UrlError(f"{name} has port {url.port}, outside 1-65535: fix the port")


def _options(value: str) -> dict[str, str]:
    """libpq's `options=-c name=value -c ...` as server settings."""
    settings: dict[str, str] = {}
    words = value.replace("-c ", "-c").split()
    for word in words:
        if not word.startswith("-c") or "=" not in word:
            raise UrlError(
                f"options={value!r}: only `-c name=value` settings are supported, "
                "e.g. options=-c%20statement_timeout%3D5000"
            )
        name, _, setting = word[2:].partition("=")
        settings[name.strip()] = setting.strip()
    return settings


def split_query(url: URL) -> tuple[URL, dict[str, Any]]:
    """The URL without its libpq parameters, and the connect_args that carry them."""
    query = {key: url.query[key] for key in url.query}
    unknown = sorted(set(query) - ACCEPTED)
    if unknown:
        raise UrlError(
            f"unknown parameter {unknown[0]!r} in the database URL: the supported ones are "
            f"{', '.join(sorted(ACCEPTED))}"
        )
    if not query:
        return url, {}
    connect_args: dict[str, Any] = {}
    libpq: dict[str, str] = {}
    for key, raw in query.items():
        value = raw if isinstance(raw, str) else raw[-1]
        if key == "connect_timeout":
            try:
                connect_args["timeout"] = float(value)
            except ValueError:
                raise UrlError(f"connect_timeout={value!r} is not a number of seconds") from None
        elif key == "options":
            connect_args["server_settings"] = _options(value)
        else:
            libpq[key] = value
    if libpq:
        # Host, user, password and database still come from the URL's own parts.
        connect_args["dsn"] = "postgresql://?" + urlencode(libpq, quote_via=quote)
    return url.set(query={}), connect_args


def merge_connect_args(base: dict[str, Any], extra: dict[str, Any]) -> dict[str, Any]:
    """connect_args with server settings merged rather than replaced."""
    merged = {**base, **extra}
    if "server_settings" in base and "server_settings" in extra:
        merged["server_settings"] = {**base["server_settings"], **extra["server_settings"]}
    return merged


def parse_url(raw: str, *, name: str) -> URL:
    """A postgresql:// URL from a variable such as TEST_DATABASE_URL, in the asyncpg form."""
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    try:
        url = make_url(raw.strip())
        _ = url.port
    except (ArgumentError, ValueError):
        raise UrlError(
            f"{name} is not a valid URL: expected postgresql://USER:PASSWORD@HOST:PORT/DBNAME"
        ) from None
    if url.drivername not in {"postgres", "postgresql", "postgresql+asyncpg"}:
        raise UrlError(f"{name} must start with postgresql:// (got {url.drivername}://)")
    check_address(url, name=name)
    return url.set(drivername="postgresql+asyncpg")
