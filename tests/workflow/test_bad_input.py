"""Every bad input the issue lists, through the real Makefile in a scratch copy.

Each gives one `error:` line (what is wrong, what to type), a non-zero exit, no traceback,
no password, and leaves the database as it was.
"""

import json
import secrets
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from urllib.parse import quote

import pytest
from sqlalchemy.engine import URL

from tests.storage.safety_support import head_of, write_revision
from tests.support import pg
from tests.support.project import Project, Result, copy_project

Snapshot = tuple[list[str], set[str]]


@pytest.fixture(scope="module")
def scratch(tmp_path_factory: pytest.TempPathFactory, new_database: Callable[[], URL]) -> Project:
    """One scratch copy at head for the whole module; each test leaves it as it found it."""
    root = copy_project(tmp_path_factory.mktemp("bad_input") / "project")
    project = Project(root=root, database_url=new_database())
    result = project.make("migrate")
    assert result.returncode == 0, result.output
    return project


@pytest.fixture(scope="module")
def password_server(pg_server: pg.Server) -> Iterator[pg.Server]:
    """A server that checks passwords: the session's own cluster, else a fresh one."""
    if pg_server.own_cluster is not None:
        yield pg_server
        return
    with pg.own_cluster() as server:
        yield server


def snapshot(url: URL) -> Snapshot:
    return list(pg.version(url)), pg.tables(url)


def with_env(project: Project, **env: str) -> Project:
    return Project(root=project.root, database_url=project.database_url, env={**env})


def assert_refused(result: Result, *secrets_: str) -> str:
    """Non-zero, exactly one error line, no traceback, no password; returns the line."""
    assert result.returncode != 0, result.output
    assert "Traceback" not in result.output, result.output
    errors = result.errors()
    assert len(errors) == 1, result.output
    for secret in secrets_:
        if secret:
            assert secret not in result.output
    return errors[0]


def password_of(project: Project) -> str:
    return project.database_url.password or ""


def test_missing_msg(scratch: Project) -> None:
    before = snapshot(scratch.database_url)
    error = assert_refused(scratch.make("migration"), password_of(scratch))
    assert error == 'error: missing msg: make migration msg="describe the change"'
    assert snapshot(scratch.database_url) == before


def test_missing_rev(scratch: Project) -> None:
    before = snapshot(scratch.database_url)
    error = assert_refused(scratch.make("migration-stamp"), password_of(scratch))
    assert error.startswith("error: missing rev: make migration-stamp rev=")
    assert snapshot(scratch.database_url) == before


def test_unknown_revision(scratch: Project) -> None:
    before = snapshot(scratch.database_url)
    error = assert_refused(scratch.make("migrate", "rev=ffffffffffff"), password_of(scratch))
    assert "ffffffffffff" in error and "make migration-history" in error
    assert snapshot(scratch.database_url) == before


def test_rollback_at_base(scratch: Project, new_database: Callable[[], URL]) -> None:
    empty = new_database()
    project = Project(root=scratch.root, database_url=empty)
    error = assert_refused(project.make("rollback"), empty.password or "")
    assert error.startswith("FAILED: at base: nothing to roll back on")
    assert snapshot(empty) == ([], set())


def test_unreachable_remote_host(scratch: Project) -> None:
    # TEST-NET-1 (RFC 5737): never routed; refused at once or silent until the timeout.
    url = "postgresql://app:s3cret-unreachable@192.0.2.1:5432/app"
    started = time.monotonic()
    result = with_env(scratch, DATABASE_URL=url).make("migrate")
    assert time.monotonic() - started < 15
    error = assert_refused(result, "s3cret-unreachable")
    assert "192.0.2.1:5432" in error and "make start" not in error


def test_a_stopped_server_of_someone_else_is_reported_never_replaced(scratch: Project) -> None:
    """A Postgres answered at host:port before (not the project's): now it is down."""
    port = pg.free_port()
    memory = scratch.root / ".local" / "servers.json"
    memory.parent.mkdir(exist_ok=True)
    memory.write_text(json.dumps({f"127.0.0.1:{port}": "other"}))
    url = f"postgresql://app:s3cret-local@127.0.0.1:{port}/app"
    try:
        for target in ("migration-current", "migrate", "rollback"):
            result = with_env(scratch, DATABASE_URL=url).make(target)
            error = assert_refused(result, "s3cret-local")
            assert f"nothing answers at 127.0.0.1:{port}" in error and "start your server" in error
        assert not (scratch.root / ".local" / "postgres" / f"data-{port}").exists()
    finally:
        memory.unlink()


@pytest.mark.parametrize("port", ["0", "99999"])
def test_a_port_outside_the_range_is_refused(scratch: Project, port: str) -> None:
    url = f"postgresql://app:s3cret-port@127.0.0.1:{port}/app"
    result = with_env(scratch, DATABASE_URL=url).make("migrate")
    error = assert_refused(result, "s3cret-port")
    assert "outside 1-65535" in error
    assert not (scratch.root / ".local" / "postgres" / f"data-{port}").exists()


def test_a_url_without_a_host_is_refused(scratch: Project) -> None:
    result = with_env(scratch, DATABASE_URL="postgresql://app:s3cret-host@/app").make("migrate")
    error = assert_refused(result, "s3cret-host")
    assert "names no host" in error


def test_wrong_password(password_server: pg.Server, tmp_path: Path) -> None:
    database = pg.create_database(password_server, prefix="badpw")
    try:
        wrong = database.set(password="not-the-password-" + secrets.token_hex(4))
        project = Project(root=copy_project(tmp_path / "project"), database_url=wrong)
        error = assert_refused(project.make("migrate"), wrong.password or "")
        assert "password authentication failed for user" in error
        assert f"{database.host}:{database.port}/{database.database}" in error
        assert snapshot(database) == ([], set())
    finally:
        pg.drop_database(password_server, database)


def test_a_missing_database_on_a_server_not_the_projects_is_an_error(
    scratch: Project, pg_server: pg.Server
) -> None:
    """Only the project's own cluster gets databases created; this server is the test's."""
    name = "created_" + secrets.token_hex(4)
    missing = pg_server.database_url(name)
    result = Project(root=scratch.root, database_url=missing).make("migrate")
    error = assert_refused(result, missing.password or "")
    assert f"database '{name}' does not exist" in error
    exists = pg.fetch(
        pg_server.url, "SELECT count(*) AS n FROM pg_database WHERE datname = $1", name
    )
    assert exists[0]["n"] == 0


def test_missing_remote_database_is_an_error(scratch: Project, pg_server: pg.Server) -> None:
    # The same server through an IPv4-mapped IPv6 address: not "this machine" to the project,
    # so nothing may be created there.
    name = "absent_" + secrets.token_hex(4)
    remote = pg_server.url.set(host="::ffff:127.0.0.1", database=name)
    result = Project(root=scratch.root, database_url=remote).make("migrate")
    error = assert_refused(result, remote.password or "")
    assert f"database '{name}' does not exist" in error
    exists = pg.fetch(
        pg_server.url, "SELECT count(*) AS n FROM pg_database WHERE datname = $1", name
    )
    assert exists[0]["n"] == 0


def test_password_with_url_special_characters_works(
    password_server: pg.Server, tmp_path: Path
) -> None:
    role, password = f"odd_{secrets.token_hex(4)}", "p@ss%w:rd/#?x"
    pg.execute(password_server.url, f"CREATE ROLE {role} LOGIN PASSWORD '{password}'")
    database = pg.create_database(password_server, prefix="oddpw")
    pg.execute(
        password_server.url, f"ALTER DATABASE {pg.quote(database.database or '')} OWNER TO {role}"
    )
    try:
        url = database.set(username=role, password=password)
        assert quote(password, safe="") in url.render_as_string(hide_password=False)
        project = Project(root=copy_project(tmp_path / "project"), database_url=url)
        migrated = project.make("migrate")
        assert migrated.returncode == 0, migrated.output
        assert password not in migrated.output
        # The same password as a part (DB_PASSWORD), unescaped.
        env = project.environment()
        del env["DATABASE_URL"]
        env.update(
            DB_USER=role,
            DB_PASSWORD=password,
            DB_HOST=database.host or "",
            DB_PORT=str(database.port),
            DB_NAME=database.database or "",
        )
        current = subprocess.run(
            ["make", "--no-print-directory", "migration-current"],
            cwd=project.root,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        assert current.returncode == 0, current.stdout + current.stderr
        assert head_of(project) in current.stdout
    finally:
        pg.drop_database(password_server, database)
        pg.execute(password_server.url, f"DROP ROLE IF EXISTS {role}")


def test_plain_postgresql_url_works(scratch: Project) -> None:
    plain = scratch.database_url.set(drivername="postgresql").render_as_string(hide_password=False)
    assert plain.startswith("postgresql://")
    result = with_env(scratch, DATABASE_URL=plain).make("migration-current")
    assert result.returncode == 0, result.output
    assert head_of(scratch) in result.stdout


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("not a url", "DATABASE_URL is not a valid URL"),
        ("mysql://app:hunter2-secret@db:3306/app", "DATABASE_URL must start with postgresql://"),
    ],
)
def test_malformed_database_url(scratch: Project, value: str, expected: str) -> None:
    before = snapshot(scratch.database_url)
    result = with_env(scratch, DATABASE_URL=value).make("migrate")
    error = assert_refused(result, "hunter2-secret")
    assert expected in error
    assert snapshot(scratch.database_url) == before


def test_revision_file_with_a_syntax_error_is_named(scratch: Project) -> None:
    before = snapshot(scratch.database_url)
    path = write_revision(scratch, "5e0000000001", head_of(scratch), "op.execute('SELECT 1'")
    try:
        error = assert_refused(scratch.make("migrate"), password_of(scratch))
        assert path.name in error and "syntax error" in error
    finally:
        path.unlink()
    assert snapshot(scratch.database_url) == before


def test_two_heads_say_so_and_suggest_a_merge(scratch: Project) -> None:
    before = snapshot(scratch.database_url)
    head = head_of(scratch)
    paths = [write_revision(scratch, f"5e000000000{n}", head, "pass") for n in (2, 3)]
    try:
        error = assert_refused(scratch.make("migrate"), password_of(scratch))
        assert "head" in error and "make migration-merge" in error
    finally:
        for path in paths:
            path.unlink()
    assert snapshot(scratch.database_url) == before


def test_unknown_app_env(scratch: Project) -> None:
    before = snapshot(scratch.database_url)
    error = assert_refused(with_env(scratch, APP_ENV="staging").make("migrate"))
    assert "APP_ENV='staging'" in error and "production" in error
    assert snapshot(scratch.database_url) == before


@pytest.mark.parametrize("value", ["*", "x;touch /tmp/never", "a b", "`touch /tmp/never`"])
def test_rev_is_passed_as_one_word_never_expanded(scratch: Project, value: str) -> None:
    for target in ("migrate", "rollback"):
        error = assert_refused(scratch.make(target, f"rev={value}"))
        assert f"'{value}'" in error
    assert not Path("/tmp/never").exists()


def test_a_message_that_looks_like_an_option_is_a_message(scratch: Project) -> None:
    before = scratch.versions()
    result = scratch.make("migration-empty", "msg=-h")
    try:
        assert result.returncode == 0, result.output
        assert "usage:" not in result.output
        [written] = scratch.new_versions(before)
        assert written.read_text().startswith('"""-h\n')
    finally:
        for path in scratch.new_versions(before):
            path.unlink()
