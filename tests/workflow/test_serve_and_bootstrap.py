"""`make serve` answers on HTTP; a machine without uv gets one from the Makefile."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx

from tests.support.pg import free_port
from tests.support.project import Project


def test_make_serve_answers_health_and_ready(project: Project, tmp_path: Path) -> None:
    assert project.make("migrate").returncode == 0
    port = free_port()
    log = tmp_path / "serve.log"
    with log.open("wb") as output:
        server = subprocess.Popen(
            ["make", "serve", f"port={port}"],
            cwd=project.root,
            env=project.environment(),
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                ready = httpx.get(f"http://127.0.0.1:{port}/health/ready", timeout=2)
                break
            except httpx.TransportError:
                assert server.poll() is None, log.read_text()
                assert time.monotonic() < deadline, "make serve did not answer within 60 s"
                time.sleep(0.3)
        assert ready.status_code == 200, ready.text
        created = httpx.post(f"http://127.0.0.1:{port}/authors", json={"name": "N. K. Jemisin"})
        assert created.status_code == 201
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=30)


def test_makefile_installs_uv_when_missing(tmp_path: Path, project: Project) -> None:
    """With no uv on PATH, make puts one in .tools/ with python3's pip, and uses it.

    The scratch copy shares this run's venv, so only uv's own bootstrap is exercised here;
    .ci/run on a clean clone exercises the full install.
    """
    # The interpreter the venv was made from: a real python3, not a venv's or a shim.
    base_python = Path(sys.base_prefix) / "bin" / "python3"
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "python3").symlink_to(base_python)
    path = os.pathsep.join([str(bin_dir), "/usr/bin", "/bin"])
    assert not any((Path(folder) / "uv").exists() for folder in path.split(os.pathsep))
    env = {key: value for key, value in project.environment().items() if key != "UV"}
    env["PATH"] = path
    result = subprocess.run(
        ["make", "migrate"],
        cwd=project.root,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    uv = project.root / ".tools/bin/uv"
    version = subprocess.run([str(uv), "--version"], capture_output=True, text=True, check=False)
    assert version.stdout.startswith("uv "), version.stdout + version.stderr
    assert "upgraded from base to 8ef2faae17b8" in result.stderr
