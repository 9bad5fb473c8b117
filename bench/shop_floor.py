"""`make bench-shop-floor` (and part of `make bench`): the ERP shop floor's writes on this machine, in one run;
`--quick` for small counts while developing.

Starts its own stack (bench/stack.py, as bench/mes.py does), seeds 20 products through SQL (bench/mes_seed.py),
then measures at 1 and at 16 concurrent closed-loop clients, each client on its own records:

1. the floors (bench/floor.py), in the same run: a bare Temporal update running one local activity that does
   one trivial PostgreSQL transaction, and that transaction alone;
2. `POST /api/v1/work-orders`: a new work order (update-with-start of its lifecycle `work-order-{id}`: the
   start costs about five updates, once per work order);
3. `POST /api/v1/production-logs`: one unit on a work order in progress (a guarded direct write under the work
   order's row lock, then a signal to its lifecycle); the 16 clients log on 4 work orders, 4 operators each,
   so the row lock is contended as on a real line;
4. `POST /api/v1/workflows/work_order/{id}/transition/{hold|resume}` alternately: one update of the lifecycle
   with one local activity each (the §6.4 endpoint);
5. `POST /api/v1/workflows/ncr_report/{id}/transition/review` on NCRs raised for it (one update each; the
   assignee check, the next assignee's choice, history and audit in its one transaction);
6. `POST /api/v1/workflows/pm_work_order/{id}/transition/assign` (a supervisor hands each client's PM work order
   between two technicians: one update each);
7. `GET /api/v1/pm-schedules?machine_id=` a page of the machine's 50 PM schedules, each with its due date and
   status computed.

Every answer is checked. Prints each scenario against the bare-update floor of the same client count (p50, p99,
CPU of all processes), CPU per operation per process, the machine and versions; writes the same figures as JSON
to bench/results/shop-floor-<timestamp>.json. Everything it started is stopped at the end, also on error.
"""

import time
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

import httpx

from bench.mes import against_floor, table
from bench.mes_seed import seed_machines, seed_materials, seed_products
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
from core.settings import get_settings

V1 = "/api/v1"
CLIENT_LEVELS = (1, 16)
LINES = 4  # work orders the production-log clients share at 16 clients (4 operators on each)
CREATE = "POST /work-orders (lifecycle start)"
LOG = "POST /production-logs (1 unit)"
MOVE = "work_order transition hold|resume"
NCR = "ncr_report transition review"
PM = "pm_work_order transition assign"
PM_LIST = "GET /pm-schedules (page of 50)"
MEASURED_ROWS = (CREATE, LOG, MOVE, NCR, PM, PM_LIST)
PM_SCHEDULES = 50
USER_SPECS = [("bench-supervisor", "supervisor", False), ("bench-admin", "admin", False),
              *[(f"bench-operator-{i}", "operator", False) for i in range(16)],
              ("bench-technician-0", "maintenance", False), ("bench-technician-1", "maintenance", False)]


@dataclass(frozen=True)
class Config:
    name: str
    ops: dict[str, dict[int, int]]  # measured operations per scenario and client level
    warmup: dict[int, int]
    floors: FloorCounts


FULL = Config("full", {CREATE: {1: 100, 16: 240}, LOG: {1: 300, 16: 800}, MOVE: {1: 200, 16: 480},
                       NCR: {1: 100, 16: 240}, PM: {1: 200, 16: 480}, PM_LIST: {1: 100, 16: 240}},
              {1: 10, 16: 32}, FloorCounts())
QUICK = Config("quick", {CREATE: {1: 16, 16: 32}, LOG: {1: 32, 16: 64}, MOVE: {1: 16, 16: 32},
                         NCR: {1: 16, 16: 32}, PM: {1: 16, 16: 32}, PM_LIST: {1: 16, 16: 32}},
               {1: 4, 16: 16}, FloorCounts(48, 16, 200, 50))


@dataclass
class Users:
    supervisor: User
    admin: User
    operators: list[User]
    technicians: list[User]


class ShopFloorBench(Bench):
    def __init__(self, stack: BenchStack, http: httpx.AsyncClient, users: Users, config: Config,
                 products: list[int]) -> None:
        super().__init__(stack, stack.meter())
        self.http, self.users, self.config, self.products = http, users, config, products

    def total(self, scenario: str, clients: int) -> int:
        return self.config.ops[scenario][clients] + self.config.warmup[clients]

    async def new_work_order(self, i: int, quantity: int = 1_000_000) -> dict[str, Any]:
        body = {"product_id": self.products[i % len(self.products)], "quantity_ordered": quantity,
                "priority": "normal"}
        made = await call(self.http, "POST", f"{V1}/work-orders", self.users.supervisor, body, expect=201)
        if made["status"] != "planned" or made["quantity_ordered"] != quantity:
            raise BenchError(f"work order created as {made.get('status')}")
        return made

    async def started_work_orders(self, count: int) -> list[int]:
        ids = []
        for i in range(count):
            order = await self.new_work_order(i)
            await call(self.http, "POST", f"{V1}/work-orders/{order['id']}/start", self.users.supervisor)
            ids.append(order["id"])
        return ids

    async def run_scenario(self, scenario: str, clients: int, op: Any) -> None:
        warmup = self.config.warmup[clients]
        await self.measure(scenario, op, self.config.ops[scenario][clients], clients, warmup)

    async def create(self, clients: int) -> None:
        async def op(_: int, i: int) -> None:
            await self.new_work_order(i)

        await self.run_scenario(CREATE, clients, op)

    async def log(self, clients: int) -> None:
        lines = await self.started_work_orders(min(clients, LINES))
        logged = {line: 0 for line in lines}

        async def op(c: int, _: int) -> None:
            line = lines[c % len(lines)]
            answer = await call(self.http, "POST", f"{V1}/production-logs", self.users.operators[c],
                                {"work_order_id": line, "quantity_completed": 1, "hours_worked": 0.05}, expect=201)
            logged[line] += 1
            if answer["cumulative_completed"] < 1 or answer["material_cost_added"] <= 0:
                raise BenchError(f"log on {line} answered {answer}")

        await self.run_scenario(LOG, clients, op)
        for line, count in logged.items():
            shown = await call(self.http, "GET", f"{V1}/work-orders/{line}", self.users.supervisor)
            if shown["quantity_completed"] != count:
                raise BenchError(f"work order {line}: {count} units logged, {shown['quantity_completed']} counted")

    async def move(self, clients: int) -> None:
        orders = await self.started_work_orders(clients)
        held = [False] * clients

        async def op(c: int, _: int) -> None:
            code = "resume" if held[c] else "hold"
            answer = await call(self.http, "POST", f"{V1}/workflows/work_order/{orders[c]}/transition/{code}",
                                self.users.supervisor, {"comment": "bench"})
            held[c] = not held[c]
            if answer["current_state"] != ("on_hold" if held[c] else "in_progress"):
                raise BenchError(f"{code} of {orders[c]} answered {answer}")

        await self.run_scenario(MOVE, clients, op)

    async def pm_schedules(self, machine_id: int) -> list[int]:
        """PM_SCHEDULES schedules of the machine (each with its Temporal Schedule), made through the API."""
        ids = []
        for i in range(PM_SCHEDULES):
            made = await call(self.http, "POST", f"{V1}/pm-schedules", self.users.supervisor, {
                "machine_id": machine_id, "pm_type": f"bench-{i}", "frequency_type": "calendar",
                "frequency_value": 30 + i, "frequency_unit": "days", "lead_time_days": 7,
                "assigned_technician_id": self.users.technicians[0].id,
                "checklist": ["Check oil", "Lubricate", "Inspect belts"]}, expect=201)
            ids.append(made["id"])
        return ids

    async def pm_assign(self, clients: int, schedule_id: int) -> None:
        """Each client reassigns its own PM work order between the two technicians (a supervisor's `assign`)."""
        start = date(2030, 1, 1) + timedelta(days=clients * 100)
        orders = [(await call(self.http, "POST", f"{V1}/pm-work-orders", self.users.supervisor, {
            "pm_schedule_id": schedule_id, "scheduled_date": str(start + timedelta(days=c))}, expect=201))["id"]
            for c in range(clients)]
        turn = [1] * clients

        async def op(c: int, _: int) -> None:
            technician = self.users.technicians[turn[c]]
            answer = await call(self.http, "POST", f"{V1}/workflows/pm_work_order/{orders[c]}/transition/assign",
                                self.users.supervisor, {"assignee_id": technician.id})
            turn[c] = 1 - turn[c]
            if answer["current_assignee"]["id"] != technician.id:
                raise BenchError(f"assign of PM work order {orders[c]} answered {answer}")

        await self.run_scenario(PM, clients, op)

    async def pm_list(self, clients: int, machine_id: int) -> None:
        async def op(_: int, __: int) -> None:
            page = await call(self.http, "GET", f"{V1}/pm-schedules?machine_id={machine_id}&per_page=50",
                              self.users.operators[0])
            if len(page["pm_schedules"]) != PM_SCHEDULES:
                raise BenchError(f"the PM schedules page listed {len(page['pm_schedules'])}")

        await self.run_scenario(PM_LIST, clients, op)

    async def ncr(self, clients: int) -> None:
        count = self.total(NCR, clients)
        types = await call(self.http, "GET", f"{V1}/ncr-types", self.users.admin)
        type_id = types["ncr_types"][0]["id"]
        ncrs = []
        for i in range(count):
            response = await self.http.post(f"{V1}/ncr-reports", headers=self.users.admin.headers,
                                            data={"ncr_type_id": str(type_id), "severity": "minor",
                                                  "description": f"bench finding {i}"})
            if response.status_code != 201:
                raise BenchError(f"POST /ncr-reports answered {response.status_code}: {response.text[:300]}")
            ncrs.append(response.json()["id"])
        waiting = iter(ncrs)  # each review takes the next NCR, whichever client runs it

        async def op(_: int, __: int) -> None:
            ncr_id = next(waiting)
            answer = await call(self.http, "POST", f"{V1}/workflows/ncr_report/{ncr_id}/transition/review",
                                self.users.admin, {"comment": "bench review"})
            if (answer["previous_state"], answer["current_state"]) != ("submitted", "under_review"):
                raise BenchError(f"review of NCR {ncr_id} answered {answer}")

        await self.run_scenario(NCR, clients, op)


def render(results: list[Result], info: dict[str, Any]) -> str:
    m, v, pg = info["machine"], info["versions"], info["postgres_settings"]
    lines = ["ERP shop-floor benchmark" + (" (--quick: small counts, figures not comparable)"
                                           if info["config"]["name"] == "quick" else ""),
             f"machine: nproc={m['nproc']} cpu=\"{m['cpu_model']}\" memory={m['memory_gib']} GiB "
             f"kernel={m['kernel']} {m['arch']}",
             "versions: " + " ".join(f"{k}={val}" for k, val in v.items()),
             f"PostgreSQL fsync={pg['fsync']} synchronous_commit={pg['synchronous_commit']}; Temporal dev server as "
             f"`make run` starts it; API: {get_settings().api_workers} uvicorn process(es); worker: 1 process; "
             "closed-loop clients", ""]
    lines += table(results)
    lines += against_floor_lines(info["against_floor"], 40)
    lines += ["", "CPU ms per operation (from /proc, 10 ms ticks)", cpu_header(40)]
    lines += [cpu_row(r, m["nproc"] or 1, 40) for r in results if r.cpu_s]
    return "\n".join(lines)


async def run(stack: BenchStack, config: Config) -> tuple[list[Result], dict[str, Any]]:
    async with serving(stack, USER_SPECS) as (http, logged_in):
        users = Users(logged_in[0], logged_in[1], logged_in[2:18], logged_in[18:])
        tag = f"{int(time.time()) % 100000:05d}"
        materials = seed_materials(stack.database_url, tag, 500)
        machines = seed_machines(stack.dsn, tag, 4)
        products = seed_products(stack.dsn, materials, tag, 20, 5, 4, machines).ids
        analyze(stack.dsn)
        bench = ShopFloorBench(stack, http, users, config, products)
        progress("measuring the floors")
        await bench.floors(CLIENT_LEVELS, config.floors)
        machine_id = machines[0]
        for scenario in (bench.create, bench.log, bench.move, bench.ncr):
            for clients in CLIENT_LEVELS:
                await scenario(clients)
        schedules = await bench.pm_schedules(machine_id)
        for clients in CLIENT_LEVELS:
            await bench.pm_assign(clients, schedules[0])
        for clients in CLIENT_LEVELS:
            await bench.pm_list(clients, machine_id)

    order = [UPDATE_FLOOR, TX_FLOOR, *MEASURED_ROWS]
    results = sorted(bench.results, key=lambda r: (order.index(r.scenario), r.clients))
    info = {"machine": machine(), "versions": versions(stack.dsn), "postgres_settings": postgres_settings(stack.dsn),
            "against_floor": [against_floor(r, results) for r in results if r.scenario in MEASURED_ROWS],
            "config": {"name": config.name, "client_levels": list(CLIENT_LEVELS), "ops": config.ops,
                       "warmup": {str(k): v for k, v in config.warmup.items()}, "lines": LINES,
                       "cpu_groups": list(CPU_GROUPS)}}
    return results, info


def main(argv: list[str] | None = None) -> int:
    return run_benchmark(argv, name="shop-floor", benchmark="erp shop floor",
                         description="The ERP shop floor's writes against the floor, in one run.",
                         quick_help="small counts, for development", configs=(FULL, QUICK), run=run, render=render)


if __name__ == "__main__":
    raise SystemExit(main())
