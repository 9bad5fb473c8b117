"""`make bench`: the battery-pack console's latency and throughput on this machine, in one run.

Starts its own stack on free ports in a temporary folder (PostgreSQL with its default durability, the
Temporal dev server as `make run` starts it, migrations, the worker and the API as subprocesses), then
measures at 1 and at 16 concurrent clients:

1. the pack transitions through the HTTP API: `PATCH /api/v1/packs/{id}/seal` and
   `PATCH /api/v1/packs/{id}/disposition` (PASS), on packs created through the API (with workflows)
   from SEALED modules seeded by SQL;
2. `GET /api/v1/packs?page=N&pageSize=20` over a table of more than 10,000 packs (seeded by SQL);
3. the floors (bench/floor.py): a bare Temporal update running one local activity that does one trivial
   PostgreSQL transaction (its worker runs in this process), and that transaction alone (psycopg).

Prints a table with the targets beside the figures, the CPU each process spent per operation, the
machine and the versions; writes the same figures as JSON to bench/results/console-<timestamp>.json.
Everything it started is stopped at the end, also on error (the temporary folder is kept on error).
"""

import asyncio
import json
import os
import platform
import random
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any

import httpx
import psycopg
from temporalio.api.enums.v1 import TaskQueueType
from temporalio.api.taskqueue.v1 import TaskQueue
from temporalio.api.workflowservice.v1 import DescribeTaskQueueRequest
from temporalio.client import Client
from temporalio.contrib.pydantic import pydantic_data_converter

from bench.floor import ConnectionPool, FloorWorkflow, build_floor_worker, create_floor_table, touch_async
from bench.seed import analyze, seed_packs, seed_sealed_modules
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

CLIENT_LEVELS = (1, 16)
TRANSITIONS = 200          # measured seals (and as many dispositions) per client level
TRANSITION_WARMUP = 32     # packs sealed and dispositioned per level before measuring
LIST_REQUESTS = 400
LIST_WARMUP = 64
FLOOR_OPS = 400           # bare Temporal updates per client level
FLOOR_WARMUP = 64
PG_FLOOR_OPS = 2000       # bare PostgreSQL transactions per client level (each takes well under 1 ms)
PG_FLOOR_WARMUP = 200
SETTLE_S = 1.0            # pause before each measured scenario: background work of the last one ends
BULK_PACKS = 10_000
PAGE_SIZE = 20
CELLS_PER_MODULE = 4
MODULES_PER_PACK = 2
CREATE_CLIENTS = 8         # concurrency of the setup's pack creation
PASSWORD = "bench-pass-123"

TARGET_TRANSITION_P50_1 = 25.0   # ms, at 1 client
TARGET_FLOOR_RATIO_16 = 1.5      # transition p50 and p99 / bare-update floor's, at 16 clients
TARGET_LIST_P99_16 = 30.0        # ms, at 16 clients


class BenchError(RuntimeError):
    """A setup step or a measured call failed: the figures would mean nothing."""


def out(text: str = "") -> None:
    sys.stdout.write(text + "\n")
    sys.stdout.flush()


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

    def __init__(self, root: Path) -> None:
        self.root = root
        pg_port, self.temporal_port, self.api_port = distinct_free_ports(3)
        self.postgres = PostgresCluster(root, pg_port)  # realistic durability: fsync and synchronous commit on
        self.task_queue = f"bench-console-{uuid.uuid4().hex[:8]}"
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
        env = {**os.environ, "DATABASE_URL": self.database_url, "TEMPORAL_ADDRESS": self.temporal_address,
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

    def stop(self) -> None:
        for name in reversed(list(self.processes)):
            progress(f"stopping {name}")
            stop_process(self.processes[name])
        if self.postgres_started:
            progress("stopping PostgreSQL")
            self.postgres.stop()


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


# --- API calls -------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class User:
    id: int
    username: str
    headers: dict[str, str]


def create_users(database_url: str) -> dict[str, int]:
    """admin, PRODUCTION and QA, straight through the identity service."""
    from services.identity import create_user

    engine = make_engine(database_url, pool_size=1)
    ids: dict[str, int] = {}
    try:
        with session_scope(make_sessionmaker(engine)) as session:
            for name, role, superuser in (("bench-admin", "admin", True), ("bench-prod", "PRODUCTION", False),
                                          ("bench-qa", "QA", False)):
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


# --- the benchmark -----------------------------------------------------------------------------------------

@dataclass
class Users:
    admin: User
    prod: User
    qa: User


class ConsoleBench:
    def __init__(self, stack: BenchStack, http: httpx.AsyncClient, users: Users, meter: CpuMeter) -> None:
        self.stack, self.http, self.users, self.meter = stack, http, users, meter
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

    # setup

    async def create_sku(self) -> int:
        sku = (await call(self.http, "POST", "/api/v1/skus", self.users.admin, {
            "sku_code": f"BENCH-{self.tag}", "name": "Bench pack", "chemistry": "NMC", "nominal_voltage_v": 51.8,
            "capacity_ah": 100, "cells_per_module": CELLS_PER_MODULE, "modules_per_pack": MODULES_PER_PACK},
            expect=201))["data"]
        await call(self.http, "PATCH", f"/api/v1/skus/{sku['id']}/activate", self.users.admin)
        return int(sku["id"])

    async def started_batch(self, sku_id: int, packs: int) -> int:
        batch = (await call(self.http, "POST", "/api/v1/batches", self.users.prod,
                            {"sku_id": sku_id, "target_quantity": packs}, expect=201))["data"]
        await call(self.http, "PATCH", f"/api/v1/batches/{batch['id']}/start", self.users.prod)
        return int(batch["id"])

    async def ready_packs(self, sku_id: int, count: int, label: str) -> list[int]:
        """`count` IN_PROGRESS packs with all their modules, created through the API in a new batch."""
        batch_id = await self.started_batch(sku_id, count)
        modules = seed_sealed_modules(self.stack.dsn, batch_id, self.users.prod.id, count * MODULES_PER_PACK,
                                      CELLS_PER_MODULE, f"{self.tag}-{label}")
        pack_ids: list[int] = [0] * count

        async def create(_: int, i: int) -> None:
            body = {"batch_id": batch_id, "serial_number": f"BP-{self.tag}-{label}-{i:05d}",
                    "module_ids": modules[i * MODULES_PER_PACK:(i + 1) * MODULES_PER_PACK]}
            pack = (await call(self.http, "POST", "/api/v1/packs", self.users.prod, body, expect=201))["data"]
            if pack["status"] != "IN_PROGRESS" or pack["module_count"] != MODULES_PER_PACK:
                raise BenchError(f"pack {pack['id']} is {pack['status']} with {pack['module_count']} modules")
            pack_ids[i] = int(pack["id"])

        await self.measure(f"create pack (setup, batch {label})", create, count, CREATE_CLIENTS, keep=False)
        return pack_ids

    # scenarios

    async def transitions(self, packs: list[int], clients: int) -> None:
        async def seal(_: int, i: int) -> None:
            view = (await call(self.http, "PATCH", f"/api/v1/packs/{packs[i]}/seal", self.users.prod))["data"]
            if view["status"] != "READY_FOR_EOL":
                raise BenchError(f"sealed pack {packs[i]} is {view['status']}")

        async def disposition(_: int, i: int) -> None:
            view = (await call(self.http, "PATCH", f"/api/v1/packs/{packs[i]}/disposition", self.users.qa,
                               {"disposition": "PASS"}))["data"]
            if view["status"] != "FINALIZED":
                raise BenchError(f"pack {packs[i]} after PASS is {view['status']}")

        # Warm-up on the first packs (seal, then disposition), then the measured ones.
        await asyncio.sleep(SETTLE_S)
        await drive(seal, TRANSITION_WARMUP, clients)
        await drive(disposition, TRANSITION_WARMUP, clients)
        rest = packs[TRANSITION_WARMUP:]

        async def seal_rest(c: int, i: int) -> None:
            await seal(c, i + TRANSITION_WARMUP)

        async def disposition_rest(c: int, i: int) -> None:
            await disposition(c, i + TRANSITION_WARMUP)

        sealed = await self.measure("seal (PATCH)", seal_rest, len(rest), clients)
        passed = await self.measure("disposition PASS (PATCH)", disposition_rest, len(rest), clients)
        self.results.append(combined("transition (seal+disposition)", [sealed, passed]))

    async def listing(self, clients: int, total_pages: int) -> None:
        rng = random.Random(20240 + clients)
        pages = [rng.randint(1, total_pages) for _ in range(LIST_REQUESTS + LIST_WARMUP)]

        async def get_page(_: int, i: int) -> None:
            body = await call(self.http, "GET", f"/api/v1/packs?page={pages[i]}&pageSize={PAGE_SIZE}",
                              self.users.qa)
            if body["meta"]["totalCount"] < BULK_PACKS or not body["data"]:
                raise BenchError(f"page {pages[i]} listed {len(body['data'])} of {body['meta']['totalCount']}")

        await drive(get_page, LIST_WARMUP, clients)

        async def measured(c: int, i: int) -> None:
            await get_page(c, i + LIST_WARMUP)

        await self.measure("list packs (GET page)", measured, LIST_REQUESTS, clients)

    async def update_floor(self, client: Client, clients: int) -> None:
        task_queue = f"{self.stack.task_queue}-floor"
        handles = [await client.start_workflow(FloorWorkflow.run, id=f"bench-floor-{self.tag}-{clients}-{c}",
                                               task_queue=task_queue) for c in range(clients)]

        async def update(c: int, _: int) -> None:
            await handles[c].execute_update(FloorWorkflow.touch, c + 1)

        try:
            await self.measure("floor: Temporal update + LA + PG tx", update, FLOOR_OPS, clients, FLOOR_WARMUP)
        finally:
            for handle in handles:
                await handle.signal(FloorWorkflow.finish)

    async def transaction_floor(self, clients: int) -> None:
        conns = [await psycopg.AsyncConnection.connect(self.stack.dsn, autocommit=True) for _ in range(clients)]

        async def transaction(c: int, _: int) -> None:
            await touch_async(conns[c], 100 + c)

        try:
            await self.measure("floor: PG tx (BEGIN;UPDATE;COMMIT)", transaction, PG_FLOOR_OPS, clients,
                               PG_FLOOR_WARMUP)
        finally:
            for conn in conns:
                await conn.close()

    async def floors(self) -> None:
        create_floor_table(self.stack.dsn, 200)
        analyze(self.stack.dsn)
        client = await Client.connect(self.stack.temporal_address, data_converter=pydantic_data_converter)
        pool = ConnectionPool(self.stack.dsn, 32)
        try:
            async with build_floor_worker(client, pool, f"{self.stack.task_queue}-floor"):
                for clients in CLIENT_LEVELS:
                    await self.update_floor(client, clients)
        finally:
            pool.close()
        for clients in CLIENT_LEVELS:
            await self.transaction_floor(clients)


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


def verdict(ok: bool) -> str:
    return "ok" if ok else "MISSED"


def find(results: list[Result], scenario: str, clients: int) -> Result:
    return next(r for r in results if r.scenario == scenario and r.clients == clients)


TRANSITION_ROWS = ("seal (PATCH)", "disposition PASS (PATCH)", "transition (seal+disposition)")
UPDATE_FLOOR = "floor: Temporal update + LA + PG tx"
TX_FLOOR = "floor: PG tx (BEGIN;UPDATE;COMMIT)"
LIST_ROW = "list packs (GET page)"


def target_note(r: Result, results: list[Result]) -> str:
    if r.scenario in TRANSITION_ROWS and r.clients == 1:
        return f"p50 <= {TARGET_TRANSITION_P50_1:.0f} ms: {verdict(r.ms(0.5) <= TARGET_TRANSITION_P50_1)}"
    if r.scenario in TRANSITION_ROWS and r.clients == 16:
        floor = find(results, UPDATE_FLOOR, 16)
        ok = (r.ms(0.5) <= TARGET_FLOOR_RATIO_16 * floor.ms(0.5)
              and r.ms(0.99) <= TARGET_FLOOR_RATIO_16 * floor.ms(0.99))
        return f"p50,p99 <= {TARGET_FLOOR_RATIO_16} x floor: {verdict(ok)}"
    if r.scenario == LIST_ROW and r.clients == 16:
        return f"p99 <= {TARGET_LIST_P99_16:.0f} ms: {verdict(r.ms(0.99) <= TARGET_LIST_P99_16)}"
    return ""


def ratios(results: list[Result]) -> dict[str, dict[str, float]]:
    update_floor, tx_floor = find(results, UPDATE_FLOOR, 16), find(results, TX_FLOOR, 16)
    found: dict[str, dict[str, float]] = {}
    for name in TRANSITION_ROWS:
        r = find(results, name, 16)
        found[name] = {"p50_over_update_floor": round(r.ms(0.5) / update_floor.ms(0.5), 2),
                       "p99_over_update_floor": round(r.ms(0.99) / update_floor.ms(0.99), 2),
                       "p50_over_tx_floor": round(r.ms(0.5) / tx_floor.ms(0.5), 2),
                       "p99_over_tx_floor": round(r.ms(0.99) / tx_floor.ms(0.99), 2)}
    return found


def render(results: list[Result], info: dict[str, Any]) -> str:
    lines: list[str] = []
    m, v = info["machine"], info["versions"]
    lines.append("Battery-pack console benchmark")
    lines.append(f"machine: nproc={m['nproc']} cpu=\"{m['cpu_model']}\" memory={m['memory_gib']} GiB "
                 f"kernel={m['kernel']} {m['arch']}")
    lines.append("versions: " + " ".join(f"{k}={val}" for k, val in v.items()))
    pg = info["postgres_settings"]
    lines.append(f"setup: {info['packs_in_db']} packs in the database; SKU {CELLS_PER_MODULE} cells/module, "
                 f"{MODULES_PER_PACK} modules/pack; PostgreSQL fsync={pg['fsync']} synchronous_commit="
                 f"{pg['synchronous_commit']} ({pg['wal_sync_method']}); Temporal dev server as `make run` starts it "
                 f"(SQLite WAL, synchronous=normal); API: {get_settings().api_workers} uvicorn process(es); "
                 "worker: 1 process; closed-loop clients")
    lines.append("")
    header = (f"{'scenario':<38} {'clients':>7} {'n':>5} {'p50 ms':>8} {'p95 ms':>8} {'p99 ms':>8} "
              f"{'max ms':>8} {'ops/s':>8}  target")
    lines += [header, "-" * (len(header) + 24)]
    for r in results:
        lines.append(f"{r.scenario:<38} {r.clients:>7} {len(r.latencies_s):>5} {r.ms(0.5):>8.2f} "
                     f"{r.ms(0.95):>8.2f} {r.ms(0.99):>8.2f} {max(r.latencies_s) * 1000:>8.2f} "
                     f"{r.ops_per_s:>8.1f}  {target_note(r, results)}")
    lines.append("")
    lines.append("at 16 clients, transition / floor          p50 ratio  p99 ratio   (target <= "
                 f"{TARGET_FLOOR_RATIO_16} x the bare-update floor)")
    for name, ratio in info["ratios_16"].items():
        lines.append(f"  {name:<30} / update floor  {ratio['p50_over_update_floor']:>9.2f}  "
                     f"{ratio['p99_over_update_floor']:>9.2f}")
    for name, ratio in info["ratios_16"].items():
        lines.append(f"  {name:<30} / PG tx floor   {ratio['p50_over_tx_floor']:>9.2f}  "
                     f"{ratio['p99_over_tx_floor']:>9.2f}")
    lines.append("")
    groups = ("bench", "api", "worker", "temporal", "postgres")
    lines.append("CPU ms per operation (from /proc, 10 ms ticks; 'bench' is this process: the clients, and the "
                 "floors' worker; busy% = all of it / (wall x nproc))")
    lines.append(f"  {'scenario':<38} {'clients':>7} " + " ".join(f"{g:>9}" for g in groups)
                 + f" {'total':>9} {'busy%':>6}")
    cores = m["nproc"] or 1
    for r in results:
        per_op = {g: r.cpu_s.get(g, 0.0) * 1000 / len(r.latencies_s) for g in groups}
        total = sum(r.cpu_s.get(g, 0.0) for g in groups)
        busy = 100 * total / (r.wall_s * cores)
        lines.append(f"  {r.scenario:<38} {r.clients:>7} " + " ".join(f"{per_op[g]:>9.2f}" for g in groups)
                     + f" {sum(per_op.values()):>9.2f} {busy:>5.0f}%")
    return "\n".join(lines)


# --- main --------------------------------------------------------------------------------------------------

async def run(stack: BenchStack) -> tuple[list[Result], dict[str, Any]]:
    stack.start_servers()
    user_ids = create_users(stack.database_url)
    stack.start_services()
    temporal_client = await Client.connect(stack.temporal_address, data_converter=pydantic_data_converter)
    await wait_for_worker(temporal_client, stack.task_queue)
    limits = httpx.Limits(max_connections=64, max_keepalive_connections=64)
    async with httpx.AsyncClient(base_url=stack.api_url, limits=limits, timeout=30) as http:
        await wait_until_ready(http)
        users = Users(*[await login(http, user_ids[name], name) for name in ("bench-admin", "bench-prod", "bench-qa")])
        meter = CpuMeter({"bench": os.getpid(), "api": stack.processes["api"].pid,
                          "worker": stack.processes["worker"].pid, "temporal": stack.processes["temporal"].pid},
                         stack.postmaster_pid())
        bench = ConsoleBench(stack, http, users, meter)

        progress("preparing: SKU, 10,000 seeded packs, packs ready to seal (through the API)")
        sku_id = await bench.create_sku()
        seed_packs(stack.dsn, sku_id, users.admin.id, BULK_PACKS, MODULES_PER_PACK, bench.tag)
        ready = {clients: await bench.ready_packs(sku_id, TRANSITION_WARMUP + TRANSITIONS, f"c{clients}")
                 for clients in CLIENT_LEVELS}
        analyze(stack.dsn)
        await asyncio.sleep(2)  # let the batch workflows absorb the creation signals

        progress("measuring the floors")
        await bench.floors()
        progress("measuring the pack transitions")
        for clients in CLIENT_LEVELS:
            await bench.transitions(ready[clients], clients)
        progress("measuring the pack list")
        with psycopg.connect(stack.dsn) as conn:
            row = conn.execute("SELECT count(*) FROM packs").fetchone()
            packs_in_db = int(row[0]) if row else 0
        for clients in CLIENT_LEVELS:
            await bench.listing(clients, -(-packs_in_db // PAGE_SIZE))

    order = [UPDATE_FLOOR, TX_FLOOR, *TRANSITION_ROWS, LIST_ROW]
    results = sorted(bench.results, key=lambda r: (order.index(r.scenario), r.clients))
    info = {"machine": machine(), "versions": versions(stack.dsn), "packs_in_db": packs_in_db,
            "ratios_16": ratios(results), "setup": [r.summary() for r in bench.setup],
            "postgres_settings": postgres_settings(stack.dsn)}
    return results, info


def postgres_settings(dsn: str) -> dict[str, str]:
    found: dict[str, str] = {}
    with psycopg.connect(dsn) as conn:
        for name in ("fsync", "synchronous_commit", "full_page_writes", "wal_sync_method", "shared_buffers"):
            row = conn.execute(f"SHOW {name}").fetchone()
            found[name] = str(row[0]) if row else "unknown"
    return found


def write_json(results: list[Result], info: dict[str, Any]) -> Path:
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    path = RESULTS_DIR / f"console-{stamp}.json"
    payload = {
        "benchmark": "battery-pack console", "at": datetime.now(UTC).isoformat(), **info,
        "config": {"client_levels": list(CLIENT_LEVELS), "transitions": TRANSITIONS,
                   "transition_warmup": TRANSITION_WARMUP, "list_requests": LIST_REQUESTS, "list_warmup": LIST_WARMUP,
                   "floor_ops": FLOOR_OPS, "floor_warmup": FLOOR_WARMUP, "pg_floor_ops": PG_FLOOR_OPS,
                   "pg_floor_warmup": PG_FLOOR_WARMUP, "settle_s": SETTLE_S, "bulk_packs": BULK_PACKS,
                   "page_size": PAGE_SIZE, "cells_per_module": CELLS_PER_MODULE,
                   "modules_per_pack": MODULES_PER_PACK, "postgres_durability": "fsync=on synchronous_commit=on"},
        "targets": {"transition_p50_ms_at_1": TARGET_TRANSITION_P50_1,
                    "transition_over_update_floor_at_16": TARGET_FLOOR_RATIO_16,
                    "list_p99_ms_at_16": TARGET_LIST_P99_16},
        "results": [r.summary() | {"target": target_note(r, results)} for r in results],
    }
    path.write_text(json.dumps(payload, indent=2) + "\n")
    return path


def main() -> int:
    os.environ["BCRYPT_ROUNDS"] = "4"  # the bench users are created in this process
    get_settings.cache_clear()
    root = Path(tempfile.mkdtemp(prefix="bench-console-"))
    stack = BenchStack(root)
    started = time.monotonic()
    failed = True
    try:
        results, info = asyncio.run(run(stack))
        failed = False
    except (BenchError, StackError) as err:
        sys.stderr.write(f"error: {err}\n")
        return 1
    finally:
        stack.stop()
        if failed:
            sys.stderr.write(f"logs kept in {root}\n")
        else:
            shutil.rmtree(root, ignore_errors=True)
    out(render(results, info))
    path = write_json(results, info)
    shown = path.relative_to(ROOT) if path.is_relative_to(ROOT) else path
    out(f"\nresults: {shown}  (run took {time.monotonic() - started:.0f} s)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
