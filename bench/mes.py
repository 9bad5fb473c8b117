"""`make bench-mes` (and a part of `make bench`): the ERP products' reads and writes and the SPC chart on this
machine, in one run; `--quick` for small counts while developing.

Starts its own stack on free ports in a temporary folder (bench/stack.py: PostgreSQL with its default
durability, the Temporal dev server as `make run` starts it, migrations, the worker and the API as
subprocesses), seeds 500 materials through the ORM, 2,000 products with 5 bill-of-materials lines and
4 routing operations each by SQL, and one inspection characteristic with 10,000 measurements (one inspection log
each, 10 minutes apart) by SQL (bench/mes_seed.py), then measures at 1 and at 16 concurrent closed-loop clients:

1. the floors (bench/floor.py), in the same run: a bare Temporal update running one local activity that does
   one trivial PostgreSQL transaction, and that transaction alone;
2. `GET /api/v1/products/{id}` of random seeded products;
3. `GET /api/v1/products?page=N&per_page=50`: any full page of the seeded products (each with its bill and
   routing);
4. `GET /api/v1/products?search=<code>`: a random seeded product's full code (one product found);
5. `GET /api/v1/spc-charts?characteristic_id=&start_date=&end_date=` (JSON): the individuals chart, capability
   and Western Electric alerts over all 10,000 measurements of the seeded characteristic (every data point in
   the answer);
6. `POST /api/v1/products`: a new product of 5 lines (distinct seeded materials) and 4 operations, each code
   new (warm-up and measured requests never repeat).

Every answer is checked (ids, counts, totals, the chart's points). A product is rows only (no workflow): its
create is one transaction in the API process, and the SPC chart is one indexed read and the maths in the API
process, so the worker and Temporal should show no CPU beside them.

Prints the latencies, each scenario against the bare-update floor of the same client count (p50, p99, CPU of
all processes), the CPU each process spent per operation, the machine and the versions; writes the same
figures as JSON to bench/results/mes-<timestamp>.json. Everything it started is stopped at the end, also on
error (the temporary folder with the logs is kept on error).
"""

import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import httpx
import psycopg

from bench.mes_seed import SeededProducts, SeededSpc, seed_machines, seed_materials, seed_products, seed_spc
from bench.seed import analyze
from bench.stack import (
    CPU_GROUPS,
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
    against_floor_lines,
    call,
    cpu_header,
    cpu_ms_per_op,
    cpu_row,
    drive,
    find,
    machine,
    postgres_settings,
    progress,
    run_benchmark,
    serving,
    versions,
)
from core.settings import get_settings

PRODUCTS = "/api/v1/products"
SPC = "/api/v1/spc-charts"
CLIENT_LEVELS = (1, 16)
PER_PAGE = 50
BOM_LINES = 5
MACHINES = 40  # the routings' steps run on these
OPERATIONS = 4
WIDTH = 40                 # of the scenario column

GET_ONE = "GET /products/{id} (random seeded)"
LIST_PAGE = "GET /products (page of 50)"
LIST_SEARCH = "GET /products?search= (a code)"
SPC_POINTS = 10_000        # measurements of the charted characteristic
SPC_CHART = f"GET /spc-charts (JSON, {SPC_POINTS:,} points)"
CREATE = f"POST /products ({BOM_LINES} lines, {OPERATIONS} ops)"
READ_ROWS = (GET_ONE, LIST_PAGE, LIST_SEARCH)
MEASURED_ROWS = (*READ_ROWS, SPC_CHART, CREATE)
USER_SPECS = [("bench-engineer", "engineer", False), ("bench-operator", "operator", False),
              ("bench-inspector", "inspector", False)]


@dataclass(frozen=True)
class Config:
    name: str
    products: int
    materials: int
    reads: dict[str, int]      # measured requests per read scenario and client level
    read_warmup: int
    creates: dict[int, int]    # measured creates per client level
    create_warmup: dict[int, int]
    floors: FloorCounts
    spc_reads: int             # measured charts per client level
    spc_warmup: int


FULL = Config("full", 2_000, 500, {GET_ONE: 400, LIST_PAGE: 200, LIST_SEARCH: 400}, 32, {1: 150, 16: 320},
              {1: 16, 16: 32}, FloorCounts(), 48, 8)
QUICK = Config("quick", 200, 500, {GET_ONE: 48, LIST_PAGE: 24, LIST_SEARCH: 48}, 8, {1: 16, 16: 32},
               {1: 4, 16: 16}, FloorCounts(48, 16, 200, 50), 8, 2)


@dataclass
class Users:
    engineer: User   # creates products (MANAGE_PRODUCTS)
    operator: User   # reads them and the SPC chart (VIEW_PRODUCTS), as the floor does
    inspector: User  # the seeded inspection logs' inspector


class MesBench(Bench):
    def __init__(self, stack: BenchStack, http: httpx.AsyncClient, users: Users, meter: CpuMeter, config: Config,
                 materials: list[int], seeded: SeededProducts, spc: SeededSpc, machines: list[int]) -> None:
        super().__init__(stack, meter)
        self.http, self.users, self.config = http, users, config
        self.materials, self.seeded, self.spc, self.machines = materials, seeded, spc, machines

    async def reads(self, scenario: str, clients: int, paths: list[str], check: Callable[[int, Any], None],
                    warmup: int | None = None) -> None:
        """GET each path (the first `warmup`, by default `read_warmup`, as the warm-up), every answer checked by
        `check(index, body)`."""
        warmup = self.config.read_warmup if warmup is None else warmup

        async def get(_: int, i: int) -> None:
            check(i, await call(self.http, "GET", paths[i], self.users.operator))

        async def measured(c: int, i: int) -> None:
            await get(c, i + warmup)

        await drive(get, warmup, clients)
        await self.measure(scenario, measured, len(paths) - warmup, clients)

    def count(self, scenario: str) -> int:
        return self.config.reads[scenario] + self.config.read_warmup

    async def get_one(self, clients: int) -> None:
        rng = random.Random(f"{GET_ONE}-{clients}")
        ids = [rng.choice(self.seeded.ids) for _ in range(self.count(GET_ONE))]

        def check(i: int, body: Any) -> None:
            if body.get("id") != ids[i] or len(body["bom"]) != BOM_LINES or len(body["operations"]) != OPERATIONS:
                raise BenchError(f"GET {PRODUCTS}/{ids[i]} answered product {body.get('id')} with "
                                 f"{len(body.get('bom') or [])} lines, {len(body.get('operations') or [])} operations")

        await self.reads(GET_ONE, clients, [f"{PRODUCTS}/{i}" for i in ids], check)

    async def listing(self, clients: int) -> None:
        rng = random.Random(f"{LIST_PAGE}-{clients}")
        full_pages = len(self.seeded.ids) // PER_PAGE  # the seeded products come first (ordered by id)
        pages = [rng.randint(1, full_pages) for _ in range(self.count(LIST_PAGE))]

        def check(i: int, body: Any) -> None:
            rows = body["products"]
            if body["total"] < len(self.seeded.ids) or len(rows) != PER_PAGE or any(
                    len(p["bom"]) != BOM_LINES or len(p["operations"]) != OPERATIONS for p in rows):
                raise BenchError(f"page {pages[i]} listed {len(rows)} of {body['total']} products")

        await self.reads(LIST_PAGE, clients, [f"{PRODUCTS}?page={p}&per_page={PER_PAGE}" for p in pages], check)

    async def search(self, clients: int) -> None:
        rng = random.Random(f"{LIST_SEARCH}-{clients}")
        picks = [rng.randrange(len(self.seeded.ids)) for _ in range(self.count(LIST_SEARCH))]

        def check(i: int, body: Any) -> None:
            if body["total"] != 1 or [p["id"] for p in body["products"]] != [self.seeded.ids[picks[i]]]:
                raise BenchError(f"search {self.seeded.codes[picks[i]]} found {body['total']} products")

        await self.reads(LIST_SEARCH, clients,
                         [f"{PRODUCTS}?search={self.seeded.codes[k]}&per_page={PER_PAGE}" for k in picks], check)

    async def spc_chart(self, clients: int) -> None:
        """The chart of every seeded measurement: the same request each time (no cache anywhere answers it)."""
        spc, config = self.spc, self.config
        path = f"{SPC}?characteristic_id={spc.characteristic_id}&start_date={spc.start}&end_date={spc.end}"

        def check(_: int, body: Any) -> None:
            if (body.get("characteristic_id") != spc.characteristic_id or len(body["data_points"]) != spc.points
                    or body["capability"]["cpk"] is None):
                raise BenchError(f"the SPC chart of {spc.characteristic_id} answered "
                                 f"{len(body.get('data_points') or [])} of {spc.points} points")

        await self.reads(SPC_CHART, clients, [path] * (config.spc_warmup + config.spc_reads), check,
                         config.spc_warmup)

    def product_body(self, clients: int, i: int, rng: random.Random) -> dict[str, Any]:
        materials = rng.sample(self.materials, BOM_LINES)
        return {"product_code": f"BNEW-{self.tag}-{clients}-{i:05d}", "name": f"Bench new assembly {i}",
                "unit_of_measure": "ea",
                "bom": [{"material_id": m, "quantity_per_unit": float(Decimal(1 + (i + n) % 9) / 4)}
                        for n, m in enumerate(materials)],
                "operations": [{"sequence": 10 * (s + 1), "name": ("Cut", "Weld", "Paint", "Inspect")[s % 4],
                                "machine_id": self.machines[(i + s) % len(self.machines)] if s % 2 == 0 else None,
                                "standard_minutes_per_unit": 2 + (i + s) % 15,
                                "labor_rate_per_hour": None if s == 3 else 30}
                               for s in range(OPERATIONS)]}

    async def create(self, clients: int) -> None:
        rng = random.Random(f"{CREATE}-{clients}")
        warmup, count = self.config.create_warmup[clients], self.config.creates[clients]
        bodies = [self.product_body(clients, i, rng) for i in range(warmup + count)]

        async def post(_: int, i: int) -> None:
            body = bodies[i]
            made = await call(self.http, "POST", PRODUCTS, self.users.engineer, body, expect=201)
            if (made["product_code"] != body["product_code"] or len(made["bom"]) != BOM_LINES
                    or len(made["operations"]) != OPERATIONS or made["material_cost_per_unit"] <= 0):
                raise BenchError(f"created {made.get('product_code')}: {len(made.get('bom') or [])} lines, "
                                 f"{len(made.get('operations') or [])} operations")

        async def measured(c: int, i: int) -> None:
            await post(c, i + warmup)

        await drive(post, warmup, clients)
        await self.measure(CREATE, measured, count, clients)


# --- report ------------------------------------------------------------------------------------------------

def cpu_total(r: Result) -> float:
    return sum(cpu_ms_per_op(r).values())


def against_floor(r: Result, results: list[Result]) -> dict[str, Any]:
    """A scenario against the bare-update floor of the same client count: p50, p99 and CPU per operation."""
    floor = find(results, UPDATE_FLOOR, r.clients)
    return {"scenario": r.scenario, "clients": r.clients,
            "p50_over_update_floor": round(r.ms(0.5) / floor.ms(0.5), 2),
            "p99_over_update_floor": round(r.ms(0.99) / floor.ms(0.99), 2),
            "cpu_ms": round(cpu_total(r), 2), "floor_cpu_ms": round(cpu_total(floor), 2),
            "cpu_over_update_floor": round(cpu_total(r) / cpu_total(floor), 2),
            "api_cpu_ms": round(cpu_ms_per_op(r)["api"], 2)}


def note(r: Result, results: list[Result]) -> str:
    if r.scenario not in MEASURED_ROWS:
        return ""
    found = against_floor(r, results)
    return f"p50 {found['p50_over_update_floor']:.2f} x floor, CPU {found['cpu_over_update_floor']:.2f} x"


def table(results: list[Result]) -> list[str]:
    header = (f"{'scenario':<{WIDTH}} {'clients':>7} {'n':>5} {'p50 ms':>8} {'p95 ms':>8} {'p99 ms':>8} "
              f"{'max ms':>8} {'ops/s':>8}  against the update floor")
    lines = [header, "-" * len(header)]
    for r in results:
        lines.append(f"{r.scenario:<{WIDTH}} {r.clients:>7} {len(r.latencies_s):>5} {r.ms(0.5):>8.2f} "
                     f"{r.ms(0.95):>8.2f} {r.ms(0.99):>8.2f} {max(r.latencies_s) * 1000:>8.2f} "
                     f"{r.ops_per_s:>8.1f}  {note(r, results)}")
    return lines


def render(results: list[Result], info: dict[str, Any]) -> str:
    m, v, pg, seeded = info["machine"], info["versions"], info["postgres_settings"], info["seeded"]
    lines = ["ERP products and SPC benchmark" + (" (--quick: small counts, figures not comparable)"
                                                 if info["config"]["name"] == "quick" else ""),
             f"machine: nproc={m['nproc']} cpu=\"{m['cpu_model']}\" memory={m['memory_gib']} GiB "
             f"kernel={m['kernel']} {m['arch']}",
             "versions: " + " ".join(f"{k}={val}" for k, val in v.items()),
             f"setup: {info['products_in_db']} products in the database ({seeded['products']} seeded with "
             f"{seeded['bom_lines']} BOM lines and {seeded['operations']} operations over {seeded['materials']} "
             f"materials), one characteristic with {seeded['spc_points']:,} measurements; "
             f"PostgreSQL fsync={pg['fsync']} synchronous_commit={pg['synchronous_commit']} "
             f"({pg['wal_sync_method']}); Temporal dev server as `make run` starts it; API: "
             f"{get_settings().api_workers} uvicorn process(es); worker: 1 process; closed-loop clients", ""]
    lines += table(results)
    lines += against_floor_lines(info["against_floor"], WIDTH)
    lines += ["", "CPU ms per operation (from /proc, 10 ms ticks; 'bench' is this process: the clients, and the "
              "floors' worker; busy% = all of it / (wall x nproc))", cpu_header(WIDTH)]
    cores = m["nproc"] or 1
    lines += [cpu_row(r, cores, WIDTH) for r in results if r.cpu_s]
    return "\n".join(lines)


# --- main --------------------------------------------------------------------------------------------------

def count_products(dsn: str) -> int:
    with psycopg.connect(dsn) as conn:
        row = conn.execute("SELECT count(*) FROM parts WHERE is_product").fetchone()
        return int(row[0]) if row else 0


async def run(stack: BenchStack, config: Config) -> tuple[list[Result], dict[str, Any]]:
    async with serving(stack, USER_SPECS) as (http, logged_in):
        users = Users(*logged_in)

        progress(f"seeding {config.materials} materials, {config.products:,} products "
                 f"({BOM_LINES} lines, {OPERATIONS} operations each)")
        started = time.monotonic()
        tag = f"{int(time.time()) % 100000:05d}"
        materials = seed_materials(stack.database_url, tag, config.materials)
        machines = seed_machines(stack.dsn, tag, MACHINES)
        seeded = seed_products(stack.dsn, materials, tag, config.products, BOM_LINES, OPERATIONS, machines)
        spc = seed_spc(stack.dsn, seeded.ids[0], users.inspector.id, tag, SPC_POINTS)
        analyze(stack.dsn)
        progress(f"seeded {len(seeded.ids):,} products, {seeded.bom_lines:,} BOM lines, {seeded.operations:,} "
                 f"operations, {spc.points:,} measurements in {time.monotonic() - started:.1f} s")
        bench = MesBench(stack, http, users, stack.meter(), config, materials, seeded, spc, machines)

        progress("measuring the floors")
        await bench.floors(CLIENT_LEVELS, config.floors)
        progress(f"measuring the reads over {len(seeded.ids):,} products")
        for clients in CLIENT_LEVELS:
            await bench.get_one(clients)
        for clients in CLIENT_LEVELS:
            await bench.listing(clients)
        for clients in CLIENT_LEVELS:
            await bench.search(clients)
        progress(f"measuring the SPC chart over {spc.points:,} measurements")
        for clients in CLIENT_LEVELS:
            await bench.spc_chart(clients)
        progress("measuring product creation")
        for clients in CLIENT_LEVELS:
            await bench.create(clients)
        products_in_db = count_products(stack.dsn)

    order = [UPDATE_FLOOR, TX_FLOOR, *MEASURED_ROWS]
    results = sorted(bench.results, key=lambda r: (order.index(r.scenario), r.clients))
    info = {"machine": machine(), "versions": versions(stack.dsn), "products_in_db": products_in_db,
            "seeded": {"products": len(seeded.ids), "bom_lines": seeded.bom_lines, "operations": seeded.operations,
                       "materials": len(materials), "spc_points": spc.points},
            "against_floor": [against_floor(r, results) for r in results if r.scenario in MEASURED_ROWS],
            "postgres_settings": postgres_settings(stack.dsn),
            "config": {"name": config.name, "client_levels": list(CLIENT_LEVELS), "products": config.products,
                       "materials": config.materials, "bom_lines": BOM_LINES, "operations": OPERATIONS,
                       "per_page": PER_PAGE, "reads": config.reads, "read_warmup": config.read_warmup,
                       "creates": {str(k): v for k, v in config.creates.items()},
                       "create_warmup": {str(k): v for k, v in config.create_warmup.items()},
                       "spc_points": SPC_POINTS, "spc_reads": config.spc_reads,
                       "spc_warmup": config.spc_warmup,
                       "floor_ops": config.floors.ops, "floor_warmup": config.floors.warmup,
                       "pg_floor_ops": config.floors.pg_ops, "pg_floor_warmup": config.floors.pg_warmup,
                       "settle_s": SETTLE_S, "postgres_durability": "fsync=on synchronous_commit=on",
                       "cpu_groups": list(CPU_GROUPS)}}
    return results, info


def main(argv: list[str] | None = None) -> int:
    return run_benchmark(argv, name="mes", benchmark="erp products and spc",
                         description="The ERP products' reads and writes and the SPC chart against the floor, in one "
                                     "run.",
                         quick_help="small counts (200 products, 8 charts), for development", configs=(FULL, QUICK),
                         run=run, render=render)


if __name__ == "__main__":
    raise SystemExit(main())
