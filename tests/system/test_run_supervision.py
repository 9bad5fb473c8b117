"""`make run` supervises what it starts (issue 10 §3): the real `python -m scripts.run`, each of its children killed
with SIGKILL in turn (PostgreSQL, Temporal, worker, API) and the system ready and creating a lifecycle again
after each; SIGTERM then stops everything with exit code 0. The give-up path is the restart policy's logic,
on a fake clock."""

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from core.settings import DEV_ADMIN_PASSWORD
from core.stack import free_port, kill_group, port_in_use
from core.supervisor import GaveUp, RestartPolicy, Supervised
from scripts.run import PID_FILE

ROOT = Path(__file__).resolve().parents[2]
CHILDREN = ("postgres", "temporal", "worker", "api")
NOT_INHERITED = ("DATABASE_URL", "TEMPORAL_ADDRESS", "ADMIN_PASSWORD", "API_WORKERS")


# --- the restart policy, on a fake clock ---------------------------------------------------------------------

def test_a_child_that_keeps_dying_backs_off_then_is_given_up() -> None:
    policy = RestartPolicy(max_restarts=5, window_seconds=60, first_delay=0.5, max_delay=10, stable_after=30)
    now, delays = 0.0, []
    for _ in range(5):  # dies a moment after each start
        delay = policy.next_delay(started_at=now, died_at=now + 0.1)
        assert delay is not None
        delays.append(delay)
        now += 0.1 + delay
    assert delays == [0.5, 1, 2, 4, 8]
    assert policy.next_delay(started_at=now, died_at=now + 0.1) is None  # the sixth death within 60 s


def test_the_backoff_is_capped_and_starts_over_after_a_stable_run() -> None:
    policy = RestartPolicy(max_restarts=100, window_seconds=60, first_delay=0.5, max_delay=10, stable_after=30)
    delays = [policy.next_delay(started_at=t, died_at=t + 0.1) for t in range(7)]
    assert delays == [0.5, 1, 2, 4, 8, 10, 10]
    assert policy.next_delay(started_at=100, died_at=131) == 0.5  # it had stayed up 31 s


def test_deaths_older_than_the_window_are_forgotten() -> None:
    policy = RestartPolicy(max_restarts=2, window_seconds=60, stable_after=1000)
    # dies 40 s apart: never more than two deaths within 60 s
    assert [policy.next_delay(started_at=t, died_at=t + 35) for t in (0, 40, 80, 120)] == [0.5, 1, 2, 4]
    assert policy.next_delay(started_at=155, died_at=156) is None  # a third death within 60 s


def test_the_supervisor_gives_up_naming_the_child_and_its_log(tmp_path: Path) -> None:
    def spawn() -> subprocess.Popen[bytes]:
        return subprocess.Popen(["true"], start_new_session=True)

    child = Supervised("worker", spawn, tmp_path / "worker.log", RestartPolicy(max_restarts=1))
    proc = child.start(now=0.0)
    proc.wait()
    assert child.check(now=1.0) is False and child.restart_at == 1.5  # died: back in 0.5 s
    assert child.check(now=1.4) is False
    assert child.check(now=1.5) is True and child.proc is not proc  # restarted
    assert child.proc is not None and child.proc.wait() == 0
    with pytest.raises(GaveUp) as gave_up:
        child.check(now=2.0)
    assert "worker" in str(gave_up.value) and str(tmp_path / "worker.log") in str(gave_up.value)


# --- the real `make run` ---------------------------------------------------------------------------------------

def wait_until(probe: Callable[[], Any], what: str, timeout: float) -> Any:
    """The first truthy answer of `probe` (exceptions count as not yet), polled until the deadline; blocking, for
    the sync tests that wait on `make run` (a subprocess). Async tests use tests.conftest.eventually."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            answer = probe()
            if answer:
                return answer
        except (httpx.HTTPError, OSError, ValueError):
            pass
        assert time.monotonic() < deadline, f"{what}: not within {timeout:.0f} s"
        time.sleep(0.1)


def alive(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except (FileNotFoundError, ProcessLookupError):
        return False


class Run:
    """`python -m scripts.run` on a data folder and free ports of its own."""

    def __init__(self, data_dir: Path) -> None:
        self.data_dir = data_dir
        self.ports = {name: free_port() for name in ("API_PORT", "PG_PORT", "TEMPORAL_PORT", "TEMPORAL_UI_PORT")}
        env = {k: v for k, v in os.environ.items() if k not in NOT_INHERITED}
        env.update({"DATA_DIR": str(data_dir), "BCRYPT_ROUNDS": "4", **{k: str(v) for k, v in self.ports.items()}})
        self.output = open(data_dir.parent / "run.out", "wb")  # noqa: SIM115 - closed in stop()
        self.proc = subprocess.Popen([sys.executable, "-m", "scripts.run"], env=env, cwd=ROOT, stdout=self.output,
                                     stderr=subprocess.STDOUT)
        self.http = httpx.Client(base_url=f"http://127.0.0.1:{self.ports['API_PORT']}", timeout=30)
        self.seen: dict[str, int] = {}

    def pids(self) -> dict[str, int]:
        pids: dict[str, int] = json.loads((self.data_dir / PID_FILE).read_text())
        self.seen.update(pids)
        return pids

    def ready(self) -> bool:
        assert self.proc.poll() is None, f"make run exited with {self.proc.returncode}: {self.tail()}"
        return self.http.get("/health/ready", timeout=3).status_code == 200

    def tail(self) -> str:
        return (self.data_dir.parent / "run.out").read_text(errors="replace")[-3000:]

    def stop(self) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(60)
        finally:
            self.http.close()
            self.output.close()

    def clean_up(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        for pid in self.seen.values():
            kill_group(pid)
        pg = self.data_dir / "pg"
        if pg.is_symlink():  # a private tmp_path: the cluster lived under /var/tmp
            shutil.rmtree(pg.resolve().parent, ignore_errors=True)


@pytest.fixture
def run(tmp_path: Path) -> Iterator[Run]:
    (tmp_path / "data").mkdir()
    started = Run(tmp_path / "data")
    try:
        yield started
    finally:
        started.clean_up()


def sign_in(run: Run) -> dict[str, str]:
    response = run.http.post("/api/v1/auth/login", json={"username": "admin", "password": DEV_ADMIN_PASSWORD})
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json()['access_token']}"}


def active_sku(run: Run, headers: dict[str, str]) -> int:
    body = {"sku_code": f"SKU-SUP-{time.time_ns()}", "name": "Supervised pack", "cells_per_module": 2,
            "modules_per_pack": 1}
    created = run.http.post("/api/v1/skus", json=body, headers=headers)
    assert created.status_code == 201, created.text
    sku_id = int(created.json()["data"]["id"])
    assert run.http.patch(f"/api/v1/skus/{sku_id}/activate", headers=headers).status_code == 200
    return sku_id


def create_batch(run: Run, headers: dict[str, str], sku_id: int) -> None:
    """A production batch: its lifecycle (a Temporal workflow, run by the worker) answers its creation."""
    response = run.http.post("/api/v1/batches", json={"sku_id": sku_id, "target_quantity": 1}, headers=headers)
    assert response.status_code == 201, response.text
    assert response.json()["data"]["status"] == "DRAFT"


def kill_and_await_recovery(run: Run, name: str) -> None:
    pid = run.pids()[name]
    if name == "postgres":  # the supervised process is the postmaster itself
        assert int((run.data_dir / "pg" / "postmaster.pid").read_text().split()[0]) == pid
    os.kill(pid, signal.SIGKILL)
    wait_until(lambda: run.pids().get(name, pid) != pid, f"{name} restarted", 30)
    wait_until(run.ready, f"ready again after {name} was killed", 45)


def test_make_run_restarts_each_child_and_stops_cleanly(run: Run) -> None:
    wait_until(run.ready, "make run ready", 120)
    headers = sign_in(run)
    sku_id = active_sku(run, headers)
    create_batch(run, headers, sku_id)
    assert set(run.pids()) == set(CHILDREN)
    for name in CHILDREN:
        kill_and_await_recovery(run, name)
        create_batch(run, headers, sku_id)  # same data (the SKU), lifecycles still run end to end
    log = run.tail()
    assert all(f"{name} exited with code -9; restarting it in" in log for name in CHILDREN), log

    pids = run.pids()
    assert run.stop() == 0, run.tail()
    assert not any(alive(pid) for pid in pids.values()), pids
    assert not any(port_in_use(port) for port in run.ports.values()), run.ports
    assert not (run.data_dir / "pg" / "postmaster.pid").exists()
