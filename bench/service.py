"""The service under uvicorn and the load process, for the zero-downtime benchmark."""

import json
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import IO

import httpx

from bench.common import PROJECT_ROOT, Project, pg

AUTHORS = 1_000
BOOKS = 1_000_000
POOL_SIZE = 10
# The service as deployed behind PgBouncer (docs/migrations.md, Deployment): no prepared
# statement cache. With one, any column type change (naive or online) fails each process's
# first request that reuses a statement prepared before it: asyncpg's InvalidCachedStatementError.
STATEMENT_CACHE = os.environ.get("BENCH_STATEMENT_CACHE", "false")


@dataclass(frozen=True)
class Sample:
    kind: str
    sent: float  # scheduled send time, epoch seconds
    latency: float
    status: int

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300

    @property
    def answered(self) -> float:
        return self.sent + self.latency


def start_service(project: Project, port: int, log: IO[bytes]) -> subprocess.Popen[bytes]:
    env = project.environment() | {
        "DB_POOL_SIZE": str(POOL_SIZE),
        "DB_STATEMENT_CACHE": STATEMENT_CACHE,
    }
    service = subprocess.Popen(
        [
            *(sys.executable, "-m", "uvicorn", "app.main:app", "--host", "127.0.0.1"),
            *("--port", str(port), "--no-access-log", "--log-level", "warning"),
        ],
        cwd=project.root,
        env=env,
        stdout=log,
        stderr=log,
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/health", timeout=1).status_code == 200:
                return service
        except httpx.HTTPError:
            time.sleep(0.2)
    service.terminate()
    raise RuntimeError("the service did not answer within 60 s")


def start_load(port: int, rate: float, seconds: float, out: Path) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [
            *(sys.executable, "-m", "bench.load", "--base", f"http://127.0.0.1:{port}"),
            *("--rate", f"{rate:g}", "--seconds", f"{seconds:g}", "--books", str(BOOKS)),
            *("--authors", str(AUTHORS), "--max-requests", "2000000", "--out", str(out)),
        ],
        env=os.environ | {"PYTHONPATH": str(PROJECT_ROOT)},
    )


def stop(*processes: subprocess.Popen[bytes]) -> None:
    """SIGTERM (the load process writes what it measured), then wait; kill if stuck."""
    for process in processes:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def read_samples(path: Path) -> list[Sample]:
    lines = path.read_text().splitlines() if path.exists() else []
    return [Sample(**json.loads(line)) for line in lines if line.strip()]


def clone(found: pg.Server, template: Project, project: Project) -> None:
    """The project's database, replaced by a copy of the template's (a file copy: seconds)."""
    name = project.database_url.database
    pg.execute(found.url, f'DROP DATABASE IF EXISTS "{name}"')
    pg.execute(found.url, f'CREATE DATABASE "{name}" TEMPLATE "{template.database_url.database}"')
