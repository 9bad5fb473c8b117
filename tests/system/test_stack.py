"""`make run`'s stack (scripts/run.py) for real: every part up, a clean stop, data kept across restarts,
and a port already in use said in one line."""

import shutil
import socket
import subprocess
from pathlib import Path

import httpx
import pytest

from core.settings import Settings
from core.stack import FALLBACK_HOME, StackError, free_port
from scripts.run import Stack

ADMIN_PASSWORD = "stack-admin-pass"


def stack_settings(data_dir: Path, **overrides: object) -> Settings:
    ports = {"api_port": free_port(), "pg_port": free_port(), "temporal_port": free_port(),
             "temporal_ui_port": free_port()}
    return Settings(data_dir=data_dir, database_url=None, temporal_address=None, admin_password=ADMIN_PASSWORD,
                    **{**ports, **overrides})  # type: ignore[arg-type]


def login(settings: Settings) -> httpx.Response:
    return httpx.post(f"http://127.0.0.1:{settings.api_port}/api/v1/auth/login",
                      data={"username": "admin", "password": ADMIN_PASSWORD}, timeout=30)


def started(settings: Settings) -> Stack:
    stack = Stack(settings)
    try:
        stack.start()
    except BaseException:
        stack.stop()
        raise
    return stack


def test_the_stack_starts_stops_cleanly_and_keeps_its_data(tmp_path: Path) -> None:
    settings = stack_settings(tmp_path / "data")
    stack = started(settings)
    try:
        ready = httpx.get(f"http://127.0.0.1:{settings.api_port}/health/ready", timeout=30)
        assert ready.status_code == 200 and ready.json()["temporal"] == "connected", ready.text
        assert login(settings).status_code == 200
        assert "Admin login:  admin / the value of ADMIN_PASSWORD" in stack.banner()
        processes = [proc for _, proc in stack.processes]
    finally:
        stack.stop()
    assert all(proc.poll() is not None for proc in processes)
    assert not (settings.data_dir / "pg" / "postmaster.pid").exists()

    again = started(settings)
    try:
        assert login(settings).status_code == 200  # same admin, same database
    finally:
        again.stop()
        if again.postgres and again.postgres.home.is_relative_to(FALLBACK_HOME):
            shutil.rmtree(again.postgres.home)  # tmp_path is private to root: the cluster lived in /var/tmp


def test_a_port_in_use_is_one_clear_line(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        settings = stack_settings(tmp_path, api_port=taken.getsockname()[1])
        with pytest.raises(StackError) as refused:
            Stack(settings).check_ports()
    message = str(refused.value)
    assert "\n" not in message and "API_PORT" in message and str(settings.api_port) in message


def test_make_run_reports_the_port_in_one_line_without_a_traceback(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        env = {"API_PORT": str(taken.getsockname()[1]), "DATA_DIR": str(tmp_path), "PATH": "/usr/bin:/bin"}
        result = subprocess.run([".venv/bin/python", "-m", "scripts.run"], env=env, capture_output=True, text=True,
                                timeout=60, cwd=Path(__file__).resolve().parents[2])
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert f"error: port {env['API_PORT']} is already in use: set API_PORT to a free port" in result.stderr
