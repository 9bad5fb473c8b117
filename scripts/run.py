"""`make run`: the whole system in the foreground on embedded defaults.

PostgreSQL under DATA_DIR (unless DATABASE_URL is set), the Temporal dev server with its Web UI and
state file under DATA_DIR (unless TEMPORAL_ADDRESS is set), migrations, the bootstrap admin, the
worker and the API, each supervised (core/supervisor.py): one that dies is restarted with a backoff, and one
that keeps dying stops everything (exit 1). SIGINT or SIGTERM stops every process it started (exit 0); the data
stays for next time. DATA_DIR/pids.json names the process id of each.
"""

import logging
import os
import signal
import subprocess
import sys
import time
from functools import partial
from pathlib import Path
from types import FrameType

from core.migrate import upgrade_to_head
from core.settings import DEV_ADMIN_PASSWORD, Settings, get_settings
from core.stack import PostgresCluster, StackError, require_free_port, spawn_temporal, wait_for_port
from core.supervisor import GaveUp, Supervisor
from scripts.migrate import ensure_admin

log = logging.getLogger("run")
PID_FILE = "pids.json"  # in DATA_DIR: {child name: process id}, rewritten whenever a child (re)starts
ROOT = Path(__file__).resolve().parent.parent


class Stack:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.data_dir = settings.data_dir.resolve()
        self.postgres: PostgresCluster | None = None
        self.supervisor = Supervisor(self.data_dir / PID_FILE, settings.run_max_restarts_per_minute)

    @property
    def processes(self) -> list[tuple[str, subprocess.Popen[bytes]]]:
        return [(c.name, c.proc) for c in self.supervisor.children if c.proc is not None]

    def check_ports(self) -> None:
        s = self.settings
        require_free_port(s.api_port, "API_PORT")
        if not s.database_url:
            require_free_port(s.pg_port, "PG_PORT")
        if not s.temporal_address:
            require_free_port(s.temporal_port, "TEMPORAL_PORT")
            require_free_port(s.temporal_ui_port, "TEMPORAL_UI_PORT")

    def start(self) -> None:
        self.check_ports()
        self.data_dir.mkdir(parents=True, exist_ok=True)
        env = dict(os.environ)
        if not self.settings.database_url:
            env["DATABASE_URL"] = self._start_postgres()
        if not self.settings.temporal_address:
            env["TEMPORAL_ADDRESS"] = self._start_temporal()
        database_url = env.get("DATABASE_URL") or self.settings.resolved_database_url()
        log.info("running migrations")
        upgrade_to_head(database_url)
        ensure_admin(database_url, self.settings.admin_password)
        self._start_python("worker", ["worker.py"], env)
        api = self._start_python("api", ["-m", "uvicorn", "api.app:create_app", "--factory", "--host",
                                         self.settings.api_host, "--port", str(self.settings.api_port),
                                         "--log-level", "warning", "--workers", str(self.settings.api_workers)],
                                 env)
        wait_for_port(self.settings.api_port, 60, "the API", api)

    def _start_postgres(self) -> str:
        log.info("starting PostgreSQL on port %s (data in %s)", self.settings.pg_port, self.data_dir / "pg")
        self.postgres = PostgresCluster(self.data_dir, self.settings.pg_port)
        self.postgres.initialize()
        # SIGINT: PostgreSQL's fast shutdown (SIGTERM would wait for every client to disconnect)
        self.postgres.wait_ready(self.supervisor.add("postgres", self.postgres.spawn, self.postgres.log_file,
                                                     signal.SIGINT))
        return self.postgres.url()

    def _start_temporal(self) -> str:
        s = self.settings
        log.info("starting the Temporal dev server on port %s", s.temporal_port)
        log_file = self.data_dir / "temporal.log"
        spawn = partial(spawn_temporal, s.temporal_port, s.temporal_ui_port, self.data_dir / "temporal.db", log_file)
        proc = self.supervisor.add("temporal", spawn, log_file)
        wait_for_port(s.temporal_port, 60, "the Temporal dev server", proc)
        return f"127.0.0.1:{s.temporal_port}"

    def _start_python(self, name: str, args: list[str], env: dict[str, str]) -> subprocess.Popen[bytes]:
        log_file = self.data_dir / f"{name}.log"
        return self.supervisor.add(name, partial(spawn_python, [sys.executable, *args], env, log_file), log_file)

    def watch(self) -> None:
        """Restart what died (raises GaveUp when a child keeps dying)."""
        self.supervisor.check()

    def stop(self) -> None:
        self.supervisor.stop()

    def banner(self) -> str:
        s = self.settings
        api = f"http://{s.api_host}:{s.api_port}"
        ui = (f"http://127.0.0.1:{s.temporal_ui_port}" if not s.temporal_address
              else f"(the Temporal UI of {s.temporal_address})")
        password = s.admin_password if s.admin_password == DEV_ADMIN_PASSWORD else "the value of ADMIN_PASSWORD"
        return (f"\nManufacturing operations backend is up.\n"
                f"  API:          {api}\n  API docs:     {api}/docs\n  Health:       {api}/health/ready\n"
                f"  Temporal UI:  {ui}\n  Admin login:  admin / {password}\n"
                f"  Logs:         {self.data_dir}/*.log\nPress Ctrl-C to stop.\n")


def spawn_python(cmd: list[str], env: dict[str, str], log_file: Path) -> subprocess.Popen[bytes]:
    with open(log_file, "ab") as out:
        return subprocess.Popen(cmd, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True,
                                cwd=ROOT)


def main() -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    stopping = False

    def request_stop(signum: int, frame: FrameType | None) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGINT, request_stop)
    signal.signal(signal.SIGTERM, request_stop)
    stack = Stack(get_settings())
    try:
        stack.start()
        sys.stdout.write(stack.banner())
        sys.stdout.flush()
        while not stopping:
            stack.watch()
            time.sleep(0.2)
        return 0
    except GaveUp as err:
        log.error("%s; stopping everything", err)
        return 1
    except StackError as err:
        sys.stderr.write(f"error: {err}\n")
        return 1
    finally:
        stack.stop()


if __name__ == "__main__":
    raise SystemExit(main())
