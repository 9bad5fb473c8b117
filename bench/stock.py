"""`make bench-stock` (and the third part of `make bench`): the stock contract's SLA operations (`/api`) on a
realistic dataset, in one run; `--quick` for small counts while developing.

Starts its own stack on free ports in a temporary folder (bench/stack.py: PostgreSQL with its default
durability, the Temporal dev server as `make run` starts it, migrations, the worker and the API as
subprocesses, the API with `RATE_LIMIT_PER_MINUTE=0`: the contract's 60 requests a minute per session would
throttle the clients), seeds 50 locations × 2,000 items with a year of movements (bench/stock_seed.py: twelve
monthly periods, the first eleven CLOSED with their closing snapshots, the last OPEN; posted deliveries,
issues and completed transfers as documents and ledger rows, the ledger consistent with the stock rows),
then measures each operation of the contract's SLA table through the HTTP API at 1 and at 16 concurrent
closed-loop clients, every request timed on its own:

- GET single record: a delivery, an issue, a transfer, an item;
- GET list (paginated, `?page=&limit=50`, any page): a location's deliveries, a location's issues, items,
  items with a location's stock, transfers;
- POST delivery / issue: a POSTED delivery of 10 lines at the period's prices (stock and WAC move, no
  variance), an issue of 8 lines;
- transfer execution: `PATCH /api/transfers/{id}/approve` by a SUPERVISOR (the stock moves in the decision's
  transaction), of transfers an ADMIN requested just before (the request is timed too, as a row of its own);
- location stock report: the stock-now report of one location (all its items), the location dashboard;
- consolidated reports: the consolidated stock (a page of items across every location), the consolidated
  dashboard, the consolidated reconciliation of the open period, the reconciliation report of the last
  closed period;

and, last, the close of the open period: every location marked READY, `POST /api/periods/{id}/close` (an
ADMIN), its approval by a second ADMIN, until `GET /api/periods/{id}` shows CLOSED (the snapshot of every
location and item runs in chunks in the worker).

Targets (issue 4): ten times inside the contract's SLAs, at p99 with 16 clients. Prints a table with the
targets and verdicts, the CPU each process spent per operation, the period close, the machine and the versions;
writes the same figures (and the API's own per-route timings, `GET /api/metrics/performance`) as JSON to
bench/results/stock-<timestamp>.json. Everything it started is stopped at the end, also on error (the temporary
folder with the logs is kept on error).
"""

import argparse
import asyncio
import json
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import psycopg

from bench.stack import (
    RESULTS_DIR,
    SETTLE_S,
    Bench,
    BenchError,
    BenchStack,
    CpuMeter,
    Op,
    Result,
    User,
    connect_temporal,
    cpu_header,
    cpu_row,
    drive,
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
from bench.stock_seed import (
    FULL_SIZE,
    QUICK_SIZE,
    Ref,
    Seeded,
    Size,
    seed_master_data,
    seed_year,
    vacuum_analyze,
    verify_ledger,
)
from core.settings import get_settings

CLIENT_LEVELS = (1, 16)
LIMIT = 50                 # rows per page of every list
WIDTH = 46                 # of the scenario column
CLOSE_TIMEOUT_S = 900.0    # the period close must end within it
CLOSE_POLL_S = 0.25
# The API's settings for the run: no rate limit (one session drives many clients), tokens that outlive it.
API_ENV = {"RATE_LIMIT_PER_MINUTE": "0", "ACCESS_TOKEN_SECONDS": "14400"}
USER_SPECS = [("bench-admin", "admin", False), ("bench-supervisor", "supervisor", False),
              ("bench-admin2", "admin", False)]


@dataclass(frozen=True)
class Config:
    name: str
    size: Size
    light: dict[int, int]    # requests per GET single / list scenario, by client level
    posts: dict[int, int]    # POSTs per scenario (and transfers requested, then approved)
    reports: dict[int, int]  # requests per report scenario
    warmup: dict[int, int]   # requests before each measured scenario


FULL = Config("full", FULL_SIZE, {1: 100, 16: 400}, {1: 60, 16: 320}, {1: 30, 16: 128}, {1: 5, 16: 32})
QUICK = Config("quick", QUICK_SIZE, {1: 20, 16: 64}, {1: 10, 16: 48}, {1: 6, 16: 32}, {1: 2, 16: 16})


@dataclass(frozen=True)
class Group:
    """An operation of the contract's SLA table: the benchmark's p99 target at 16 clients (ten times inside
    the contract's SLA) and the contract's."""
    label: str
    p99_ms: float | None
    sla_ms: float | None


SINGLE = Group("GET single record", 20, 200)
LIST = Group("GET list (paginated)", 50, 500)
POST = Group("POST delivery / issue", 100, 1000)
TRANSFER = Group("transfer execution", 300, 1500)
LOCATION = Group("location stock report", 200, 2000)
CONSOLIDATED = Group("consolidated reports", 500, 5000)
UNTARGETED = Group("not in the SLA table", None, None)
GROUPS = (SINGLE, LIST, POST, TRANSFER, LOCATION, CONSOLIDATED, UNTARGETED)

Check = Callable[[httpx.Response], str | None]  # a problem with the answer, or None


@dataclass(frozen=True)
class Call:
    method: str
    path: str
    user: User
    body: Any = None
    check: Check | None = None
    idempotency_key: str | None = None


@dataclass
class Users:
    admin: User       # requests, posts, reads, asks for the period close
    supervisor: User  # approves transfers (the requester may not)
    admin2: User      # approves the period close (the requesting ADMIN may not)


def json_check(test: Callable[[Any], str | None]) -> Check:
    def check(response: httpx.Response) -> str | None:
        return test(response.json())

    return check


def same_id(uid: str) -> Check:
    return json_check(lambda body: None if body.get("id") == uid else f"answered id {body.get('id')!r}")


def listed(key: str | None) -> Check:
    """A non-empty page with `X-Total-Count`."""
    def check(response: httpx.Response) -> str | None:
        if not response.headers.get("x-total-count", "").isdigit():
            return "no X-Total-Count"
        body = response.json()
        rows = body if key is None else body.get(key)
        return None if rows else "an empty page"

    return check


def contains(marker: bytes) -> Check:
    """A large body (thousands of rows): checked without parsing it, so the clients' CPU stays small."""
    return lambda response: None if marker in response.content[:400] else f"no {marker!r} at its start"


class WaitSampler:
    """What PostgreSQL's busy backends are doing, sampled from pg_stat_activity every WAIT_SAMPLE_S while a
    scenario runs: running (on CPU or in the client protocol) or waiting, and on what (a row lock behind
    another transaction, the WAL flush of a commit, ...). Shows where concurrent requests queue."""

    def __init__(self, dsn: str, delay: float) -> None:
        self.dsn, self.delay = dsn, delay  # the delay skips Bench.measure's settling pause
        self.samples = 0
        self.counts: dict[str, int] = {}
        self.stopped = asyncio.Event()

    async def run(self) -> None:
        async with await psycopg.AsyncConnection.connect(self.dsn, autocommit=True) as conn:
            await asyncio.sleep(self.delay)
            while not self.stopped.is_set():
                rows = await (await conn.execute(WAITS_SQL)).fetchall()
                self.samples += 1
                for (state,) in rows:
                    self.counts[str(state)] = self.counts.get(str(state), 0) + 1
                try:
                    await asyncio.wait_for(self.stopped.wait(), WAIT_SAMPLE_S)
                except TimeoutError:
                    pass

    def summary(self) -> dict[str, Any]:
        busy = sum(self.counts.values())
        ranked = sorted(self.counts.items(), key=lambda kv: -kv[1])
        return {"samples": self.samples, "mean_active": round(busy / self.samples, 2) if self.samples else 0.0,
                "share": {state: round(n / busy, 3) for state, n in ranked} if busy else {}}


WAIT_SAMPLE_S = 0.05
# A backend 'idle in transaction' waits for the API (Python) between two statements of its request; a lock
# wait shows the start of the statement that waits (which row it queues for).
WAITS_SQL = """
    SELECT CASE WHEN state LIKE 'idle in transaction%' THEN 'in transaction, waiting for the API'
                ELSE coalesce(wait_event_type || ':' || wait_event, 'running') END
           || CASE WHEN wait_event_type = 'Lock'
                   THEN ' (' || left(regexp_replace(query, '\\s+', ' ', 'g'), 45) || '...)' ELSE '' END
    FROM pg_stat_activity
    WHERE state <> 'idle' AND backend_type = 'client backend' AND pid <> pg_backend_pid()
"""


class StockBench(Bench):
    def __init__(self, stack: BenchStack, http: httpx.AsyncClient, users: Users, config: Config,
                 seeded: Seeded) -> None:
        super().__init__(stack, stack.meter())
        self.http, self.users, self.config, self.seeded = http, users, config, seeded
        self.groups: dict[str, Group] = {}
        self.waits: dict[tuple[str, int], dict[str, Any]] = {}
        self.today = datetime.now(UTC).date().isoformat()
        self.locations = seeded.master.locations
        self.items = seeded.master.items

    # sending and measuring

    async def send(self, call: Call) -> httpx.Response:
        headers = call.user.headers if call.idempotency_key is None else {
            **call.user.headers, "Idempotency-Key": call.idempotency_key}
        response = await self.http.request(call.method, call.path, headers=headers, json=call.body)
        if response.status_code != 200:
            raise BenchError(f"{call.method} {call.path} answered {response.status_code}: {response.text[:400]}")
        problem = call.check(response) if call.check else None
        if problem:
            raise BenchError(f"{call.method} {call.path}: {problem}")
        return response

    async def measure(self, scenario: str, op: Op, count: int, clients: int, warmup: int = 0,
                      keep: bool = True) -> Result:
        """Bench.measure, with PostgreSQL's backends sampled meanwhile (WaitSampler)."""
        sampler = WaitSampler(self.stack.dsn, SETTLE_S)
        task = asyncio.create_task(sampler.run())
        try:
            return await super().measure(scenario, op, count, clients, warmup, keep)
        finally:
            sampler.stopped.set()
            await task
            self.waits[(scenario, clients)] = sampler.summary()

    async def run_calls(self, scenario: str, group: Group, calls: list[Call], clients: int, warmup: int) -> Result:
        """The first `warmup` calls unmeasured, then the others measured (none is sent twice)."""
        async def warm(_: int, i: int) -> None:
            await self.send(calls[i])

        async def measured(_: int, i: int) -> None:
            await self.send(calls[warmup + i])

        await drive(warm, warmup, clients)
        self.groups[scenario] = group
        return await self.measure(scenario, measured, len(calls) - warmup, clients)

    def count(self, kind: dict[int, int], clients: int) -> int:
        return kind[clients] + self.config.warmup[clients]

    # the calls of each scenario

    def rng(self, scenario: str, clients: int) -> random.Random:
        return random.Random(f"{scenario}-{clients}-{self.tag}")

    def singles(self) -> list[tuple[str, Callable[[random.Random, int], list[Call]]]]:
        admin, seeded = self.users.admin, self.seeded

        def one(path: str, uids: list[str]) -> Callable[[random.Random, int], list[Call]]:
            def build(rng: random.Random, n: int) -> list[Call]:
                picked = [rng.choice(uids) for _ in range(n)]
                return [Call("GET", path.format(uid), admin, check=same_id(uid)) for uid in picked]

            return build

        return [("GET /api/deliveries/{id}", one("/api/deliveries/{}", seeded.deliveries)),
                ("GET /api/issues/{id}", one("/api/issues/{}", seeded.issues)),
                ("GET /api/transfers/{id}", one("/api/transfers/{}", seeded.transfers)),
                ("GET /api/items/{id}", one("/api/items/{}", [item.uid for item in self.items]))]

    def lists(self) -> list[tuple[str, Callable[[random.Random, int], list[Call]]]]:
        admin, seeded = self.users.admin, self.seeded

        def pages(total: int) -> int:
            return max(1, -(-total // LIMIT))

        def of_location(kind: str) -> Callable[[random.Random, int], list[Call]]:
            def build(rng: random.Random, n: int) -> list[Call]:
                calls = []
                for _ in range(n):
                    location = rng.choice(self.locations)
                    page = rng.randint(1, pages(seeded.per_location[kind].get(location.id, 1)))
                    calls.append(Call("GET", f"/api/locations/{location.uid}/{kind}?page={page}&limit={LIMIT}", admin,
                                      check=listed(kind)))
                return calls

            return build

        def items(with_stock: bool) -> Callable[[random.Random, int], list[Call]]:
            def build(rng: random.Random, n: int) -> list[Call]:
                return [Call("GET", f"/api/items?page={rng.randint(1, pages(len(self.items)))}&limit={LIMIT}"
                             + (f"&locationId={rng.choice(self.locations).uid}" if with_stock else ""), admin,
                             check=listed(None)) for _ in range(n)]

            return build

        def transfers(rng: random.Random, n: int) -> list[Call]:
            return [Call("GET", f"/api/transfers?page={rng.randint(1, pages(len(seeded.transfers)))}&limit={LIMIT}",
                         admin, check=listed("transfers")) for _ in range(n)]

        return [("GET /api/locations/{id}/deliveries (page)", of_location("deliveries")),
                ("GET /api/locations/{id}/issues (page)", of_location("issues")),
                ("GET /api/items (page)", items(False)),
                ("GET /api/items?locationId= (page, with stock)", items(True)),
                ("GET /api/transfers (page)", transfers)]

    def ample_items(self, rng: random.Random, location: Ref, n: int) -> list[Ref]:
        """`n` items the location holds plenty of (the bench's issues and transfers never run short)."""
        return [self.items[i] for i in rng.sample(self.seeded.ample[location.id], n)]

    def posts(self) -> list[tuple[str, Callable[[random.Random, int], list[Call]]]]:
        admin, seeded = self.users.admin, self.seeded

        def delivered(body: Any) -> str | None:
            delivery = body.get("delivery", {})
            if delivery.get("status") != "POSTED" or delivery.get("has_variance") or body.get("ncrs"):
                return f"delivery {delivery.get('status')}, variance {delivery.get('has_variance')}"
            return None

        def deliveries(rng: random.Random, n: int) -> list[Call]:
            calls = []
            for i in range(n):
                location = rng.choice(self.locations)
                lines = [{"item_id": item.uid, "quantity": rng.randint(5, 20),
                          "unit_price": float(seeded.prices[item.id])} for item in rng.sample(self.items, 10)]
                body = {"supplier_id": rng.choice(seeded.master.suppliers).uid,
                        "invoice_no": f"BINV-{self.tag}-{rng.random():.12f}-{i}", "delivery_note": f"DN-B-{i}",
                        "delivery_date": self.today, "status": "POSTED", "lines": lines}
                calls.append(Call("POST", f"/api/locations/{location.uid}/deliveries", admin, body,
                                  json_check(delivered)))
            return calls

        def issued(body: Any) -> str | None:
            return None if body.get("issue", {}).get("issue_no") and len(body.get("lines", [])) == 8 else \
                "no issue with 8 lines"

        def issues(rng: random.Random, n: int) -> list[Call]:
            calls = []
            for _ in range(n):
                location = rng.choice(self.locations)
                lines = [{"item_id": item.uid, "quantity": 1.5} for item in self.ample_items(rng, location, 8)]
                body = {"issue_date": self.today, "cost_centre": rng.choice(("FOOD", "BEVERAGE")), "lines": lines}
                calls.append(Call("POST", f"/api/locations/{location.uid}/issues", admin, body, json_check(issued)))
            return calls

        def keyed_issues(rng: random.Random, n: int) -> list[Call]:
            """The same issues sent with an `Idempotency-Key` (api/middleware/idempotency.py: two statements more)."""
            return [replace(call, idempotency_key=f"bench-{rng.getrandbits(64):x}") for call in issues(rng, n)]

        return [("POST delivery (POSTED, 10 lines)", deliveries), ("POST issue (8 lines)", issues),
                ("POST issue (8 lines, Idempotency-Key)", keyed_issues)]

    def reports(self) -> list[tuple[str, Group, Callable[[random.Random, int], list[Call]]]]:
        admin, seeded = self.users.admin, self.seeded
        n_locations, n_items = len(self.locations), len(self.items)
        closed = seeded.last_closed or seeded.open_period

        def per_location(path: str, check: Check) -> Callable[[random.Random, int], list[Call]]:
            def build(rng: random.Random, n: int) -> list[Call]:
                return [Call("GET", path.format(rng.choice(self.locations).uid), admin, check=check)
                        for _ in range(n)]

            return build

        def same(path: str, check: Check) -> Callable[[random.Random, int], list[Call]]:
            return lambda rng, n: [Call("GET", path, admin, check=check) for _ in range(n)]

        def consolidated_stock(rng: random.Random, n: int) -> list[Call]:
            return [Call("GET", f"/api/stock/consolidated?page={rng.randint(1, -(-n_items // LIMIT))}&limit={LIMIT}",
                         admin, check=json_check(lambda b: None if b["total_items"] == n_items and
                                                 b["consolidated_stock"] else f"{b['total_items']} items"))
                    for _ in range(n)]

        def all_locations(key: str) -> Check:
            return json_check(lambda b: None if len(b[key]) == n_locations else f"{len(b[key])} locations")

        return [
            ("GET /api/reports/stock-now?locationId=", LOCATION,
             per_location("/api/reports/stock-now?locationId={}", contains(b"stock-now"))),
            ("GET /api/locations/{id}/dashboard", LOCATION,
             per_location("/api/locations/{}/dashboard",
                          json_check(lambda b: None if b["location"] else "no location"))),
            ("GET /api/stock/consolidated (page)", CONSOLIDATED, consolidated_stock),
            ("GET /api/dashboard/consolidated", CONSOLIDATED, same("/api/dashboard/consolidated",
                                                                  all_locations("locations"))),
            ("GET /api/reconciliations/consolidated (open)", CONSOLIDATED,
             same(f"/api/reconciliations/consolidated?periodId={seeded.open_period.uid}",
                  all_locations("reconciliations"))),
            ("GET /api/reports/reconciliation (closed)", CONSOLIDATED,
             same(f"/api/reports/reconciliation?periodId={closed.uid}", all_locations("rows"))),
        ]

    # scenarios

    async def scenario(self, name: str, group: Group, build: Callable[[random.Random, int], list[Call]],
                       kind: dict[int, int]) -> None:
        for clients in CLIENT_LEVELS:
            calls = build(self.rng(name, clients), self.count(kind, clients))
            await self.run_calls(name, group, calls, clients, self.config.warmup[clients])

    async def transfers(self, clients: int) -> None:
        """Transfers requested (timed, a row of its own), then each approved once (transfer execution)."""
        rng = self.rng("transfers", clients)
        created: list[str] = []

        def pending(body: Any) -> str | None:
            transfer = body.get("transfer", {})
            created.append(transfer.get("id"))
            return None if transfer.get("status") == "PENDING_APPROVAL" else f"status {transfer.get('status')}"

        requests = []
        for _ in range(self.count(self.config.posts, clients)):
            source = rng.choice(self.locations)
            destination = rng.choice([loc for loc in self.locations if loc.id != source.id])
            body = {"from_location_id": source.uid, "to_location_id": destination.uid, "request_date": self.today,
                    "notes": "bench rebalancing", "lines": [{"item_id": item.uid, "quantity": 1}
                                                            for item in self.ample_items(rng, source, 5)]}
            requests.append(Call("POST", "/api/transfers", self.users.admin, body, json_check(pending)))
        await self.run_calls("POST /api/transfers (request, 5 lines)", UNTARGETED, requests, clients,
                             self.config.warmup[clients])

        def completed(body: Any) -> str | None:
            return None if body.get("status") == "COMPLETED" else f"status {body.get('status')}"

        approvals = [Call("PATCH", f"/api/transfers/{uid}/approve", self.users.supervisor, {"comments": "bench"},
                          json_check(completed)) for uid in created]
        await self.run_calls("PATCH /api/transfers/{id}/approve (moves)", TRANSFER, approvals, clients,
                             self.config.warmup[clients])

    async def all_scenarios(self) -> None:
        for name, build in self.singles():
            await self.scenario(name, SINGLE, build, self.config.light)
        for name, build in self.lists():
            await self.scenario(name, LIST, build, self.config.light)
        for name, build in self.posts():
            await self.scenario(name, POST, build, self.config.posts)
        for clients in CLIENT_LEVELS:
            await self.transfers(clients)
        for name, group, build in self.reports():
            await self.scenario(name, group, build, self.config.reports)

    # the period close

    async def close_period(self) -> dict[str, Any]:
        period, admin = self.seeded.open_period, self.users.admin
        progress(f"marking the {len(self.locations)} locations READY for {period.name}")
        for location in self.locations:
            await self.send(Call("PATCH", "/api/period-locations/ready", admin,
                                 {"periodId": period.uid, "locationId": location.uid}))
        await asyncio.sleep(SETTLE_S)
        progress(f"closing {period.name}")
        before = self.meter.snapshot()
        started = time.perf_counter()
        answer = (await self.send(Call("POST", f"/api/periods/{period.uid}/close", admin,
                                       {"closing_notes": "bench: all locations reconciled"}))).json()
        requested = time.perf_counter()
        await self.send(Call("PATCH", f"/api/approvals/{answer['approval_id']}/approve", self.users.admin2,
                             {"comments": "bench: checked"}))
        approved = time.perf_counter()
        body = await self.wait_closed(period.uid, started)
        closed = time.perf_counter()
        cpu = CpuMeter.delta(before, self.meter.snapshot())
        self.stack.check_alive()
        rows, differ, stock_rows = snapshot_rows(self.stack.dsn, period.id)
        progress(f"{period.name} CLOSED in {closed - started:.1f} s: {rows:,} snapshot rows")
        return {"period": period.name, "locations": len(self.locations), "items": len(self.items),
                "stock_rows": stock_rows, "snapshot_rows": rows, "snapshot_rows_differing_from_stock": differ,
                "chunk_size": get_settings().period_close_chunk_size,
                "close_locations_done": body.get("close_locations_done"),
                "request_ms": round((requested - started) * 1000, 1),
                "approve_ms": round((approved - requested) * 1000, 1),
                "snapshot_s": round(closed - approved, 2), "total_s": round(closed - started, 2),
                "poll_interval_s": CLOSE_POLL_S, "cpu_s": {k: round(v, 2) for k, v in cpu.items()}}

    async def wait_closed(self, period_uid: str, started: float) -> dict[str, Any]:
        while True:
            body: dict[str, Any] = (await self.send(Call("GET", f"/api/periods/{period_uid}",
                                                         self.users.admin))).json()
            if body.get("status") == "CLOSED":
                return body
            if time.perf_counter() - started > CLOSE_TIMEOUT_S:
                raise BenchError(f"the period is {body.get('status')} ({body.get('close_locations_done')}/"
                                 f"{body.get('close_locations_total')} locations) {CLOSE_TIMEOUT_S:.0f} s after the "
                                 "close request")
            self.stack.check_alive()
            await asyncio.sleep(CLOSE_POLL_S)

    async def server_metrics(self) -> Any:
        return (await self.send(Call("GET", "/api/metrics/performance", self.users.admin))).json()


def snapshot_rows(dsn: str, period_id: int) -> tuple[int, int, int]:
    """(snapshot rows of the period, those that differ from the stock rows, stock rows): the open period's
    closing stock is today's stock, since everything was posted in it or before."""
    with psycopg.connect(dsn) as conn:
        row = conn.execute("""
            SELECT (SELECT count(*) FROM period_closing_stock WHERE period_id = %(p)s),
                   (SELECT count(*) FROM location_stock s
                    LEFT JOIN period_closing_stock c ON c.period_id = %(p)s AND c.location_id = s.location_id
                                                    AND c.item_id = s.item_id
                    WHERE c.on_hand IS DISTINCT FROM s.on_hand),
                   (SELECT count(*) FROM location_stock)
            """, {"p": period_id}).fetchone()
    assert row is not None
    return int(row[0]), int(row[1]), int(row[2])


# --- report ------------------------------------------------------------------------------------------------

def target_of(r: Result, groups: dict[str, Group]) -> tuple[str, str]:
    group = groups[r.scenario]
    if group.p99_ms is None:
        return "-", ""
    return f"p99 <= {group.p99_ms:.0f} ms", verdict(r.ms(0.99) <= group.p99_ms)


def tally(results: list[Result], groups: dict[str, Group]) -> dict[str, dict[str, Any]]:
    """Per SLA operation, at 16 clients (where the targets apply): rows, met, missed."""
    found: dict[str, dict[str, Any]] = {}
    for group in GROUPS:
        if group.p99_ms is None:
            continue
        rows = [r for r in results if groups[r.scenario] == group and r.clients == max(CLIENT_LEVELS)]
        missed = [r.scenario for r in rows if r.ms(0.99) > group.p99_ms]
        found[group.label] = {"target_p99_ms": group.p99_ms, "contract_sla_ms": group.sla_ms, "rows": len(rows),
                              "met": len(rows) - len(missed), "missed": missed}
    return found


def table(results: list[Result], groups: dict[str, Group]) -> list[str]:
    header = (f"{'scenario':<{WIDTH}} {'clients':>7} {'n':>5} {'p50 ms':>8} {'p95 ms':>8} {'p99 ms':>8} "
              f"{'max ms':>8} {'ops/s':>7}  {'target':<14} verdict")
    lines = [header, "-" * len(header)]
    for group in GROUPS:
        rows = [r for r in results if groups[r.scenario] == group]
        if not rows:
            continue
        sla = (f": target p99 <= {group.p99_ms:.0f} ms at 16 clients (contract < {group.sla_ms:.0f} ms)"
               if group.p99_ms is not None else "")
        lines.append(f"{group.label}{sla}")
        for r in rows:
            target, ok = target_of(r, groups)
            lines.append(f"  {r.scenario:<{WIDTH - 2}} {r.clients:>7} {len(r.latencies_s):>5} {r.ms(0.5):>8.2f} "
                         f"{r.ms(0.95):>8.2f} {r.ms(0.99):>8.2f} {max(r.latencies_s) * 1000:>8.2f} "
                         f"{r.ops_per_s:>7.1f}  {target:<14} {ok}")
    return lines


def render(results: list[Result], groups: dict[str, Group], info: dict[str, Any]) -> str:
    m, v, pg, seed, close = (info["machine"], info["versions"], info["postgres_settings"], info["seed"],
                             info["period_close"])
    rows = seed["rows"]
    lines = ["Stock benchmark (multi-location stock, /api)" + (" (--quick: small counts, figures not comparable)"
                                                               if info["config"]["name"] == "quick" else ""),
             f"machine: nproc={m['nproc']} cpu=\"{m['cpu_model']}\" memory={m['memory_gib']} GiB "
             f"kernel={m['kernel']} {m['arch']}",
             "versions: " + " ".join(f"{k}={val}" for k, val in v.items()),
             f"data: {seed['locations']} locations x {seed['items']} items ({rows['location_stock']:,} stock rows), "
             f"{seed['months']} monthly periods ({seed['months'] - 1} CLOSED with {rows['period_closing_stock']:,} "
             f"snapshot rows, the last OPEN), {rows['stock_movements']:,} ledger rows: {rows['deliveries']:,} "
             f"deliveries ({rows['delivery_lines']:,} lines), {rows['stock_issues']:,} issues "
             f"({rows['stock_issue_lines']:,} lines), {rows['transfers']:,} transfers ({rows['transfer_lines']:,} "
             f"lines), {rows['pob_entries']:,} POB entries; seeded in {seed['seconds']:.0f} s (+ VACUUM ANALYZE "
             f"{seed['vacuum_s']:.0f} s); ledger = stock rows: {seed['ledger_check']}",
             f"setup: PostgreSQL fsync={pg['fsync']} synchronous_commit={pg['synchronous_commit']} "
             f"({pg['wal_sync_method']}, shared_buffers={pg['shared_buffers']}); Temporal dev server as `make run` "
             f"starts it; API: {get_settings().api_workers} uvicorn process(es), "
             + ", ".join(f"{k}={val}" for k, val in API_ENV.items())
             + "; worker: 1 process; closed-loop clients; every request is checked (status, body)", ""]
    lines += table(results, groups)
    lines += ["", "targets (p99 at 16 clients, ten times inside the contract's SLAs):"]
    for name, t in info["tally"].items():
        lines.append(f"  {name} <= {t['target_p99_ms']:.0f} ms: {t['met']} of {t['rows']} met"
                     + (f"; missed: {', '.join(t['missed'])}" if t["missed"] else ""))
    lines += ["", f"period close of {close['period']} ({close['locations']} locations x {close['items']} items, "
              f"{close['stock_rows']:,} stock rows; chunks of whole locations, about {close['chunk_size']} rows each):",
              f"  POST /api/periods/{{id}}/close (ADMIN, every location READY)   {close['request_ms']:>9.1f} ms",
              f"  PATCH /api/approvals/{{id}}/approve (a second ADMIN)            {close['approve_ms']:>9.1f} ms",
              f"  then until GET /api/periods/{{id}} shows CLOSED                 {close['snapshot_s']:>9.2f} s  "
              f"(polled every {close['poll_interval_s']} s)",
              f"  wall time, request to CLOSED                                   {close['total_s']:>9.2f} s",
              f"  snapshot rows written: {close['snapshot_rows']:,} (rows differing from the stock rows: "
              f"{close['snapshot_rows_differing_from_stock']}); CPU s during the close: "
              + " ".join(f"{k}={val}" for k, val in close["cpu_s"].items())]
    cores = m["nproc"] or 1
    lines += ["", f"PostgreSQL while each scenario ran at {max(CLIENT_LEVELS)} clients (pg_stat_activity every "
              f"{WAIT_SAMPLE_S * 1000:.0f} ms): busy backends on average, and what they were doing (share of the "
              "busy samples: running, waiting on a lock (for a row of which table), the WAL flush of a commit, or "
              "idle in its transaction while the API computes)"]
    for r in results:
        if r.clients == max(CLIENT_LEVELS):
            waits = info["waits"].get(f"{r.scenario} x{r.clients}", {})
            top = list(waits.get("share", {}).items())[:4]
            shares = ", ".join(f"{state} {share * 100:.0f}%" for state, share in top)
            lines.append(f"  {r.scenario:<{WIDTH}} {waits.get('mean_active', 0):>5.1f}  {shares}")
    lines += ["", "CPU ms per request (from /proc, 10 ms ticks; 'bench' is this process: the clients; busy% = all of "
              "it / (wall x nproc))", cpu_header(WIDTH)]
    lines += [cpu_row(r, cores, WIDTH) for r in results if r.cpu_s]
    return "\n".join(lines)


# --- main --------------------------------------------------------------------------------------------------

def seed(stack: BenchStack, config: Config, user_ids: dict[str, int]) -> tuple[Seeded, dict[str, Any]]:
    size, today = config.size, datetime.now(UTC).date()
    progress(f"seeding {size.locations} locations x {size.items:,} items, {size.months} months of movements")
    started = time.monotonic()
    master = seed_master_data(stack.database_url, size, today, user_ids["bench-admin"])
    seeded = seed_year(stack.dsn, master, size, today, user_ids["bench-admin"], user_ids["bench-supervisor"])
    seconds = time.monotonic() - started
    progress(f"seeded in {seconds:.1f} s: " + ", ".join(f"{k} {v:,}" for k, v in seeded.rows.items()))
    started = time.monotonic()
    vacuum_analyze(stack.dsn)
    vacuum_s = time.monotonic() - started
    check = verify_ledger(stack.dsn)
    if any(check.values()):
        raise BenchError(f"the seeded ledger does not match the stock rows: {check}")
    info = {"locations": size.locations, "items": size.items, "months": size.months, "suppliers": size.suppliers,
            "per_location_month": {"deliveries": size.deliveries, "delivery_lines": list(size.delivery_lines),
                                   "issues": size.issues, "issue_lines": list(size.issue_lines),
                                   "transfers": size.transfers, "transfer_lines": list(size.transfer_lines)},
            "rows": seeded.rows, "seconds": round(seconds, 1), "vacuum_s": round(vacuum_s, 1),
            "ledger_check": "consistent" if not any(check.values()) else check, "today": today.isoformat(),
            "periods": [{"name": p.name, "status": p.status} for p in master.periods]}
    return seeded, info


async def run(stack: BenchStack, config: Config) -> tuple[list[Result], dict[str, Group], dict[str, Any]]:
    stack.start_servers()
    user_ids = create_users_with_roles(stack.database_url, USER_SPECS)
    seeded, seed_info = seed(stack, config, user_ids)
    stack.start_services()
    await connect_temporal(stack)
    limits = httpx.Limits(max_connections=64, max_keepalive_connections=64)
    async with httpx.AsyncClient(base_url=stack.api_url, limits=limits, timeout=60) as http:
        await wait_until_ready(http)
        users = Users(*[await login(http, user_ids[name], name) for name, _, _ in USER_SPECS])
        bench = StockBench(stack, http, users, config, seeded)
        await bench.all_scenarios()
        close = await bench.close_period()
        server = await bench.server_metrics()
    results = bench.results
    info = {"machine": machine(), "versions": versions(stack.dsn), "postgres_settings": postgres_settings(stack.dsn),
            "seed": seed_info, "period_close": close, "tally": tally(results, bench.groups), "api_env": API_ENV,
            "waits": {f"{scenario} x{clients}": waits for (scenario, clients), waits in bench.waits.items()},
            "api_metrics": server,
            "config": {"name": config.name, "client_levels": list(CLIENT_LEVELS), "page_limit": LIMIT,
                       "light": {str(k): v for k, v in config.light.items()},
                       "posts": {str(k): v for k, v in config.posts.items()},
                       "reports": {str(k): v for k, v in config.reports.items()},
                       "warmup": {str(k): v for k, v in config.warmup.items()}, "settle_s": SETTLE_S,
                       "postgres_durability": "fsync=on synchronous_commit=on"}}
    return results, bench.groups, info


def write_json(results: list[Result], groups: dict[str, Group], info: dict[str, Any]) -> Path:
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    path = RESULTS_DIR / f"stock-{stamp}{'-quick' if info['config']['name'] == 'quick' else ''}.json"
    rows = []
    for r in results:
        target, ok = target_of(r, groups)
        rows.append(r.summary() | {"operation": groups[r.scenario].label, "target": target, "verdict": ok})
    payload = {"benchmark": "stock", "at": datetime.now(UTC).isoformat(), **info, "results": rows}
    path.write_text(json.dumps(payload, indent=2, default=str) + "\n")
    return path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.stock",
                                     description="The stock contract's SLA operations and a period close, in one run.")
    parser.add_argument("--quick", action="store_true", help="small counts (6 locations x 300 items, 3 months), "
                        "for development")
    config = QUICK if parser.parse_args(argv).quick else FULL
    started = time.monotonic()

    async def body(stack: BenchStack) -> tuple[list[Result], dict[str, Group], dict[str, Any]]:
        return await run(stack, config)

    answer = run_in_stack("bench-stock", body, env=API_ENV)
    if answer is None:
        return 1
    results, groups, info = answer
    out(render(results, groups, info))
    path = write_json(results, groups, info)
    report_results(path, started)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
