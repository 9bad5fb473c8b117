"""`make run`: the whole system in the foreground on embedded defaults.

PostgreSQL under DATA_DIR (unless DATABASE_URL is set), the Temporal dev server with its Web UI and
state file under DATA_DIR (unless TEMPORAL_ADDRESS is set), migrations, the bootstrap admin, the
worker and the API. SIGINT or SIGTERM stops every process it started; the data stays for next time.
"""

import logging
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from types import FrameType

from core.migrate import ensure_admin, upgrade_to_head
from core.settings import DEV_ADMIN_PASSWORD, Settings, get_settings
from core.stack import PostgresCluster, StackError, require_free_port, start_temporal, stop_process, wait_for_port

log = logging.getLogger("run")


class Stack:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.data_dir = settings.data_dir.resolve()
        self.postgres: PostgresCluster | None = None
        self.processes: list[tuple[str, subprocess.Popen[bytes]]] = []

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
            log.info("starting PostgreSQL on port %s (data in %s)", self.settings.pg_port, self.data_dir / "pg")
            self.postgres = PostgresCluster(self.data_dir, self.settings.pg_port)
            self.postgres.start()
            env["DATABASE_URL"] = self.postgres.url()
        if not self.settings.temporal_address:
            log.info("starting the Temporal dev server on port %s", self.settings.temporal_port)
            proc = start_temporal(self.settings.temporal_port, self.settings.temporal_ui_port,
                                  self.data_dir / "temporal.db", self.data_dir / "temporal.log")
            self.processes.append(("temporal", proc))
            env["TEMPORAL_ADDRESS"] = f"127.0.0.1:{self.settings.temporal_port}"
        database_url = env.get("DATABASE_URL") or self.settings.resolved_database_url()
        log.info("running migrations")
        upgrade_to_head(database_url)
        ensure_admin(database_url, self.settings.admin_password)
        self._spawn("worker", [sys.executable, "worker.py"], env)
        self._spawn("api", [sys.executable, "-m", "uvicorn", "api.app:create_app", "--factory", "--host",
                            self.settings.api_host, "--port", str(self.settings.api_port), "--log-level", "warning",
                            "--workers", str(self.settings.api_workers)],
                    env)
        wait_for_port(self.settings.api_port, 60, "the API", self.processes[-1][1])

    def _spawn(self, name: str, cmd: list[str], env: dict[str, str]) -> None:
        log_file = open(self.data_dir / f"{name}.log", "ab")  # noqa: SIM115 - the child keeps it
        proc = subprocess.Popen(cmd, env=env, stdout=log_file, stderr=subprocess.STDOUT, start_new_session=True,
                                cwd=Path(__file__).resolve().parent.parent)
        self.processes.append((name, proc))

    def exited(self) -> str | None:
        for name, proc in self.processes:
            if proc.poll() is not None:
                return f"{name} exited with code {proc.returncode} (see {self.data_dir / (name + '.log')})"
        return None

    def stop(self) -> None:
        for name, proc in reversed(self.processes):
            log.info("stopping %s", name)
            stop_process(proc)
        if self.postgres is not None:
            log.info("stopping PostgreSQL")
            self.postgres.stop()

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
            problem = stack.exited()
            if problem:
                raise StackError(problem)
            time.sleep(0.5)
        return 0
    except StackError as err:
        sys.stderr.write(f"error: {err}\n")
        return 1
    finally:
        stack.stop()



if __name__ == "__main__":
    raise SystemExit(main())
