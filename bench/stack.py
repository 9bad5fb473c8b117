"""What the benchmarks share (bench/console.py, procurement.py, stock.py): their own stack on free ports, closed-loop
clients, percentiles, CPU per process from /proc, the floors, the machine and the versions.

- `BenchStack`: PostgreSQL (its default durability), the Temporal dev server as `make run` starts it,
  migrations, the worker and the API as subprocesses, all on free ports under a temporary folder.
- `Bench`: measures a scenario (settle, warm up, closed-loop clients, CPU per process) and the floors
  (bench/floor.py): a bare Temporal update running one local activity that does one PostgreSQL
  transaction, and that transaction alone.
- `run_in_stack`: starts nothing itself, but stops everything a run started, also on error (the
  temporary folder is kept on error, with the logs).
"""

import argparse
import asyncio
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any, TypeVar

import httpx
import psycopg
from temporalio.api.enums.v1 import TaskQueueType
from temporalio.api.taskqueue.v1 import TaskQueue
from temporalio.api.workflowservice.v1 import DescribeTaskQueueRequest
from temporalio.client import Client
from temporalio.contrib.pydantic import pydantic_data_converter

from bench.floor import ConnectionPool, FloorWorkflow, build_floor_worker, create_floor_table, touch_async
from bench.seed import analyze
from core.db import make_engine, make_sessionmaker, session_scope
from core.migrate import upgrade_to_head
from core.settings import get_settings
from core.stack import (
    PostgresCluster,
    StackError,
    free_port,
    start_temporal,
    stop_process,
    temporal_binary,
    wait_for_port,
)

ROOT = Path(__file__).resolve().parent.parent
RESULTS_DIR = ROOT / "bench" / "results"
SETTLE_S = 1.0            # pause before each measured scenario: background work of the last one ends
PASSWORD = "bench-pass-123"

UPDATE_FLOOR = "floor: Temporal update + LA + PG tx"
TX_FLOOR = "floor: PG tx (BEGIN;UPDATE;COMMIT)"

T = TypeVar("T")


class BenchError(RuntimeError):
    """A setup step or a measured call failed: the figures would mean nothing."""


def out(text: str = "") -> None:
    sys.stdout.write(text + "\n")
    sys.stdout.flush()


def report_results(path: Path, started: float) -> None:
    """The closing line of a benchmark: where its JSON went and how long the run took."""
    shown = path.relative_to(ROOT) if path.is_relative_to(ROOT) else path
    out(f"\nresults: {shown}  (run took {time.monotonic() - started:.0f} s)")


def progress(text: str) -> None:
    sys.stderr.write(f"[bench {time.strftime('%H:%M:%S')}] {text}\n")
    sys.stderr.flush()


# --- statistics ------------------------------------------------------------------------------------------

def percentile(sorted_values: list[float], q: float) -> float:
    """Linear interpolation between closest ranks (numpy's default)."""
    if not sorted_values:
        return float("nan")
    pos = (len(sorted_values) - 1) * q
    low = int(pos)
    high = min(low + 1, len(sorted_values) - 1)
    return sorted_values[low] + (sorted_values[high] - sorted_values[low]) * (pos - low)


@dataclass
class Result:
    scenario: str
    clients: int
    latencies_s: list[float]
    wall_s: float
    cpu_s: dict[str, float] = field(default_factory=dict)

    def ms(self, q: float) -> float:
        return percentile(sorted(self.latencies_s), q) * 1000

    @property
    def ops_per_s(self) -> float:
        return len(self.latencies_s) / self.wall_s if self.wall_s else float("nan")

    def summary(self) -> dict[str, Any]:
        return {"scenario": self.scenario, "clients": self.clients, "n": len(self.latencies_s),
                "p50_ms": round(self.ms(0.50), 2), "p95_ms": round(self.ms(0.95), 2),
                "p99_ms": round(self.ms(0.99), 2), "max_ms": round(max(self.latencies_s) * 1000, 2),
                "mean_ms": round(sum(self.latencies_s) / len(self.latencies_s) * 1000, 2),
                "ops_per_s": round(self.ops_per_s, 1), "wall_s": round(self.wall_s, 3),
                "cpu_ms_per_op": {k: round(v * 1000 / len(self.latencies_s), 2) for k, v in self.cpu_s.items()}}


def combined(name: str, parts: list[Result]) -> Result:
    """Several phases as one: all their latencies, their summed wall time and CPU."""
    cpu: dict[str, float] = {}
    for part in parts:
        for key, value in part.cpu_s.items():
            cpu[key] = cpu.get(key, 0.0) + value
    return Result(name, parts[0].clients, [x for p in parts for x in p.latencies_s], sum(p.wall_s for p in parts),
                  cpu)


Op = Callable[[int, int], Awaitable[None]]  # (client index, operation index)


async def drive(op: Op, count: int, clients: int) -> tuple[list[float], float]:
    """`count` operations by `clients` closed-loop clients; each client takes the next operation."""
    indexes = iter(range(count))
    latencies: list[float] = []

    async def client(c: int) -> None:
        for i in indexes:
            start = time.perf_counter()
            await op(c, i)
            latencies.append(time.perf_counter() - start)

    started = time.perf_counter()
    await asyncio.gather(*(client(c) for c in range(clients)))
    return latencies, time.perf_counter() - started


# --- CPU per process ---------------------------------------------------------------------------------------

CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
CPU_GROUPS = ("bench", "api", "worker", "temporal", "postgres")


def _proc_stat(pid: int) -> tuple[int, float] | None:
    """(parent pid, CPU seconds used so far) of a process, or None if it is gone."""
    try:
        raw = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = raw[raw.rindex(")") + 2:].split()
    return int(fields[1]), (int(fields[11]) + int(fields[12])) / CLOCK_TICKS


class CpuMeter:
    """CPU seconds spent by each part of the stack (PostgreSQL: the postmaster and all its backends)."""

    def __init__(self, pids: dict[str, int], postmaster: int) -> None:
        self.pids, self.postmaster = pids, postmaster

    def snapshot(self) -> dict[str, dict[int, float]]:
        snap: dict[str, dict[int, float]] = {name: {} for name in [*self.pids, "postgres"]}
        for name, pid in self.pids.items():
            stat = _proc_stat(pid)
            if stat:
                snap[name][pid] = stat[1]
        for entry in Path("/proc").iterdir():
            if entry.name.isdigit():
                stat = _proc_stat(int(entry.name))
                if stat and (stat[0] == self.postmaster or int(entry.name) == self.postmaster):
                    snap["postgres"][int(entry.name)] = stat[1]
        return snap

    @staticmethod
    def delta(before: dict[str, dict[int, float]], after: dict[str, dict[int, float]]) -> dict[str, float]:
        return {name: sum(t - before.get(name, {}).get(pid, 0.0) for pid, t in procs.items())
                for name, procs in after.items()}


def cpu_ms_per_op(r: Result) -> dict[str, float]:
    """CPU ms per operation of each process group (CPU_GROUPS)."""
    return {g: r.cpu_s.get(g, 0.0) * 1000 / len(r.latencies_s) for g in CPU_GROUPS}


def cpu_cells(per_op: dict[str, float]) -> str:
    """A CPU table's figures: ms per operation of each process group, then their total."""
    return " ".join(f"{per_op.get(g, 0.0):>9.2f}" for g in CPU_GROUPS) + f" {sum(per_op.values()):>9.2f}"


def cpu_row(r: Result, cores: int, width: int = 38) -> str:
    """One line of a CPU table: ms per operation of each process group, their total, and how busy the
    machine was (all of it / (wall x cores))."""
    total = sum(r.cpu_s.get(g, 0.0) for g in CPU_GROUPS)
    busy = 100 * total / (r.wall_s * cores)
    return f"  {r.scenario:<{width}} {r.clients:>7} {cpu_cells(cpu_ms_per_op(r))} {busy:>5.0f}%"


def cpu_header(width: int = 38) -> str:
    return f"  {'scenario':<{width}} {'clients':>7} " + " ".join(f"{g:>9}" for g in CPU_GROUPS) + \
        f" {'total':>9} {'busy%':>6}"


# --- the stack ---------------------------------------------------------------------------------------------

def distinct_free_ports(n: int) -> list[int]:
    ports: list[int] = []
    while len(ports) < n:
        port = free_port()
        if port not in ports:
            ports.append(port)
    return ports


class BenchStack:
    """PostgreSQL, the Temporal dev server, the worker and the API, all on free ports under `root`."""

    def __init__(self, root: Path, name: str = "bench-console", env: dict[str, str] | None = None) -> None:
        self.root = root
        self.env = dict(env or {})  # more settings for the worker and the API (e.g. RATE_LIMIT_PER_MINUTE=0)
        pg_port, self.temporal_port, self.api_port = distinct_free_ports(3)
        self.postgres = PostgresCluster(root, pg_port)  # realistic durability: fsync and synchronous commit on
        self.task_queue = f"{name}-{uuid.uuid4().hex[:8]}"
        self.processes: dict[str, subprocess.Popen[bytes]] = {}
        self.postgres_started = False

    @property
    def database_url(self) -> str:
        return self.postgres.url()

    @property
    def dsn(self) -> str:
        return f"host=127.0.0.1 port={self.postgres.port} user=mfg dbname=mfg"

    @property
    def temporal_address(self) -> str:
        return f"127.0.0.1:{self.temporal_port}"

    @property
    def api_url(self) -> str:
        return f"http://127.0.0.1:{self.api_port}"

    def start_servers(self) -> None:
        progress(f"starting PostgreSQL on {self.postgres.port}, Temporal on {self.temporal_port} (in {self.root})")
        self.postgres_started = True
        self.postgres.start()
        self.processes["temporal"] = start_temporal(self.temporal_port, None, self.root / "temporal.db",
                                                    self.root / "temporal.log")
        upgrade_to_head(self.database_url)

    def start_services(self) -> None:
        env = {**os.environ, **self.env, "DATABASE_URL": self.database_url, "TEMPORAL_ADDRESS": self.temporal_address,
               "TASK_QUEUE": self.task_queue, "API_PORT": str(self.api_port), "BCRYPT_ROUNDS": "4"}
        progress(f"starting the worker and the API on {self.api_port}")
        self._spawn("worker", [sys.executable, "worker.py"], env)
        self._spawn("api", [sys.executable, "-m", "uvicorn", "api.app:create_app", "--factory", "--host",
                            "127.0.0.1", "--port", str(self.api_port), "--log-level", "warning",
                            "--workers", str(get_settings().api_workers)], env)
        wait_for_port(self.api_port, 60, "the API", self.processes["api"])

    def _spawn(self, name: str, cmd: list[str], env: dict[str, str]) -> None:
        log_file = open(self.root / f"{name}.log", "ab")  # noqa: SIM115 - the child keeps it
        self.processes[name] = subprocess.Popen(cmd, env=env, stdout=log_file, stderr=subprocess.STDOUT,
                                                start_new_session=True, cwd=ROOT)

    def check_alive(self) -> None:
        for name, proc in self.processes.items():
            if proc.poll() is not None:
                raise BenchError(f"{name} exited with code {proc.returncode} (see {self.root / (name + '.log')})")

    def postmaster_pid(self) -> int:
        return int((self.postgres.dir / "postmaster.pid").read_text().splitlines()[0])

    def meter(self) -> CpuMeter:
        """This process ('bench': the clients and the floors' worker), the API, the worker, Temporal, PostgreSQL."""
        return CpuMeter({"bench": os.getpid(), "api": self.processes["api"].pid,
                         "worker": self.processes["worker"].pid, "temporal": self.processes["temporal"].pid},
                        self.postmaster_pid())

    def stop(self) -> None:
        for name in reversed(list(self.processes)):
            progress(f"stopping {name}")
            stop_process(self.processes[name])
        if self.postgres_started:
            progress("stopping PostgreSQL")
            self.postgres.stop()


def run_in_stack(prefix: str, run: Callable[[BenchStack], Coroutine[Any, Any, T]],
                 env: dict[str, str] | None = None) -> T | None:
    """`run` on a new stack in a new temporary folder; the stack is stopped afterwards whatever happens. A
    BenchError or StackError is reported in one line (None is returned) and the folder with the logs kept.
    `env`: more settings for the worker and the API."""
    os.environ["BCRYPT_ROUNDS"] = "4"  # the bench users are created in this process
    get_settings.cache_clear()
    root = Path(tempfile.mkdtemp(prefix=f"{prefix}-"))
    stack = BenchStack(root, prefix, env)
    failed = True
    try:
        answer: T = asyncio.run(run(stack))
        failed = False
        return answer
    except (BenchError, StackError) as err:
        sys.stderr.write(f"error: {err}\n")
        return None
    finally:
        stack.stop()
        if failed:
            sys.stderr.write(f"logs kept in {root}\n")
        else:
            shutil.rmtree(root, ignore_errors=True)


async def wait_for_worker(client: Client, task_queue: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        response = await client.workflow_service.describe_task_queue(DescribeTaskQueueRequest(
            namespace=client.namespace, task_queue=TaskQueue(name=task_queue),
            task_queue_type=TaskQueueType.TASK_QUEUE_TYPE_WORKFLOW))
        if response.pollers:
            return
        await asyncio.sleep(0.2)
    raise BenchError(f"no worker polled task queue {task_queue} within {timeout:.0f}s")


async def wait_until_ready(http: httpx.AsyncClient, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if (await http.get("/health/ready")).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        await asyncio.sleep(0.2)
    raise BenchError(f"the API was not ready within {timeout:.0f}s")


async def connect_temporal(stack: BenchStack) -> Client:
    """A client of the stack's Temporal, once the service's worker polls its task queue."""
    client = await Client.connect(stack.temporal_address, data_converter=pydantic_data_converter)
    await wait_for_worker(client, stack.task_queue)
    return client


# --- API calls -------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class User:
    id: int
    username: str
    headers: dict[str, str]


def create_users(database_url: str, specs: list[tuple[str, str, bool]]) -> dict[str, int]:
    """Users (username, role, is superuser), straight through the identity service; their ids by name."""
    from services.identity import create_user

    engine = make_engine(database_url, pool_size=1)
    ids: dict[str, int] = {}
    try:
        with session_scope(make_sessionmaker(engine)) as session:
            for name, role, superuser in specs:
                user = create_user(session, None, {"username": name, "email": f"{name}@example.com",
                                                   "password": PASSWORD, "role": role, "is_superuser": superuser})
                ids[name] = user.id
    finally:
        engine.dispose()
    return ids


async def call(http: httpx.AsyncClient, method: str, path: str, user: User, body: Any = None,
               expect: int = 200) -> Any:
    response = await http.request(method, path, headers=user.headers, json=body)
    if response.status_code != expect:
        raise BenchError(f"{method} {path} answered {response.status_code}: {response.text[:400]}")
    return response.json()


async def login(http: httpx.AsyncClient, user_id: int, username: str) -> User:
    response = await http.post("/api/v1/auth/login", json={"username": username, "password": PASSWORD})
    if response.status_code != 200:
        raise BenchError(f"login of {username} answered {response.status_code}: {response.text[:300]}")
    return User(user_id, username, {"Authorization": f"Bearer {response.json()['access_token']}"})


# --- measuring, and the floors -------------------------------------------------------------------------------

@dataclass(frozen=True)
class FloorCounts:
    ops: int = 400            # bare Temporal updates per client level
    warmup: int = 64
    pg_ops: int = 2000        # bare PostgreSQL transactions per client level (each takes well under 1 ms)
    pg_warmup: int = 200


class Bench:
    """Measures scenarios on a stack; `results` are reported, `setup` only kept in the JSON."""

    def __init__(self, stack: BenchStack, meter: CpuMeter) -> None:
        self.stack, self.meter = stack, meter
        self.results: list[Result] = []
        self.setup: list[Result] = []
        self.tag = uuid.uuid4().hex[:6]

    async def measure(self, scenario: str, op: Op, count: int, clients: int, warmup: int = 0,
                      keep: bool = True) -> Result:
        await asyncio.sleep(SETTLE_S)
        if warmup:
            await drive(op, warmup, clients)
        before = self.meter.snapshot()
        latencies, wall = await drive(op, count, clients)
        result = Result(scenario, clients, latencies, wall, CpuMeter.delta(before, self.meter.snapshot()))
        (self.results if keep else self.setup).append(result)
        self.stack.check_alive()
        progress(f"{scenario} x{clients}: p50 {result.ms(0.5):.1f} ms, p99 {result.ms(0.99):.1f} ms, "
                 f"{result.ops_per_s:.0f} ops/s")
        return result

    async def update_floor(self, client: Client, clients: int, counts: FloorCounts) -> None:
        task_queue = f"{self.stack.task_queue}-floor"
        handles = [await client.start_workflow(FloorWorkflow.run, id=f"bench-floor-{self.tag}-{clients}-{c}",
                                               task_queue=task_queue) for c in range(clients)]

        async def update(c: int, _: int) -> None:
            await handles[c].execute_update(FloorWorkflow.touch, c + 1)

        try:
            await self.measure(UPDATE_FLOOR, update, counts.ops, clients, counts.warmup)
        finally:
            for handle in handles:
                await handle.signal(FloorWorkflow.finish)

    async def transaction_floor(self, clients: int, counts: FloorCounts) -> None:
        conns = [await psycopg.AsyncConnection.connect(self.stack.dsn, autocommit=True) for _ in range(clients)]

        async def transaction(c: int, _: int) -> None:
            await touch_async(conns[c], 100 + c)

        try:
            await self.measure(TX_FLOOR, transaction, counts.pg_ops, clients, counts.pg_warmup)
        finally:
            for conn in conns:
                await conn.close()

    async def floors(self, client_levels: tuple[int, ...], counts: FloorCounts) -> None:
        create_floor_table(self.stack.dsn, 200)
        analyze(self.stack.dsn)
        client = await Client.connect(self.stack.temporal_address, data_converter=pydantic_data_converter)
        pool = ConnectionPool(self.stack.dsn, 32)
        try:
            async with build_floor_worker(client, pool, f"{self.stack.task_queue}-floor"):
                for clients in client_levels:
                    await self.update_floor(client, clients, counts)
        finally:
            pool.close()
        for clients in client_levels:
            await self.transaction_floor(clients, counts)


# --- report ------------------------------------------------------------------------------------------------

def read_first(path: str, key: str) -> str:
    try:
        for line in Path(path).read_text().splitlines():
            if line.startswith(key):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return "unknown"


def machine() -> dict[str, Any]:
    mem_kb = read_first("/proc/meminfo", "MemTotal").split()[0]
    affinity = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return {"nproc": affinity, "cpu_count": os.cpu_count(), "cpu_model": read_first("/proc/cpuinfo", "model name"),
            "memory_gib": round(int(mem_kb) / 1024 / 1024, 1) if mem_kb.isdigit() else None,
            "kernel": platform.release(), "arch": platform.machine()}


def git_revision() -> str:
    def git(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True)

    head = git("rev-parse", "--short", "HEAD")
    if head.returncode != 0:
        return "unknown"
    return head.stdout.strip() + ("" if git("diff", "--quiet", "HEAD").returncode == 0 else "+changes")


def versions(dsn: str) -> dict[str, str]:
    found = {"code": git_revision(), "python": platform.python_version()}
    with psycopg.connect(dsn) as conn:
        row = conn.execute("SHOW server_version").fetchone()
        found["postgresql"] = str(row[0]).split(" ")[0] if row else "unknown"
    found["temporal-cli"] = subprocess.run([temporal_binary(), "--version"], capture_output=True,
                                           text=True).stdout.strip().removeprefix("temporal version ")
    for package in ("temporalio", "fastapi", "starlette", "uvicorn", "sqlalchemy", "psycopg", "httpx", "pydantic"):
        try:
            found[package] = metadata.version(package)
        except metadata.PackageNotFoundError:
            found[package] = "absent"
    return found


def postgres_settings(dsn: str) -> dict[str, str]:
    found: dict[str, str] = {}
    with psycopg.connect(dsn) as conn:
        for name in ("fsync", "synchronous_commit", "full_page_writes", "wal_sync_method", "shared_buffers"):
            row = conn.execute(f"SHOW {name}").fetchone()
            found[name] = str(row[0]) if row else "unknown"
    return found


def verdict(ok: bool) -> str:
    return "ok" if ok else "MISSED"


def find(results: list[Result], scenario: str, clients: int) -> Result:
    return next(r for r in results if r.scenario == scenario and r.clients == clients)


# --- what the ERP benchmarks share ---------------------------------------------------------------------------

def against_floor_lines(rows: list[dict[str, Any]], width: int) -> list[str]:
    """The table of each scenario against the bare-update floor of the same client count."""
    lines = ["", "against the bare-update floor of the same client count (CPU: all processes, ms per operation)",
             f"  {'scenario':<{width}} {'clients':>7} {'p50 x':>7} {'p99 x':>7} {'CPU ms':>8} {'floor ms':>9} "
             f"{'CPU x':>7} {'API ms':>7}"]
    for row in rows:
        lines.append(f"  {row['scenario']:<{width}} {row['clients']:>7} {row['p50_over_update_floor']:>7.2f} "
                     f"{row['p99_over_update_floor']:>7.2f} {row['cpu_ms']:>8.2f} {row['floor_cpu_ms']:>9.2f} "
                     f"{row['cpu_over_update_floor']:>7.2f} {row['api_cpu_ms']:>7.2f}")
    return lines


def write_results(name: str, benchmark: str, results: list[Result], info: dict[str, Any]) -> Path:
    """The run's figures as JSON: bench/results/<name>-<timestamp>[-quick].json."""
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    now = datetime.now(UTC)
    path = RESULTS_DIR / f"{name}-{now:%Y%m%dT%H%M%SZ}{'-quick' if info['config']['name'] == 'quick' else ''}.json"
    payload = {"benchmark": benchmark, "at": now.isoformat(), **info, "results": [r.summary() for r in results]}
    path.write_text(json.dumps(payload, indent=2, default=str) + "\n")
    return path


C = TypeVar("C")


@asynccontextmanager
async def serving(stack: BenchStack, user_specs: list[tuple[str, str, bool]]) -> AsyncIterator[
        tuple[httpx.AsyncClient, list[User]]]:
    """The stack started (servers, then `user_specs` created, then the worker and the API), and an HTTP client on
    its API with those users logged in, in order."""
    stack.start_servers()
    user_ids = create_users(stack.database_url, user_specs)
    stack.start_services()
    await connect_temporal(stack)
    limits = httpx.Limits(max_connections=64, max_keepalive_connections=64)
    async with httpx.AsyncClient(base_url=stack.api_url, limits=limits, timeout=30) as http:
        await wait_until_ready(http)
        yield http, [await login(http, user_ids[name], name) for name, _, _ in user_specs]


def run_benchmark(argv: list[str] | None, *, name: str, benchmark: str, description: str, quick_help: str,
                  configs: tuple[C, C],
                  run: Callable[[BenchStack, C], Coroutine[Any, Any, tuple[list[Result], dict[str, Any]]]],
                  render: Callable[[list[Result], dict[str, Any]], str]) -> int:
    """`python -m bench.<name> [--quick]`: the run on a stack of its own (`configs`: full, quick), its figures
    printed and written as JSON."""
    parser = argparse.ArgumentParser(prog=f"python -m bench.{name.replace('-', '_')}", description=description)
    parser.add_argument("--quick", action="store_true", help=quick_help)
    config = configs[1] if parser.parse_args(argv).quick else configs[0]
    started = time.monotonic()

    async def body(stack: BenchStack) -> tuple[list[Result], dict[str, Any]]:
        return await run(stack, config)

    answer = run_in_stack(f"bench-{name}", body)
    if answer is None:
        return 1
    results, info = answer
    out(render(results, info))
    report_results(write_results(name, benchmark, results, info), started)
    return 0
