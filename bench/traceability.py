"""`make bench-traceability` (and part of `make bench`): the ERP's forward and backward trace over a plant's
genealogy, in one run; `--quick` for a smaller plant and small counts while developing.

Starts its own stack (bench/stack.py, as bench/shop_floor.py does), seeds by SQL (bench/traceability_seed.py)
10,000 lots and 100,050 serials of 2,001 completed work orders: motors, pump modules made of motors, pumps made of
pump modules (sub-assemblies two levels deep), each work order consuming five lots, nine pump work orders in ten
shipped to 300 customers; then measures at 1 and at 16 concurrent closed-loop clients:

1. the floors (bench/floor.py), in the same run: a bare Temporal update running one local activity that does
   one trivial PostgreSQL transaction, and that transaction alone;
2. `GET /api/v1/traceability/forward?lot_number=` of random lots consumed by motor work orders: each reaches six
   work orders over three levels (300 serials, their shipments and customers);
3. `GET /api/v1/traceability/backward?serial_number=` of random pumps: each reaches six work orders over three
   levels (180 consumptions: 150 sub-assemblies and 30 lots with their suppliers) and 24 operations.

Every answer is checked (the work orders and units reached). Target: p99 at most 100 ms. Prints each scenario
against the bare-update floor of the same client count (p50, p99, CPU of all processes), CPU per operation per
process, the machine and versions; writes the same figures as JSON to bench/results/traceability-<timestamp>.json.
Everything it started is stopped at the end, also on error.
"""

import random
import time
from dataclasses import dataclass
from typing import Any

import httpx

from bench.mes import against_floor, table
from bench.seed import analyze
from bench.stack import (
    CPU_GROUPS,
    TX_FLOOR,
    UPDATE_FLOOR,
    Bench,
    BenchError,
    BenchStack,
    FloorCounts,
    Result,
    User,
    against_floor_lines,
    call,
    cpu_header,
    cpu_row,
    machine,
    postgres_settings,
    progress,
    run_benchmark,
    serving,
    versions,
)
from bench.traceability_seed import SeededGenealogy, seed_genealogy
from core.settings import get_settings

V1 = "/api/v1"
CLIENT_LEVELS = (1, 16)
TARGET_P99_MS = 100.0
FORWARD = "GET /traceability/forward?lot_number="
BACKWARD = "GET /traceability/backward?serial_number="
MEASURED_ROWS = (FORWARD, BACKWARD)
WIDTH = 42
USER_SPECS = [("bench-viewer", "viewer", False), *[(f"bench-operator-{i}", "operator", False) for i in range(4)]]


@dataclass(frozen=True)
class Config:
    name: str
    work_orders: int  # a multiple of 3: a third per level (2,001 x 50 units: 100,050 serials)
    ops: dict[str, dict[int, int]]  # measured operations per scenario and client level
    warmup: dict[int, int]
    floors: FloorCounts


FULL = Config("full", 2_001, {FORWARD: {1: 300, 16: 800}, BACKWARD: {1: 300, 16: 800}}, {1: 20, 16: 64},
              FloorCounts())
QUICK = Config("quick", 150, {FORWARD: {1: 40, 16: 96}, BACKWARD: {1: 40, 16: 96}}, {1: 8, 16: 16},
               FloorCounts(48, 16, 200, 50))


class TraceBench(Bench):
    def __init__(self, stack: BenchStack, http: httpx.AsyncClient, viewer: User, config: Config,
                 seeded: SeededGenealogy) -> None:
        super().__init__(stack, stack.meter())
        self.http, self.viewer, self.config, self.seeded = http, viewer, config, seeded
        self.rng = random.Random(20251106)

    async def run_scenario(self, scenario: str, clients: int, op: Any) -> None:
        await self.measure(scenario, op, self.config.ops[scenario][clients], clients, self.config.warmup[clients])

    async def forward(self, clients: int) -> None:
        lots = self.seeded.motor_lots

        async def op(_: int, __: int) -> None:
            lot_number = self.rng.choice(lots)
            answer = await call(self.http, "GET", f"{V1}/traceability/forward?lot_number={lot_number}", self.viewer)
            if answer["input"]["lot_number"] != lot_number or not answer["affected_products"]:
                raise BenchError(f"forward trace of {lot_number} answered {str(answer)[:300]}")

        await self.run_scenario(FORWARD, clients, op)

    async def backward(self, clients: int) -> None:
        pumps = self.seeded.pump_serials

        async def op(_: int, __: int) -> None:
            serial = self.rng.choice(pumps)
            answer = await call(self.http, "GET", f"{V1}/traceability/backward?serial_number={serial}", self.viewer)
            genealogy = answer["genealogy"]
            if not genealogy["materials_used"] or max(m["level"] for m in genealogy["materials_used"]) != 2:
                raise BenchError(f"backward trace of {serial} answered {str(answer)[:300]}")

        await self.run_scenario(BACKWARD, clients, op)


def verdicts(results: list[Result]) -> list[str]:
    lines = ["", f"target: p99 at most {TARGET_P99_MS:.0f} ms"]
    for r in results:
        if r.scenario in MEASURED_ROWS:
            p99 = r.ms(0.99)
            lines.append(f"  {r.scenario:<{WIDTH}} {r.clients:>3} clients: p99 {p99:7.2f} ms "
                         f"{'ok' if p99 <= TARGET_P99_MS else 'MISSED'}")
    return lines


def render(results: list[Result], info: dict[str, Any]) -> str:
    m, v, pg, seeded = info["machine"], info["versions"], info["postgres_settings"], info["seeded"]
    lines = ["ERP traceability benchmark" + (" (--quick: a smaller plant and small counts, figures not comparable)"
                                             if info["config"]["name"] == "quick" else ""),
             f"machine: nproc={m['nproc']} cpu=\"{m['cpu_model']}\" memory={m['memory_gib']} GiB "
             f"kernel={m['kernel']} {m['arch']}",
             "versions: " + " ".join(f"{k}={val}" for k, val in v.items()),
             f"seeded: {seeded['lots']:,} lots, {seeded['work_orders']:,} work orders (3 levels), "
             f"{seeded['serials']:,} serials, {seeded['consumptions']:,} consumptions, {seeded['shipments']:,} "
             f"shipments to {seeded['customers']} customers",
             f"PostgreSQL fsync={pg['fsync']} synchronous_commit={pg['synchronous_commit']}; Temporal dev server as "
             f"`make run` starts it; API: {get_settings().api_workers} uvicorn process(es); worker: 1 process; "
             "closed-loop clients", ""]
    lines += table(results)
    lines += verdicts(results)
    lines += against_floor_lines(info["against_floor"], WIDTH)
    lines += ["", "CPU ms per operation (from /proc, 10 ms ticks)", cpu_header(WIDTH)]
    lines += [cpu_row(r, m["nproc"] or 1, WIDTH) for r in results if r.cpu_s]
    return "\n".join(lines)


async def run(stack: BenchStack, config: Config) -> tuple[list[Result], dict[str, Any]]:
    async with serving(stack, USER_SPECS) as (http, logged_in):
        viewer, operators = logged_in[0], logged_in[1:]
        tag = f"{int(time.time()) % 100000:05d}"
        progress(f"seeding the genealogy of {config.work_orders:,} work orders")
        started = time.monotonic()
        seeded = seed_genealogy(stack.database_url, stack.dsn, tag, config.work_orders, [u.id for u in operators])
        analyze(stack.dsn)
        progress(f"seeded {seeded.lots:,} lots, {seeded.serials:,} serials, {seeded.consumptions:,} consumptions, "
                 f"{seeded.shipments:,} shipments in {time.monotonic() - started:.1f} s")
        bench = TraceBench(stack, http, viewer, config, seeded)
        progress("measuring the floors")
        await bench.floors(CLIENT_LEVELS, config.floors)
        for scenario in (bench.forward, bench.backward):
            for clients in CLIENT_LEVELS:
                await scenario(clients)

    order = [UPDATE_FLOOR, TX_FLOOR, *MEASURED_ROWS]
    results = sorted(bench.results, key=lambda r: (order.index(r.scenario), r.clients))
    info = {"machine": machine(), "versions": versions(stack.dsn), "postgres_settings": postgres_settings(stack.dsn),
            "seeded": {"lots": seeded.lots, "work_orders": seeded.work_orders, "serials": seeded.serials,
                       "consumptions": seeded.consumptions, "shipments": seeded.shipments,
                       "customers": seeded.customers},
            "against_floor": [against_floor(r, results) for r in results if r.scenario in MEASURED_ROWS],
            "config": {"name": config.name, "client_levels": list(CLIENT_LEVELS), "ops": config.ops,
                       "warmup": {str(k): v for k, v in config.warmup.items()}, "target_p99_ms": TARGET_P99_MS,
                       "cpu_groups": list(CPU_GROUPS)}}
    return results, info


def main(argv: list[str] | None = None) -> int:
    return run_benchmark(argv, name="traceability", benchmark="erp traceability",
                         description="The ERP's forward and backward trace over 100,000 serials, in one run.",
                         quick_help="a smaller plant and small counts, for development", configs=(FULL, QUICK),
                         run=run, render=render)


if __name__ == "__main__":
    raise SystemExit(main())
