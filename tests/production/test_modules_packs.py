"""Battery-pack console: modules with their cell ledger, packs, EOL dispositions, serials, versions, audit,
and what the pack and batch workflows show."""

import json
from typing import Any

from temporalio.api.enums.v1 import EventType
from temporalio.client import WorkflowExecutionStatus

from tests.conftest import eventually, unique
from tests.production.helpers import (
    V1,
    active_sku,
    assert_timestamps_z,
    audit_actions,
    batch_progress,
    bind_cell,
    bind_cells,
    crew,
    data,
    dispose,
    draft_batch,
    error,
    fetch,
    listing,
    new_module,
    new_pack,
    pack_search_status,
    ready_pack,
    running_batch,
    sealed_module,
    total,
    workflow_status,
)
from workflows.production.batch import batch_workflow_id
from workflows.production.pack import pack_workflow_id

# --- modules -------------------------------------------------------------------------------------------


async def test_module_needs_an_in_progress_batch(api, make_user):
    c = await crew(make_user)
    sku = await active_sku(api, c)
    batch = await draft_batch(api, c, sku["id"])
    serial = unique("MOD")
    error(await api.post(f"{V1}/modules", json={"batch_id": batch["id"], "serial_number": serial},
                         headers=c.production.headers), 409, "WORKFLOW_VIOLATION")
    assert await total(api, c, "modules", batch_id=batch["id"]) == 0
    data(await api.patch(f"{V1}/batches/{batch['id']}/start", headers=c.production.headers))
    module = await new_module(api, c, batch["id"], serial)  # the refused serial was not consumed
    assert module["serial_number"] == serial and module["status"] == "DRAFT" and module["version"] == 1
    assert module["batch_id"] == batch["id"] and module["cell_count"] == 0 and module["pack_id"] is None
    assert_timestamps_z(module)


async def test_module_validation_errors(api, make_user):
    c = await crew(make_user)
    _, batch = await running_batch(api, c)
    bid = batch["id"]
    for body in ({}, {"batch_id": bid}, {"serial_number": unique("M")}, {"batch_id": "one", "serial_number": "M1"},
                 {"batch_id": bid, "serial_number": ""}, {"batch_id": bid, "serial_number": "has space"},
                 {"batch_id": bid, "serial_number": 7}):
        error(await api.post(f"{V1}/modules", json=body, headers=c.production.headers), 422, "VALIDATION_ERROR")
    module = await new_module(api, c, batch["id"])
    for body in ({}, {"cell_serial": ""}, {"cell_serial": ["C1"]}, {"cell_serial": unique("C"), "version": "v1"}):
        error(await api.patch(f"{V1}/modules/{module['id']}/bind-cell", json=body, headers=c.production.headers),
              422, "VALIDATION_ERROR")
    assert (await fetch(api, c, f"modules/{module['id']}"))["cell_count"] == 0
    assert await total(api, c, "modules", batch_id=batch["id"]) == 1


async def test_cell_ledger_capacity_and_seal(api, make_user, temporal_client):
    c = await crew(make_user)
    _, batch = await running_batch(api, c, cells=3, modules=1)
    module = await new_module(api, c, batch["id"])
    url = f"{V1}/modules/{module['id']}"

    error(await api.patch(f"{url}/seal", headers=c.production.headers), 409, "WORKFLOW_VIOLATION")  # DRAFT
    serials = [unique("CELL") for _ in range(3)]
    first = data(await bind_cell(api, c, module["id"], serials[0]))
    assert first["status"] == "IN_PROGRESS" and first["cell_count"] == 1 and first["version"] == 2
    assert [cell["cell_serial"] for cell in first["cells"]] == serials[:1]
    second = data(await bind_cell(api, c, module["id"], serials[1]))
    assert second["status"] == "IN_PROGRESS" and second["cell_count"] == 2 and second["version"] == 3

    err = error(await api.patch(f"{url}/seal", headers=c.production.headers), 409, "WORKFLOW_VIOLATION")
    assert err["details"]["cell_count"] == 2 and err["details"]["cells_per_module"] == 3
    assert (await fetch(api, c, f"modules/{module['id']}"))["status"] == "IN_PROGRESS"

    data(await bind_cell(api, c, module["id"], serials[2]))
    extra = unique("CELL")
    error(await bind_cell(api, c, module["id"], extra), 409, "WORKFLOW_VIOLATION")  # a fourth cell
    detail = await fetch(api, c, f"modules/{module['id']}")
    assert detail["cell_count"] == 3 and detail["version"] == 4
    assert [(cell["cell_serial"], cell["position"]) for cell in detail["cells"]] == [
        (s, i + 1) for i, s in enumerate(serials)]
    for cell in detail["cells"]:
        assert cell["bound_by"] == c.production.id and cell["bound_at"].endswith("Z")

    sealed = data(await api.patch(f"{url}/seal", json={"version": 4}, headers=c.production.headers))
    assert sealed["status"] == "SEALED" and sealed["version"] == 5 and sealed["cell_count"] == 3
    assert_timestamps_z(sealed, "sealed_at")

    locked = error(await bind_cell(api, c, module["id"], unique("CELL")), 409, "ENTITY_LOCKED")
    assert locked["message"] == "Cannot modify a sealed module."
    assert locked["details"] == {"moduleId": module["serial_number"]}
    error(await api.patch(f"{url}/seal", headers=c.production.headers), 409, "WORKFLOW_VIOLATION")
    after = await fetch(api, c, f"modules/{module['id']}")
    assert after["status"] == "SEALED" and after["version"] == 5 and len(after["cells"]) == 3

    # the over-capacity serial was never claimed
    other = await new_module(api, c, batch["id"])
    data(await bind_cell(api, c, other["id"], extra))

    actions = [a["action_type"] for a in await audit_actions(api, c, "module", module["id"])]
    assert actions == ["MODULE_CREATED"] + ["MODULE_CELL_BOUND"] * 3 + ["MODULE_SEALED"]
    entries = await audit_actions(api, c, "module", module["id"])
    assert all(e["actor_id"] == c.production.id and e["timestamp"].endswith("Z") for e in entries)
    assert entries[1]["payload_diff"]["status"] == {"old": "DRAFT", "new": "IN_PROGRESS"}
    await eventually(lambda: batch_progress(temporal_client, batch["id"]),
                     expected={"modules_total": 2, "modules_sealed": 1, "packs_total": 0, "packs_finalized": 0,
                               "packs_passed": 0, "packs_failed": 0, "packs_quarantined": 0})


async def test_module_versions_guard_binds_and_seal(api, make_user):
    c = await crew(make_user)
    _, batch = await running_batch(api, c, cells=1)
    module = await new_module(api, c, batch["id"])
    cell = unique("CELL")
    err = error(await bind_cell(api, c, module["id"], cell, version=9), 409, "VERSION_CONFLICT")
    assert err["details"]["current_version"] == 1
    response = await api.patch(f"{V1}/modules/{module['id']}/bind-cell", json={"cell_serial": cell},
                               headers={**c.production.headers, "If-Match": '"2"'})
    error(response, 409, "VERSION_CONFLICT")
    unchanged = await fetch(api, c, f"modules/{module['id']}")
    assert unchanged["status"] == "DRAFT" and unchanged["cell_count"] == 0 and unchanged["cells"] == []
    bound = data(await api.patch(f"{V1}/modules/{module['id']}/bind-cell", json={"cell_serial": cell},
                                 headers={**c.production.headers, "If-Match": '"1"'}))
    assert bound["version"] == 2
    error(await api.patch(f"{V1}/modules/{module['id']}/seal", headers={**c.production.headers, "If-Match": "1"}),
          409, "VERSION_CONFLICT")
    assert (await fetch(api, c, f"modules/{module['id']}"))["status"] == "IN_PROGRESS"
    sealed = data(await api.patch(f"{V1}/modules/{module['id']}/seal",
                                  headers={**c.production.headers, "If-Match": "2"}))
    assert sealed["status"] == "SEALED"


async def test_module_list_filters_and_meta(api, make_user):
    c = await crew(make_user)
    _, batch = await running_batch(api, c, cells=1)
    sealed = await sealed_module(api, c, batch["id"], 1)
    drafts = [await new_module(api, c, batch["id"]) for _ in range(2)]
    items, meta = listing(await api.get(f"{V1}/modules", params={"batch_id": batch["id"]},
                                        headers=c.view_only.headers))
    assert meta == {"totalCount": 3, "page": 1, "pageSize": 20}
    assert [m["id"] for m in items] == [sealed["id"]] + [m["id"] for m in drafts]
    items, meta = listing(await api.get(f"{V1}/modules", params={"batch_id": batch["id"], "status": "DRAFT",
                                                                 "pageSize": 1, "page": 2},
                                        headers=c.view_only.headers))
    assert meta == {"totalCount": 2, "page": 2, "pageSize": 1} and [m["id"] for m in items] == [drafts[1]["id"]]
    items, _ = listing(await api.get(f"{V1}/modules", params={"batch_id": batch["id"], "status": "SEALED"},
                                     headers=c.view_only.headers))
    assert [m["id"] for m in items] == [sealed["id"]]
    error(await api.get(f"{V1}/modules", params={"status": "OPEN"}, headers=c.qa.headers), 422, "VALIDATION_ERROR")


# --- serial numbers are unique across cells, modules and packs -----------------------------------------

async def test_serials_are_unique_across_the_system(api, make_user):
    c = await crew(make_user)
    _, batch = await running_batch(api, c, cells=2)
    _, other_batch = await running_batch(api, c, cells=2)
    module = await new_module(api, c, batch["id"])
    cell = unique("CELL")
    data(await bind_cell(api, c, module["id"], cell))
    pack = await new_pack(api, c, batch["id"])

    def modules_of(b):
        return total(api, c, "modules", batch_id=b["id"])

    # a module serial reused as a module serial (also in another batch), a cell serial, a pack serial
    for serial in (module["serial_number"], cell, pack["serial_number"]):
        err = error(await api.post(f"{V1}/modules", json={"batch_id": other_batch["id"], "serial_number": serial},
                                   headers=c.production.headers), 409, "DUPLICATE_SERIAL")
        assert err["details"]["serial_number"] == serial
    assert await modules_of(other_batch) == 0

    # a cell serial reused in the same module, another module, or taken from a module or a pack serial
    other_module = await new_module(api, c, other_batch["id"])
    for target, serial in ((module, cell), (other_module, cell), (other_module, module["serial_number"]),
                           (other_module, pack["serial_number"])):
        error(await bind_cell(api, c, target["id"], serial), 409, "DUPLICATE_SERIAL")
    assert (await fetch(api, c, f"modules/{module['id']}"))["cell_count"] == 1
    assert (await fetch(api, c, f"modules/{other_module['id']}"))["cell_count"] == 0

    # a pack serial reused from a pack, a module or a cell
    for serial in (pack["serial_number"], module["serial_number"], cell):
        error(await api.post(f"{V1}/packs", json={"batch_id": other_batch["id"], "serial_number": serial},
                             headers=c.production.headers), 409, "DUPLICATE_SERIAL")
    assert await total(api, c, "packs", batch_id=other_batch["id"]) == 0


# --- packs ---------------------------------------------------------------------------------------------

async def test_pack_assembly_and_seal(api, make_user, temporal_client):
    c = await crew(make_user)
    sku, batch = await running_batch(api, c, cells=1, modules=2)
    modules = [await sealed_module(api, c, batch["id"], 1) for _ in range(3)]
    open_module = await new_module(api, c, batch["id"])
    _, foreign_batch = await running_batch(api, c, cells=1, modules=2)
    foreign = await sealed_module(api, c, foreign_batch["id"], 1)

    pack = await new_pack(api, c, batch["id"])
    assert pack["status"] == "DRAFT" and pack["version"] == 1 and pack["module_count"] == 0
    assert pack["sku"] == sku and pack["batch_id"] == batch["id"] and pack["disposition"] is None
    assert pack["modules"] == []
    assert_timestamps_z(pack)
    assert await pack_search_status(temporal_client, pack["id"]) == "DRAFT"
    url = f"{V1}/packs/{pack['id']}"

    error(await api.patch(f"{url}/seal", headers=c.production.headers), 409, "WORKFLOW_VIOLATION")  # DRAFT
    error(await api.patch(f"{url}/disposition", json={"disposition": "PASS"}, headers=c.qa.headers), 409,
          "WORKFLOW_VIOLATION")

    def bind(module_id, **extra):
        return api.patch(f"{url}/bind-module", json={"module_id": module_id, **extra}, headers=c.production.headers)

    error(await bind(open_module["id"]), 409, "WORKFLOW_VIOLATION")  # not sealed
    error(await bind(foreign["id"]), 409, "WORKFLOW_VIOLATION")  # another batch
    error(await bind(modules[0]["id"], version=5), 409, "VERSION_CONFLICT")
    unchanged = await fetch(api, c, f"packs/{pack['id']}")
    assert unchanged["status"] == "DRAFT" and unchanged["version"] == 1 and unchanged["module_count"] == 0

    first = data(await bind(modules[0]["id"], version=1))
    assert first["status"] == "IN_PROGRESS" and first["module_count"] == 1 and first["version"] == 2
    assert [m["id"] for m in first["modules"]] == [modules[0]["id"]]
    await eventually(lambda: pack_search_status(temporal_client, pack["id"]), expected="IN_PROGRESS")

    error(await bind(modules[0]["id"]), 409, "WORKFLOW_VIOLATION")  # bound here already
    err = error(await api.patch(f"{url}/seal", headers=c.production.headers), 409, "WORKFLOW_VIOLATION")
    assert err["details"]["module_count"] == 1 and err["details"]["modules_per_pack"] == 2
    data(await bind(modules[1]["id"]))
    error(await bind(modules[2]["id"]), 409, "WORKFLOW_VIOLATION")  # over modules_per_pack

    other_pack = await new_pack(api, c, batch["id"])
    error(await api.patch(f"{V1}/packs/{other_pack['id']}/bind-module", json={"module_id": modules[0]["id"]},
                          headers=c.production.headers), 409, "WORKFLOW_VIOLATION")  # bound elsewhere
    assert (await fetch(api, c, f"modules/{modules[0]['id']}"))["pack_id"] == pack["id"]

    error(await api.patch(f"{url}/seal", headers={**c.production.headers, "If-Match": '"1"'}), 409,
          "VERSION_CONFLICT")
    assert (await fetch(api, c, f"packs/{pack['id']}"))["status"] == "IN_PROGRESS"
    sealed = data(await api.patch(f"{url}/seal", headers=c.production.headers))
    assert sealed["status"] == "READY_FOR_EOL" and sealed["module_count"] == 2 and sealed["sku"] == sku
    assert_timestamps_z(sealed, "sealed_at")
    assert await pack_search_status(temporal_client, pack["id"]) == "READY_FOR_EOL"

    locked = error(await bind(modules[2]["id"]), 409, "ENTITY_LOCKED")
    assert locked["details"]["status"] == "READY_FOR_EOL"
    error(await api.patch(f"{url}/seal", headers=c.production.headers), 409, "WORKFLOW_VIOLATION")

    detail = await fetch(api, c, f"packs/{pack['id']}")
    assert detail["sku"] == sku and detail["status"] == "READY_FOR_EOL" and detail["version"] == sealed["version"]
    assert [m["id"] for m in detail["modules"]] == [modules[0]["id"], modules[1]["id"]]
    assert all(m["status"] == "SEALED" and m["pack_id"] == pack["id"] for m in detail["modules"])
    assert (await fetch(api, c, f"modules/{modules[2]['id']}"))["pack_id"] is None

    actions = [a["action_type"] for a in await audit_actions(api, c, "pack", pack["id"])]
    assert actions == ["PACK_CREATED", "PACK_MODULE_BOUND", "PACK_MODULE_BOUND", "PACK_SEALED"]


async def test_pack_created_with_modules_is_in_progress(api, make_user, temporal_client):
    c = await crew(make_user)
    sku, batch = await running_batch(api, c, cells=1, modules=2)
    modules = [await sealed_module(api, c, batch["id"], 1) for _ in range(2)]
    pack = await new_pack(api, c, batch["id"], [m["id"] for m in modules])
    assert pack["status"] == "IN_PROGRESS" and pack["module_count"] == 2 and pack["sku"] == sku
    assert sorted(m["id"] for m in pack["modules"]) == sorted(m["id"] for m in modules)
    await eventually(lambda: pack_search_status(temporal_client, pack["id"]), expected="IN_PROGRESS")
    sealed = data(await api.patch(f"{V1}/packs/{pack['id']}/seal", headers=c.production.headers))
    assert sealed["status"] == "READY_FOR_EOL"


async def test_pack_create_with_a_bad_module_changes_nothing(api, make_user):
    c = await crew(make_user)
    _, batch = await running_batch(api, c, cells=1, modules=2)
    sealed = await sealed_module(api, c, batch["id"], 1)
    unsealed = await new_module(api, c, batch["id"])
    serial = unique("PACK")
    error(await api.post(f"{V1}/packs", json={"batch_id": batch["id"], "serial_number": serial,
                                              "module_ids": [sealed["id"], unsealed["id"]]},
                         headers=c.production.headers), 409, "WORKFLOW_VIOLATION")
    assert await total(api, c, "packs", batch_id=batch["id"]) == 0
    assert (await fetch(api, c, f"modules/{sealed['id']}"))["pack_id"] is None
    error(await api.post(f"{V1}/packs", json={"batch_id": batch["id"], "serial_number": serial,
                                              "module_ids": [987_654_321]}, headers=c.production.headers),
          404, "NOT_FOUND")
    pack = await new_pack(api, c, batch["id"], [sealed["id"]], serial=serial)  # the serial is still free
    assert pack["serial_number"] == serial and pack["module_count"] == 1


async def test_pack_needs_an_in_progress_batch(api, make_user):
    c = await crew(make_user)
    sku = await active_sku(api, c)
    batch = await draft_batch(api, c, sku["id"])
    error(await api.post(f"{V1}/packs", json={"batch_id": batch["id"], "serial_number": unique("P")},
                         headers=c.production.headers), 409, "WORKFLOW_VIOLATION")
    for body in ({}, {"batch_id": batch["id"]}, {"batch_id": batch["id"], "serial_number": unique("P"),
                                                 "module_ids": "all"}):
        error(await api.post(f"{V1}/packs", json=body, headers=c.production.headers), 422, "VALIDATION_ERROR")
    assert await total(api, c, "packs", batch_id=batch["id"]) == 0


async def test_disposition_quarantine_then_pass(api, make_user, temporal_client):
    c = await crew(make_user)
    _, batch = await running_batch(api, c, cells=1, modules=1)
    pack = await ready_pack(api, c, batch)
    url = f"{V1}/packs/{pack['id']}/disposition"
    for body in ({}, {"disposition": "MAYBE"}, {"disposition": "pass"}, {"disposition": "PASS", "notes": 5}):
        error(await api.patch(url, json=body, headers=c.qa.headers), 422, "VALIDATION_ERROR")

    held = data(await api.patch(url, json={"disposition": "QUARANTINE", "notes": "thermal drift"},
                                headers=c.qa.headers))
    assert held["status"] == "READY_FOR_EOL" and held["disposition"] == "QUARANTINE"
    assert held["disposition_notes"] == "thermal drift" and held["finalized_at"] is None
    assert held["version"] == pack["version"] + 1
    assert await pack_search_status(temporal_client, pack["id"]) == "READY_FOR_EOL"
    await eventually(lambda: batch_progress(temporal_client, batch["id"]),
                     expected={"modules_total": 1, "modules_sealed": 1, "packs_total": 1, "packs_finalized": 0,
                               "packs_passed": 0, "packs_failed": 0, "packs_quarantined": 1})

    error(await api.patch(url, json={"disposition": "PASS", "version": pack["version"]}, headers=c.qa.headers),
          409, "VERSION_CONFLICT")
    still = await fetch(api, c, f"packs/{pack['id']}")
    assert still["status"] == "READY_FOR_EOL" and still["disposition"] == "QUARANTINE"

    passed = data(await api.patch(url, json={"disposition": "PASS", "version": held["version"]},
                                  headers=c.qa.headers))
    assert passed["status"] == "FINALIZED" and passed["disposition"] == "PASS"
    assert_timestamps_z(passed, "sealed_at", "finalized_at")
    await eventually(lambda: workflow_status(temporal_client, pack_workflow_id(pack["id"])),
                     expected=WorkflowExecutionStatus.COMPLETED)
    assert await pack_search_status(temporal_client, pack["id"]) == "FINALIZED"
    await eventually(lambda: batch_progress(temporal_client, batch["id"]),
                     expected={"modules_total": 1, "modules_sealed": 1, "packs_total": 1, "packs_finalized": 1,
                               "packs_passed": 1, "packs_failed": 0, "packs_quarantined": 0})

    for value in ("FAIL", "PASS", "QUARANTINE"):
        error(await api.patch(url, json={"disposition": value}, headers=c.qa.headers), 409, "WORKFLOW_VIOLATION")
    error(await api.patch(f"{V1}/packs/{pack['id']}/seal", headers=c.production.headers), 409,
          "WORKFLOW_VIOLATION")
    final = await fetch(api, c, f"packs/{pack['id']}")
    assert final["status"] == "FINALIZED" and final["disposition"] == "PASS" and final["version"] == passed["version"]

    actions = [a["action_type"] for a in await audit_actions(api, c, "pack", pack["id"])]
    assert actions[-2:] == ["PACK_DISPOSITION_QUARANTINE", "PACK_DISPOSITION_PASS"]
    entry = (await audit_actions(api, c, "pack", pack["id"]))[-1]
    assert entry["actor_id"] == c.qa.id
    assert entry["payload_diff"]["status"] == {"old": "READY_FOR_EOL", "new": "FINALIZED"}


async def test_disposition_fail_finalizes(api, make_user, temporal_client):
    c = await crew(make_user)
    _, batch = await running_batch(api, c, cells=1, modules=1)
    pack = await ready_pack(api, c, batch)
    failed = await dispose(api, c, pack["id"], "FAIL")
    assert failed["status"] == "FINALIZED" and failed["disposition"] == "FAIL"
    await eventually(lambda: workflow_status(temporal_client, pack_workflow_id(pack["id"])),
                     expected=WorkflowExecutionStatus.COMPLETED)
    assert await pack_search_status(temporal_client, pack["id"]) == "FINALIZED"
    assert "PACK_DISPOSITION_FAIL" in [a["action_type"] for a in await audit_actions(api, c, "pack", pack["id"])]


async def test_pack_list_filters_and_meta(api, make_user):
    c = await crew(make_user)
    sku, batch = await running_batch(api, c, cells=1, modules=1)
    ready = await ready_pack(api, c, batch)
    drafts = [await new_pack(api, c, batch["id"]) for _ in range(2)]
    items, meta = listing(await api.get(f"{V1}/packs", params={"batch_id": batch["id"]}, headers=c.qa.headers))
    assert meta == {"totalCount": 3, "page": 1, "pageSize": 20}
    assert [p["id"] for p in items] == [ready["id"]] + [p["id"] for p in drafts]
    assert all(p["sku"] == sku for p in items)
    items, meta = listing(await api.get(f"{V1}/packs", params={"sku_id": sku["id"], "status": "DRAFT", "page": 2,
                                                               "pageSize": 1}, headers=c.qa.headers))
    assert meta == {"totalCount": 2, "page": 2, "pageSize": 1} and [p["id"] for p in items] == [drafts[1]["id"]]
    items, meta = listing(await api.get(f"{V1}/packs", params={"batch_id": batch["id"], "status": "READY_FOR_EOL"},
                                        headers=c.qa.headers))
    assert [p["id"] for p in items] == [ready["id"]]
    error(await api.get(f"{V1}/packs", params={"status": "SHIPPED"}, headers=c.qa.headers), 422,
          "VALIDATION_ERROR")


async def test_pack_idempotency_key_returns_the_same_pack(api, make_user):
    c = await crew(make_user)
    _, batch = await running_batch(api, c, cells=1, modules=1)
    headers = {**c.production.headers, "Idempotency-Key": unique("idem")}
    body = {"batch_id": batch["id"], "serial_number": unique("PACK")}
    first = data(await api.post(f"{V1}/packs", json=body, headers=headers), 201)
    second = data(await api.post(f"{V1}/packs", json=body, headers=headers), 201)
    assert first["id"] == second["id"] and first["serial_number"] == second["serial_number"]
    assert await total(api, c, "packs", batch_id=batch["id"]) == 1
    error(await api.post(f"{V1}/packs", json=body, headers={**c.production.headers,
                                                           "Idempotency-Key": unique("idem")}),
          409, "DUPLICATE_SERIAL")
    assert await total(api, c, "packs", batch_id=batch["id"]) == 1
    error(await api.post(f"{V1}/packs", json=body, headers={**c.production.headers, "Idempotency-Key": "x" * 201}),
          422, "VALIDATION_ERROR")


async def test_module_detail_carries_its_cell_ledger_for_read_only_roles(api, make_user):
    """A quick check that GET details carry the ledger and the modules for a read-only role."""
    c = await crew(make_user)
    _, batch = await running_batch(api, c, cells=2, modules=1)
    module = await new_module(api, c, batch["id"])
    await bind_cells(api, c, module["id"], 2)
    detail = data(await api.get(f"{V1}/modules/{module['id']}", headers=c.view_only.headers))
    assert len(detail["cells"]) == 2
    listed, _ = listing(await api.get(f"{V1}/modules", params={"batch_id": batch["id"]},
                                      headers=c.view_only.headers))
    assert listed[0]["id"] == module["id"] and listed[0]["cell_count"] == 2


async def test_pack_create_retried_after_its_batch_completed_returns_the_same_pack(api, make_user, temporal_client):
    c = await crew(make_user)
    _, batch = await running_batch(api, c, cells=1, modules=1)
    module = await sealed_module(api, c, batch["id"], 1)
    headers = {**c.production.headers, "Idempotency-Key": unique("idem")}
    body = {"batch_id": batch["id"], "serial_number": unique("PACK"), "module_ids": [module["id"]]}
    pack = data(await api.post(f"{V1}/packs", json=body, headers=headers), 201)
    data(await api.patch(f"{V1}/packs/{pack['id']}/seal", headers=c.production.headers))
    await dispose(api, c, pack["id"], "PASS")
    data(await api.patch(f"{V1}/batches/{batch['id']}/complete", headers=c.supervisor.headers))
    handle = temporal_client.get_workflow_handle(pack_workflow_id(pack["id"]))
    first_run = (await handle.describe()).run_id
    retried = data(await api.post(f"{V1}/packs", json=body, headers=headers), 201)
    assert retried == pack  # the first call's answer (middleware/idempotency.py), though the pack has moved on since
    assert (await handle.describe()).run_id == first_run  # no second lifecycle for a finished pack


# --- what the lifecycles carry -------------------------------------------------------------------------

RENDERED_KEYS = {"sku", "modules", "cells", "uid", "serial_number", "batch_number", "created_at", "updated_at"}
LOCAL_ACTIVITY_MARKER = "core_local_activity"
SMALL_RESULT_BYTES = 300  # id, status, version, a batch's progress; a rendered pack with its SKU is over 1 KB


def _keys(value: Any) -> set[str]:
    if isinstance(value, dict):
        return set(value).union(*(_keys(v) for v in value.values()))
    if isinstance(value, list):
        return set().union(*(_keys(v) for v in value))
    return set()


async def _carried(client: Any, workflow_id: str) -> tuple[list[bytes], list[bytes]]:
    """The update results and the local activities' recorded results of a finished lifecycle."""
    handle = client.get_workflow_handle(workflow_id)
    await handle.result()
    updates, effects = [], []
    for event in (await handle.fetch_history()).events:
        if event.event_type == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_COMPLETED:
            outcome = event.workflow_execution_update_completed_event_attributes.outcome
            updates += [p.data for p in outcome.success.payloads]
        elif (event.event_type == EventType.EVENT_TYPE_MARKER_RECORDED
              and event.marker_recorded_event_attributes.marker_name == LOCAL_ACTIVITY_MARKER):
            effects += [p.data for p in event.marker_recorded_event_attributes.details["result"].payloads]
    return updates, effects


async def test_lifecycles_carry_small_results_never_rendered_records(api, make_user, temporal_client):
    """Transitions answer ids, statuses and versions through Temporal (the API reads bodies from PostgreSQL):
    no update result or recorded effect of a batch or pack lifecycle holds a rendered record."""
    c = await crew(make_user)
    _, batch = await running_batch(api, c, cells=1, modules=1)
    pack = await ready_pack(api, c, batch)  # a module sealed, a pack created with it and sealed
    await dispose(api, c, pack["id"], "QUARANTINE")
    await dispose(api, c, pack["id"], "PASS")
    data(await api.patch(f"{V1}/batches/{batch['id']}/complete", headers=c.supervisor.headers))

    pack_updates, pack_effects = await _carried(temporal_client, pack_workflow_id(pack["id"]))
    batch_updates, batch_effects = await _carried(temporal_client, batch_workflow_id(batch["id"]))
    assert len(pack_updates) == 4  # create, seal, two dispositions
    assert len(batch_updates) == 4  # create, start, a module's seal, complete
    assert len(pack_effects) >= 4 and len(batch_effects) >= 4  # one effect per transition (and progress counts)
    for payload in [*pack_updates, *pack_effects, *batch_updates, *batch_effects]:
        assert len(payload) < SMALL_RESULT_BYTES, payload
        assert not _keys(json.loads(payload)) & RENDERED_KEYS, payload


async def test_transitions_answer_the_record_as_get_shows_it(api, make_user):
    """Every lifecycle transition answers, byte for byte, what GET shows of the record right after it."""
    c = await crew(make_user)
    sku = await active_sku(api, c, cells=1, modules=1)

    async def same_as_get(response: Any, path: str, status: int = 200) -> dict[str, Any]:
        assert response.status_code == status, response.text
        shown = await api.get(f"{V1}/{path}", headers=c.view_only.headers)
        assert response.content == shown.content
        return dict(response.json()["data"])

    created = await api.post(f"{V1}/batches", json={"sku_id": sku["id"], "target_quantity": 2},
                             headers=c.production.headers)
    batch = await same_as_get(created, f"batches/{created.json()['data']['id']}", 201)
    path = f"batches/{batch['id']}"
    await same_as_get(await api.patch(f"{V1}/{path}/start", headers=c.production.headers), path)
    module = await new_module(api, c, batch["id"])
    await bind_cells(api, c, module["id"], 1)
    sealed = await same_as_get(await api.patch(f"{V1}/modules/{module['id']}/seal", headers=c.production.headers),
                               f"modules/{module['id']}")
    assert sealed["status"] == "SEALED" and len(sealed["cells"]) == 1
    made = await api.post(f"{V1}/packs", json={"batch_id": batch["id"], "serial_number": unique("PACK"),
                                               "module_ids": [module["id"]]}, headers=c.production.headers)
    pack = await same_as_get(made, f"packs/{made.json()['data']['id']}", 201)
    assert pack["sku"]["id"] == sku["id"] and [m["id"] for m in pack["modules"]] == [module["id"]]
    pack_path = f"packs/{pack['id']}"
    await same_as_get(await api.patch(f"{V1}/{pack_path}/seal", headers=c.production.headers), pack_path)
    for disposition in ("QUARANTINE", "PASS"):
        await same_as_get(await api.patch(f"{V1}/{pack_path}/disposition", json={"disposition": disposition,
                                                                               "notes": "EOL ok"},
                                          headers=c.qa.headers), pack_path)
    done = await same_as_get(await api.patch(f"{V1}/{path}/complete", headers=c.supervisor.headers), path)
    assert done["status"] == "COMPLETED" and done["progress"]["packs_passed"] == 1
