"""The battery-pack console part of `make demo`: one user per console role, an SKU drafted and activated, a first
batch built, its packs tested at end-of-line (one PASS, one FAIL, one QUARANTINE then PASS) and completed, so its
workflows complete; then a second batch left in progress with a pack waiting for QA, so its workflows keep
running; and what the view-only user reads of it all."""

from dataclasses import dataclass
from typing import Any

import httpx

from scripts.demo.kit import V1, DemoLogin, DemoUser, Operator, Story, enlist_user, log_in

CELLS_PER_MODULE = 4
MODULES_PER_PACK = 2

DEMO_USERS = (
    DemoUser("SYSTEM_ADMIN", "demo-admin", "demo-admin-pass", "Dana Admin"),
    DemoUser("PRODUCTION", "demo-production", "demo-production-pass", "Pat Production"),
    DemoUser("QA", "demo-qa", "demo-qa-pass", "Quinn Quality"),
    DemoUser("SUPERVISOR", "demo-supervisor", "demo-supervisor-pass", "Sam Supervisor"),
    DemoUser("VIEW_ONLY", "demo-viewer", "demo-viewer-pass", "Val Viewer"),
)


def batch_workflow(batch_id: int) -> str:
    return f"production-batch-{batch_id}"


def pack_workflow(pack_id: int) -> str:
    return f"pack-{pack_id}"


# --- the crew ----------------------------------------------------------------------------------------------

@dataclass
class Crew:
    sysadmin: Operator
    production: Operator
    qa: Operator
    supervisor: Operator
    viewer: Operator
    logins: list[DemoLogin]


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


# --- the scenario ------------------------------------------------------------------------------------------

@dataclass
class ConsoleResult:
    sku_id: int
    sku_code: str
    completed_batch_id: int
    running_batch_id: int
    passed_pack_id: int
    failed_pack_id: int
    quarantined_then_passed_pack_id: int
    waiting_pack_id: int
    logins: list[DemoLogin]


async def run_console(client: httpx.AsyncClient, admin: Operator, tag: str, story: Story) -> ConsoleResult:
    crew = await enlist_crew(client, admin, story)
    sku = await introduce_sku(crew, tag, story)
    first = await run_first_batch(crew, sku["id"], tag, story)
    second, waiting = await start_second_batch(crew, sku["id"], tag, story)
    await show_viewer_reads(crew.viewer, first.batch, second, story)
    return ConsoleResult(sku_id=sku["id"], sku_code=sku["sku_code"], completed_batch_id=first.batch["id"],
                         running_batch_id=second["id"], passed_pack_id=first.passed["id"],
                         failed_pack_id=first.failed["id"], quarantined_then_passed_pack_id=first.retested["id"],
                         waiting_pack_id=waiting["id"], logins=crew.logins)
