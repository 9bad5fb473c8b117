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
The stack, the statistics, the CPU meter and the floors are shared with bench/procurement.py (bench/stack.py).
"""

import asyncio
import json
import random
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import psycopg

from bench.seed import analyze, seed_packs, seed_sealed_modules
from bench.stack import (
    RESULTS_DIR,
    SETTLE_S,
    TX_FLOOR,
    UPDATE_FLOOR,
    Bench,
    BenchError,
    BenchStack,
    CpuMeter,
    FloorCounts,
    Result,
    User,
    call,
    combined,
    connect_temporal,
    cpu_header,
    cpu_row,
    drive,
    find,
    login,
    machine,
    out,
    postgres_settings,
    progress,
    report_results,
    run_in_stack,
    verdict,
    versions,
    wait_until_ready,
)
from bench.stack import create_users as create_users_with_roles
from core.settings import get_settings

CLIENT_LEVELS = (1, 16)
TRANSITIONS = 200          # measured seals (and as many dispositions) per client level
TRANSITION_WARMUP = 32     # packs sealed and dispositioned per level before measuring
LIST_REQUESTS = 400
LIST_WARMUP = 64
FLOOR_OPS = 400           # bare Temporal updates per client level
FLOOR_WARMUP = 64
PG_FLOOR_OPS = 2000       # bare PostgreSQL transactions per client level (each takes well under 1 ms)
PG_FLOOR_WARMUP = 200
BULK_PACKS = 10_000
PAGE_SIZE = 20
CELLS_PER_MODULE = 4
MODULES_PER_PACK = 2
CREATE_CLIENTS = 8         # concurrency of the setup's pack creation

TARGET_TRANSITION_P50_1 = 25.0   # ms, at 1 client
TARGET_FLOOR_RATIO_16 = 1.5      # transition p50 and p99 / bare-update floor's, at 16 clients
TARGET_LIST_P99_16 = 30.0        # ms, at 16 clients
FLOORS = FloorCounts(FLOOR_OPS, FLOOR_WARMUP, PG_FLOOR_OPS, PG_FLOOR_WARMUP)


# --- API calls -------------------------------------------------------------------------------------------

def create_users(database_url: str) -> dict[str, int]:
    """admin, PRODUCTION and QA, straight through the identity service."""
    return create_users_with_roles(database_url, [("bench-admin", "admin", True), ("bench-prod", "PRODUCTION", False),
                                                  ("bench-qa", "QA", False)])


# --- the benchmark -----------------------------------------------------------------------------------------

@dataclass
class Users:
    admin: User
    prod: User
    qa: User


class ConsoleBench(Bench):
    def __init__(self, stack: BenchStack, http: httpx.AsyncClient, users: Users, meter: CpuMeter) -> None:
        super().__init__(stack, meter)
        self.http, self.users = http, users

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


# --- report ------------------------------------------------------------------------------------------------

TRANSITION_ROWS = ("seal (PATCH)", "disposition PASS (PATCH)", "transition (seal+disposition)")
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
    lines.append("CPU ms per operation (from /proc, 10 ms ticks; 'bench' is this process: the clients, and the "
                 "floors' worker; busy% = all of it / (wall x nproc))")
    lines.append(cpu_header())
    cores = m["nproc"] or 1
    for r in results:
        lines.append(cpu_row(r, cores))
    return "\n".join(lines)


# --- main --------------------------------------------------------------------------------------------------

async def run(stack: BenchStack) -> tuple[list[Result], dict[str, Any]]:
    stack.start_servers()
    user_ids = create_users(stack.database_url)
    stack.start_services()
    await connect_temporal(stack)
    limits = httpx.Limits(max_connections=64, max_keepalive_connections=64)
    async with httpx.AsyncClient(base_url=stack.api_url, limits=limits, timeout=30) as http:
        await wait_until_ready(http)
        users = Users(*[await login(http, user_ids[name], name) for name in ("bench-admin", "bench-prod", "bench-qa")])
        bench = ConsoleBench(stack, http, users, stack.meter())

        progress("preparing: SKU, 10,000 seeded packs, packs ready to seal (through the API)")
        sku_id = await bench.create_sku()
        seed_packs(stack.dsn, sku_id, users.admin.id, BULK_PACKS, MODULES_PER_PACK, bench.tag)
        ready = {clients: await bench.ready_packs(sku_id, TRANSITION_WARMUP + TRANSITIONS, f"c{clients}")
                 for clients in CLIENT_LEVELS}
        analyze(stack.dsn)
        await asyncio.sleep(2)  # let the batch workflows absorb the creation signals

        progress("measuring the floors")
        await bench.floors(CLIENT_LEVELS, FLOORS)
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
    started = time.monotonic()
    answer = run_in_stack("bench-console", run)
    if answer is None:
        return 1
    results, info = answer
    out(render(results, info))
    path = write_json(results, info)
    report_results(path, started)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
