"""`make bench-equipment` (and part of `make bench`): the ERP machine status change on this machine, in one run;
`--quick` for small counts while developing.

Starts its own stack (bench/stack.py, as bench/shop_floor.py does), makes a plant and 16 machines through the API,
then measures at 1 and at 16 concurrent closed-loop clients:

1. the floors (bench/floor.py), in the same run: a bare Temporal update running one local activity that does one
   trivial PostgreSQL transaction, and that transaction alone;
2. `PUT /api/v1/machines/{id}/status`: each client on its own machine (an operator each), going round running →
   setup → running → down (mechanical failure) → maintenance → available, so a third of the changes open a
   downtime event and a third close one. A status change is a direct guarded write (the machine's row lock, the
   open downtime event closed, a new one opened, a history row, the audit row), no workflow: the worker and
   Temporal should show no CPU beside it.

Every answer is checked, and at the end each machine's history must hold exactly the changes sent. Prints the
scenario against the bare-update floor of the same client count (p50, p99, CPU of all processes), CPU per operation
per process, the machine and versions; writes the same figures as JSON to bench/results/equipment-<timestamp>.json.
Everything it started is stopped at the end, also on error.
"""

from dataclasses import dataclass
from typing import Any

import httpx
import psycopg

from bench.mes import against_floor, table
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
STATUS = "PUT /machines/{id}/status"
MEASURED_ROWS = (STATUS,)
CYCLE: tuple[dict[str, str], ...] = ({"status": "running"}, {"status": "setup"}, {"status": "running"},
                                     {"status": "down", "reason_code": "mechanical_failure"},
                                     {"status": "maintenance"}, {"status": "available"})
USER_SPECS = [("bench-supervisor", "supervisor", False), *[(f"bench-operator-{i}", "operator", False)
                                                           for i in range(max(CLIENT_LEVELS))]]


@dataclass(frozen=True)
class Config:
    name: str
    ops: dict[int, int]  # measured status changes per client level
    warmup: dict[int, int]
    floors: FloorCounts


FULL = Config("full", {1: 400, 16: 1600}, {1: 20, 16: 64}, FloorCounts())
QUICK = Config("quick", {1: 40, 16: 160}, {1: 8, 16: 32}, FloorCounts(48, 16, 200, 50))


class EquipmentBench(Bench):
    def __init__(self, stack: BenchStack, http: httpx.AsyncClient, supervisor: User, operators: list[User],
                 config: Config) -> None:
        super().__init__(stack, stack.meter())
        self.http, self.supervisor, self.operators, self.config = http, supervisor, operators, config
        self.sent: dict[int, int] = {}  # status changes sent per machine

    async def machines(self, count: int) -> list[int]:
        """A plant and `count` machines in it, each `available`."""
        plant = await call(self.http, "POST", f"{V1}/plants", self.supervisor,
                           {"code": f"BENCH-{self.tag}-{count}", "name": "Bench plant"}, expect=201)
        ids = []
        for i in range(count):
            made = await call(self.http, "POST", f"{V1}/machines", self.supervisor,
                              {"machine_code": f"BM-{self.tag}-{count}-{i:02d}", "name": f"Bench machine {i}",
                               "plant_id": plant["id"], "capacity_units_per_hour": 60}, expect=201)
            ids.append(made["id"])
        return ids

    async def status_changes(self, clients: int) -> None:
        machines = await self.machines(clients)
        turn = [0] * clients
        self.sent.update({machine_id: 0 for machine_id in machines})

        async def op(c: int, _: int) -> None:
            body = CYCLE[turn[c] % len(CYCLE)]
            answer = await call(self.http, "PUT", f"{V1}/machines/{machines[c]}/status", self.operators[c], body)
            turn[c] += 1
            self.sent[machines[c]] += 1
            down = body["status"] in ("down", "maintenance")
            if answer["status"] != body["status"] or (answer["downtime_started_at"] is not None) != down:
                raise BenchError(f"machine {machines[c]} set {body} answered {answer}")

        await self.measure(STATUS, op, self.config.ops[clients], clients, self.config.warmup[clients])

    def check_histories(self) -> None:
        """Each machine's history: its creation and every change sent, nothing lost, nothing twice."""
        with psycopg.connect(self.stack.dsn) as conn:
            rows = conn.execute("SELECT machine_id, count(*) FROM machine_status_changes WHERE machine_id = ANY(%s) "
                                "GROUP BY machine_id", (list(self.sent),)).fetchall()
        found = {machine_id: count for machine_id, count in rows}
        wrong = {m: (found.get(m), sent + 1) for m, sent in self.sent.items() if found.get(m) != sent + 1}
        if wrong:
            raise BenchError(f"machine histories (found, expected): {wrong}")


def render(results: list[Result], info: dict[str, Any]) -> str:
    m, v, pg = info["machine"], info["versions"], info["postgres_settings"]
    lines = ["ERP equipment benchmark" + (" (--quick: small counts, figures not comparable)"
                                          if info["config"]["name"] == "quick" else ""),
             f"machine: nproc={m['nproc']} cpu=\"{m['cpu_model']}\" memory={m['memory_gib']} GiB "
             f"kernel={m['kernel']} {m['arch']}",
             "versions: " + " ".join(f"{k}={val}" for k, val in v.items()),
             f"PostgreSQL fsync={pg['fsync']} synchronous_commit={pg['synchronous_commit']}; Temporal dev server as "
             f"`make run` starts it; API: {get_settings().api_workers} uvicorn process(es); worker: 1 process; "
             "closed-loop clients, each on its own machine", ""]
    lines += table(results)
    lines += against_floor_lines(info["against_floor"], 40)
    lines += ["", "CPU ms per operation (from /proc, 10 ms ticks)", cpu_header(40)]
    lines += [cpu_row(r, m["nproc"] or 1, 40) for r in results if r.cpu_s]
    return "\n".join(lines)


async def run(stack: BenchStack, config: Config) -> tuple[list[Result], dict[str, Any]]:
    async with serving(stack, USER_SPECS) as (http, logged_in):
        bench = EquipmentBench(stack, http, logged_in[0], logged_in[1:], config)
        progress("measuring the floors")
        await bench.floors(CLIENT_LEVELS, config.floors)
        for clients in CLIENT_LEVELS:
            await bench.status_changes(clients)
        bench.check_histories()

    order = [UPDATE_FLOOR, TX_FLOOR, *MEASURED_ROWS]
    results = sorted(bench.results, key=lambda r: (order.index(r.scenario), r.clients))
    info = {"machine": machine(), "versions": versions(stack.dsn), "postgres_settings": postgres_settings(stack.dsn),
            "against_floor": [against_floor(r, results) for r in results if r.scenario in MEASURED_ROWS],
            "config": {"name": config.name, "client_levels": list(CLIENT_LEVELS), "ops": config.ops,
                       "warmup": {str(k): v for k, v in config.warmup.items()}, "cycle": list(CYCLE),
                       "cpu_groups": list(CPU_GROUPS)}}
    return results, info


def main(argv: list[str] | None = None) -> int:
    return run_benchmark(argv, name="equipment", benchmark="erp equipment",
                         description="The ERP machine status change against the floor, in one run.",
                         quick_help="small counts, for development", configs=(FULL, QUICK), run=run, render=render)


if __name__ == "__main__":
    raise SystemExit(main())
