"""`make demo`: a day on the battery-pack line, driven through the public REST API.

Start the system with `make run` in another terminal first. The demo logs in as the bootstrap admin,
makes one user per console role, drafts and activates an SKU, builds a first batch, tests its packs at
end-of-line (one PASS, one FAIL, one QUARANTINE then PASS) and completes it, so its workflows complete;
then it leaves a second batch in progress with a pack waiting for QA, so its workflows keep running.
Then procurement (scripts/demo/procurement.py) and multi-location stock (scripts/demo/stock.py: locations,
deliveries with a price-variance NCR, issues, transfers, POB, a period closed and rolled forward, all under
`/api`). It ends with where to look: the API and the Temporal UI.

Environment: API_URL (default http://127.0.0.1:$API_PORT), ADMIN_PASSWORD, TEMPORAL_UI_PORT.
Running it again is safe: the demo users are reused and every run makes a new SKU, batches and serials
(and new stock locations, items and a period of its own).
"""

import asyncio
import json
import os
import secrets
import sys
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, TextIO

import httpx

from core.settings import DEV_ADMIN_PASSWORD, get_settings

V1 = "/api/v1"
ADMIN_USERNAME = "admin"
CELLS_PER_MODULE = 4
MODULES_PER_PACK = 2
DUPLICATE_USER = "DUPLICATE_USER"


class DemoError(Exception):
    """The demo cannot go on; the message is one line for the terminal."""


@dataclass(frozen=True)
class DemoUser:
    role: str
    username: str
    password: str
    full_name: str


DEMO_USERS = (
    DemoUser("SYSTEM_ADMIN", "demo-admin", "demo-admin-pass", "Dana Admin"),
    DemoUser("PRODUCTION", "demo-production", "demo-production-pass", "Pat Production"),
    DemoUser("QA", "demo-qa", "demo-qa-pass", "Quinn Quality"),
    DemoUser("SUPERVISOR", "demo-supervisor", "demo-supervisor-pass", "Sam Supervisor"),
    DemoUser("VIEW_ONLY", "demo-viewer", "demo-viewer-pass", "Val Viewer"),
)


@dataclass(frozen=True)
class DemoLogin:
    username: str
    role: str
    password: str
    created: bool


@dataclass
class DemoResult:
    run_tag: str
    sku_id: int
    sku_code: str
    completed_batch_id: int
    running_batch_id: int
    passed_pack_id: int
    failed_pack_id: int
    quarantined_then_passed_pack_id: int
    waiting_pack_id: int
    logins: list[DemoLogin] = field(default_factory=list)
    procurement: Any = None
    stock: Any = None

    @property
    def completed_workflow_ids(self) -> list[str]:
        return [batch_workflow(self.completed_batch_id), *(pack_workflow(p) for p in (
            self.passed_pack_id, self.failed_pack_id, self.quarantined_then_passed_pack_id))]

    @property
    def running_workflow_ids(self) -> list[str]:
        return [batch_workflow(self.running_batch_id), pack_workflow(self.waiting_pack_id)]


def batch_workflow(batch_id: int) -> str:
    return f"production-batch-{batch_id}"


def pack_workflow(pack_id: int) -> str:
    return f"pack-{pack_id}"


# --- talking to the API ------------------------------------------------------------------------------------

def payload(response: httpx.Response, expect: int, what: str) -> Any:
    """The `data` of a console envelope (or the whole body elsewhere), or a one-line DemoError."""
    try:
        body = response.json()
    except ValueError:
        body = response.text
    if response.status_code != expect:
        detail = json.dumps(body)[:300] if not isinstance(body, str) else body[:300]
        raise DemoError(f"{what} answered {response.status_code}, expected {expect}: {detail}")
    if isinstance(body, dict) and body.get("success") is True and "data" in body:
        return body["data"]
    return body


@dataclass
class Operator:
    """One logged-in user; every console call is made as them."""

    client: httpx.AsyncClient
    username: str
    role: str
    token: str

    async def call(self, method: str, path: str, body: dict[str, Any] | None = None, expect: int = 200) -> Any:
        response = await self.client.request(method, path, json=body,
                                             headers={"Authorization": f"Bearer {self.token}"})
        return payload(response, expect, f"{method} {path} as {self.username}")


async def log_in(client: httpx.AsyncClient, username: str, password: str) -> Operator:
    response = await client.post(f"{V1}/auth/login", json={"username": username, "password": password})
    if response.status_code == 401:
        raise DemoError(f"cannot log in as {username}: wrong password (for the bootstrap admin, set "
                        f"ADMIN_PASSWORD to the value `make run` was started with)")
    body = payload(response, 200, f"login as {username}")
    return Operator(client, username, str(body["user"]["role"]).upper(), body["access_token"])


async def check_system_ready(client: httpx.AsyncClient) -> dict[str, Any]:
    where = str(client.base_url).rstrip("/")
    try:
        response = await client.get("/health/ready")
    except httpx.TransportError as exc:
        raise DemoError(f"no system answers at {where} ({type(exc).__name__}): start it with `make run` "
                        f"in another terminal first (or set API_URL / API_PORT)") from exc
    if response.status_code != 200:
        raise DemoError(f"the system at {where} is not ready ({response.text[:200]}): start it with `make run` "
                        f"first, or wait until it prints its banner")
    return dict(response.json())


# --- the narrative -----------------------------------------------------------------------------------------

class Story:
    """Numbered steps with indented facts, written to `out`."""

    def __init__(self, out: TextIO) -> None:
        self.out, self.number = out, 0

    def title(self, text: str) -> None:
        self.out.write(f"{text}\n{'=' * len(text)}\n")

    def step(self, text: str) -> None:
        self.number += 1
        self.out.write(f"\n{self.number}. {text}\n")

    def fact(self, text: str) -> None:
        self.out.write(f"   {text}\n")

    def section(self, text: str) -> None:
        self.out.write(f"\n{text}\n")

    def line(self, text: str = "") -> None:
        self.out.write(f"  {text}\n" if text else "\n")
        self.out.flush()


# --- the crew ----------------------------------------------------------------------------------------------

@dataclass
class Crew:
    sysadmin: Operator
    production: Operator
    qa: Operator
    supervisor: Operator
    viewer: Operator
    logins: list[DemoLogin]


async def enlist_user(admin: Operator, user: DemoUser) -> bool:
    """Create the demo user; False when it exists already (an earlier run made it)."""
    body = {"username": user.username, "email": f"{user.username}@example.com", "password": user.password,
            "role": user.role, "full_name": user.full_name}
    response = await admin.client.post(f"{V1}/auth/users", json=body,
                                       headers={"Authorization": f"Bearer {admin.token}"})
    if response.status_code == 400 and response.json().get("code") == DUPLICATE_USER:
        return False
    payload(response, 201, f"create user {user.username}")
    return True


async def enlist_crew(client: httpx.AsyncClient, admin: Operator, story: Story) -> Crew:
    story.step("The crew: one user per console role")
    operators: dict[str, Operator] = {}
    logins = []
    for user in DEMO_USERS:
        created = await enlist_user(admin, user)
        operators[user.role] = await log_in(client, user.username, user.password)
        logins.append(DemoLogin(user.username, user.role, user.password, created))
        state = "created by admin" if created else "already there (earlier run)"
        story.fact(f"{user.role:<13} {user.username:<16} {state}; logged in")
    return Crew(operators["SYSTEM_ADMIN"], operators["PRODUCTION"], operators["QA"], operators["SUPERVISOR"],
                operators["VIEW_ONLY"], logins)


# --- master data -------------------------------------------------------------------------------------------

async def introduce_sku(crew: Crew, tag: str, story: Story) -> dict[str, Any]:
    story.step("The SKU blueprint: drafted by the supervisor, activated by the system admin")
    sku = await crew.supervisor.call("POST", f"{V1}/skus", {
        "sku_code": f"NMC-48V-{tag}", "name": "48 V 20 Ah NMC e-bike pack", "chemistry": "NMC",
        "nominal_voltage_v": 48, "capacity_ah": 20, "cells_per_module": CELLS_PER_MODULE,
        "modules_per_pack": MODULES_PER_PACK}, expect=201)
    story.fact(f"{crew.supervisor.username} drafted SKU {sku['id']} {sku['sku_code']}: {MODULES_PER_PACK} modules "
               f"x {CELLS_PER_MODULE} cells per pack ({sku['status']})")
    sku = await crew.sysadmin.call("PATCH", f"{V1}/skus/{sku['id']}/activate")
    story.fact(f"{crew.sysadmin.username} activated SKU {sku['id']} ({sku['status']})")
    return dict(sku)


# --- the production line -----------------------------------------------------------------------------------

async def open_batch(production: Operator, sku_id: int, batch_number: str, target: int,
                     story: Story) -> dict[str, Any]:
    batch = await production.call("POST", f"{V1}/batches", {"sku_id": sku_id, "batch_number": batch_number,
                                                            "target_quantity": target}, expect=201)
    story.fact(f"{production.username} created batch {batch['id']} {batch['batch_number']} for {target} packs "
               f"({batch['status']}); workflow {batch_workflow(batch['id'])}")
    batch = await production.call("PATCH", f"{V1}/batches/{batch['id']}/start")
    story.fact(f"{production.username} started batch {batch['id']} ({batch['status']})")
    return dict(batch)


async def assemble_module(production: Operator, batch_id: int, unit: str) -> dict[str, Any]:
    """Create module MOD-<unit>, bind cells CELL-<unit>-<position> to its ledger and seal it."""
    module = await production.call("POST", f"{V1}/modules", {"batch_id": batch_id, "serial_number": f"MOD-{unit}"},
                                   expect=201)
    for position in range(1, CELLS_PER_MODULE + 1):
        await production.call("PATCH", f"{V1}/modules/{module['id']}/bind-cell",
                              {"cell_serial": f"CELL-{unit}-{position}"})
    return dict(await production.call("PATCH", f"{V1}/modules/{module['id']}/seal"))


async def assemble_pack(production: Operator, batch_id: int, unit: str, story: Story) -> dict[str, Any]:
    """Assemble the modules of pack PACK-<unit>, enclose them in the pack and seal it for end-of-line test."""
    serial = f"PACK-{unit}"
    modules = [await assemble_module(production, batch_id, f"{unit}-{n}") for n in range(1, MODULES_PER_PACK + 1)]
    pack = await production.call("POST", f"{V1}/packs", {"batch_id": batch_id, "serial_number": serial,
                                                         "module_ids": [m["id"] for m in modules]}, expect=201)
    pack = await production.call("PATCH", f"{V1}/packs/{pack['id']}/seal")
    module_list = ", ".join(m["serial_number"] for m in modules)
    cells = "/".join(str(m["cell_count"]) for m in modules)
    story.fact(f"pack {pack['id']} {serial} sealed -> {pack['status']}; workflow {pack_workflow(pack['id'])}")
    story.fact(f"  modules {module_list} ({cells} cells, {'/'.join(m['status'] for m in modules)})")
    return dict(pack)


async def record_disposition(qa: Operator, pack: dict[str, Any], disposition: str, notes: str,
                             story: Story) -> dict[str, Any]:
    pack = await qa.call("PATCH", f"{V1}/packs/{pack['id']}/disposition",
                         {"disposition": disposition, "notes": notes})
    story.fact(f"{qa.username}: pack {pack['id']} {pack['serial_number']} {disposition} -> {pack['status']} "
               f"({notes})")
    return dict(pack)


async def complete_batch(supervisor: Operator, batch_id: int, story: Story) -> dict[str, Any]:
    batch = await supervisor.call("PATCH", f"{V1}/batches/{batch_id}/complete")
    p = batch["progress"]
    story.fact(f"{supervisor.username} completed batch {batch_id} -> {batch['status']}: modules sealed "
               f"{p['modules_sealed']}/{p['modules_total']}, packs finalized {p['packs_finalized']}/"
               f"{p['packs_total']} (pass {p['packs_passed']}, fail {p['packs_failed']}, "
               f"quarantine {p['packs_quarantined']})")
    return dict(batch)


@dataclass
class FirstBatch:
    batch: dict[str, Any]
    passed: dict[str, Any]
    failed: dict[str, Any]
    retested: dict[str, Any]


async def run_first_batch(crew: Crew, sku_id: int, tag: str, story: Story) -> FirstBatch:
    story.step("Batch A: assemble three packs, test them at end-of-line, complete the batch")
    batch = await open_batch(crew.production, sku_id, f"LOT-{tag}-A", 3, story)
    first, second, third = [await assemble_pack(crew.production, batch["id"], f"{tag}-A{n}", story)
                            for n in (1, 2, 3)]
    passed = await record_disposition(crew.qa, first, "PASS", "EOL capacity and isolation within spec", story)
    failed = await record_disposition(crew.qa, second, "FAIL", "cell imbalance 85 mV above limit", story)
    await record_disposition(crew.qa, third, "QUARANTINE", "insulation reading borderline; hold for retest",
                             story)
    retested = await record_disposition(crew.qa, third, "PASS", "retest within spec; released", story)
    batch = await complete_batch(crew.supervisor, batch["id"], story)
    return FirstBatch(batch, passed, failed, retested)


async def start_second_batch(crew: Crew, sku_id: int, tag: str, story: Story) -> tuple[dict[str, Any],
                                                                                        dict[str, Any]]:
    story.step("Batch B: still on the line, a pack waiting for its end-of-line test")
    batch = await open_batch(crew.production, sku_id, f"LOT-{tag}-B", 2, story)
    pack = await assemble_pack(crew.production, batch["id"], f"{tag}-B1", story)
    story.fact(f"batch {batch['id']} stays {batch['status']}; pack {pack['id']} waits at {pack['status']} "
               f"for QA")
    return batch, pack


async def show_viewer_reads(viewer: Operator, first: dict[str, Any], second: dict[str, Any], story: Story) -> None:
    story.step("The view-only user reads what happened")
    for batch_id in (first["id"], second["id"]):
        batch = await viewer.call("GET", f"{V1}/batches/{batch_id}")
        packs = await viewer.call("GET", f"{V1}/packs?batch_id={batch_id}")
        summary = ", ".join(f"{p['serial_number']} {p['status']}" + (f"/{p['disposition']}" if p["disposition"]
                                                                       else "") for p in packs)
        story.fact(f"{viewer.username}: batch {batch_id} {batch['batch_number']} is {batch['status']}; "
                   f"packs: {summary}")


# --- where to look -----------------------------------------------------------------------------------------

def tell_where_to_look(story: Story, result: DemoResult, api_url: str, temporal_ui_url: str,
                       admin_username: str, admin_password: str) -> None:
    viewer = next(login for login in result.logins if login.role == "VIEW_ONLY")
    story.section("Where to look")
    story.line(f"API (Swagger UI: {api_url}/docs); every call needs a Bearer token from POST {V1}/auth/login:")
    for batch_id in (result.completed_batch_id, result.running_batch_id):
        story.line(f"  GET {api_url}{V1}/batches/{batch_id}")
        story.line(f"  GET {api_url}{V1}/packs?batch_id={batch_id}")
    story.line("  for example:")
    story.line(f"    TOKEN=$(curl -s {api_url}{V1}/auth/login -H 'Content-Type: application/json' "
               f"-d '{{\"username\": \"{viewer.username}\", \"password\": \"{viewer.password}\"}}' "
               f"| python3 -c 'import json,sys; print(json.load(sys.stdin)[\"access_token\"])')")
    story.line(f"    curl -s -H \"Authorization: Bearer $TOKEN\" {api_url}{V1}/batches/{result.completed_batch_id}")
    story.line()
    story.line(f"Temporal UI: {temporal_ui_url}/namespaces/default/workflows")
    story.line(f"  completed: {', '.join(result.completed_workflow_ids)}")
    story.line(f"  running:   {', '.join(result.running_workflow_ids)} (batch IN_PROGRESS, pack waiting for QA)")
    if result.stock is not None:
        story.line(f"  stock, completed: {', '.join(result.stock.completed_workflow_ids)}")
        story.line(f"  stock, running:   {', '.join(result.stock.running_workflow_ids)} (NCR SENT, waiting for the "
                   f"supplier's credit)")
        story.line()
        for line in result.stock.where_to_look(api_url):
            story.line(line)
    story.line()
    story.line("Demo logins (username / password):")
    shown = admin_password if admin_password == DEV_ADMIN_PASSWORD else "the ADMIN_PASSWORD of `make run`"
    story.line(f"  {'(bootstrap)':<13} {admin_username} / {shown}")
    for login in result.logins:
        story.line(f"  {login.role:<13} {login.username} / {login.password}")


# --- the whole demo ----------------------------------------------------------------------------------------

def new_run_tag() -> str:
    """Unique per run: serials and codes must be unique across the whole system."""
    return f"{datetime.now(UTC):%Y%m%d-%H%M%S}-{secrets.token_hex(2)}"


def default_temporal_ui_url() -> str:
    return f"http://127.0.0.1:{get_settings().temporal_ui_port}"


async def run_procurement(client: httpx.AsyncClient, admin: Operator, tag: str, story: Story) -> Any:
    from scripts.demo.procurement import run_procurement as procurement_scenario  # it builds on this module

    return await procurement_scenario(client, admin, tag, story)


async def run_stock(client: httpx.AsyncClient, admin: Operator, tag: str, story: Story) -> Any:
    from scripts.demo.stock import run_stock as stock_scenario  # it builds on this module

    return await stock_scenario(client, admin, tag, story)


async def run_demo(client: httpx.AsyncClient, admin_password: str, out: TextIO, *,
                   admin_username: str = ADMIN_USERNAME, temporal_ui_url: str | None = None) -> DemoResult:
    api_url = str(client.base_url).rstrip("/")
    tag = new_run_tag()
    ready = await check_system_ready(client)
    story = Story(out)
    story.title(f"Battery-pack demo against {api_url} (run {tag})")
    story.step("System check")
    story.fact(f"{api_url}/health/ready: database {ready.get('database')}, temporal {ready.get('temporal')}")
    admin = await log_in(client, admin_username, admin_password)
    story.fact(f"{admin_username} logged in (role {admin.role})")
    crew = await enlist_crew(client, admin, story)
    sku = await introduce_sku(crew, tag, story)
    first = await run_first_batch(crew, sku["id"], tag, story)
    second, waiting = await start_second_batch(crew, sku["id"], tag, story)
    await show_viewer_reads(crew.viewer, first.batch, second, story)
    procurement = await run_procurement(client, admin, tag, story)
    stock = await run_stock(client, admin, tag, story)
    result = DemoResult(run_tag=tag, sku_id=sku["id"], sku_code=sku["sku_code"],
                        completed_batch_id=first.batch["id"], running_batch_id=second["id"],
                        passed_pack_id=first.passed["id"], failed_pack_id=first.failed["id"],
                        quarantined_then_passed_pack_id=first.retested["id"], waiting_pack_id=waiting["id"],
                        logins=crew.logins + procurement.logins + stock.logins, procurement=procurement,
                        stock=stock)
    tell_where_to_look(story, result, api_url, temporal_ui_url or default_temporal_ui_url(), admin_username,
                       admin_password)
    out.flush()
    return result


def api_url_from_env() -> str:
    return os.environ.get("API_URL") or f"http://127.0.0.1:{get_settings().api_port}"


async def demo_against_running_system() -> None:
    async with httpx.AsyncClient(base_url=api_url_from_env(), timeout=60) as client:
        await run_demo(client, get_settings().admin_password, sys.stdout)


def main() -> int:
    try:
        asyncio.run(demo_against_running_system())
    except DemoError as err:
        sys.stdout.flush()
        sys.stderr.write(f"demo: {err}\n")
        return 1
    except httpx.TransportError as err:
        sys.stdout.flush()
        sys.stderr.write(f"demo: lost the connection to {api_url_from_env()} ({type(err).__name__}); "
                         f"is `make run` still running?\n")
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
