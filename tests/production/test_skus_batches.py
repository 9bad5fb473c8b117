"""Battery-pack console: SKUs and batches, envelopes, errors, versions, idempotency, lifecycle visibility."""

import asyncio

from temporalio.client import WorkflowExecutionStatus

from tests.conftest import eventually, unique
from tests.production.helpers import (
    V1,
    active_sku,
    assert_timestamps_z,
    audit_actions,
    batch_progress,
    batch_search_status,
    crew,
    data,
    dispose,
    draft_batch,
    draft_sku,
    error,
    expired_token,
    fetch,
    listing,
    new_module,
    new_pack,
    post_sku,
    ready_pack,
    running_batch,
    sealed_module,
    total,
    workflow_status,
)
from workflows.production.batch import batch_workflow_id

SKU_FIELDS = {"id", "uid", "sku_code", "name", "chemistry", "nominal_voltage_v", "capacity_ah", "cells_per_module",
              "modules_per_pack", "status", "version", "created_at", "updated_at"}


# --- SKUs ----------------------------------------------------------------------------------------------

async def test_sku_create_returns_draft_with_numbers_and_z_timestamps(api, make_user):
    c = await crew(make_user)
    code = unique("SKU")
    response = await post_sku(api, c.admin, sku_code=code, nominal_voltage_v=3.7, capacity_ah=50.5, cells=8,
                              modules=4)
    sku = data(response, 201)
    assert set(sku) == SKU_FIELDS
    assert sku["sku_code"] == code and sku["status"] == "DRAFT" and sku["version"] == 1
    assert sku["nominal_voltage_v"] == 3.7 and isinstance(sku["nominal_voltage_v"], float)
    assert sku["capacity_ah"] == 50.5 and isinstance(sku["capacity_ah"], float)
    assert sku["cells_per_module"] == 8 and sku["modules_per_pack"] == 4
    assert isinstance(sku["id"], int) and isinstance(sku["uid"], str)
    assert_timestamps_z(sku)
    assert await fetch(api, c, f"skus/{sku['id']}") == sku
    minimal = data(await api.post(f"{V1}/skus", json={"sku_code": unique("SKU"), "name": "Bare",
                                                      "cells_per_module": 1, "modules_per_pack": 1},
                                  headers=c.admin.headers), 201)
    assert minimal["chemistry"] is None and minimal["nominal_voltage_v"] is None
    assert "SKU_CREATED" in [a["action_type"] for a in await audit_actions(api, c, "sku", sku["id"])]


async def test_sku_activate_only_from_draft(api, make_user):
    c = await crew(make_user)
    sku = await draft_sku(api, c)
    active = data(await api.patch(f"{V1}/skus/{sku['id']}/activate", headers=c.admin.headers))
    assert active["status"] == "ACTIVE" and active["version"] == 2
    err = error(await api.patch(f"{V1}/skus/{sku['id']}/activate", headers=c.admin.headers), 409,
                "WORKFLOW_VIOLATION")
    assert err["details"]["status"] == "ACTIVE"
    after = await fetch(api, c, f"skus/{sku['id']}")
    assert after["status"] == "ACTIVE" and after["version"] == 2
    actions = [a["action_type"] for a in await audit_actions(api, c, "sku", sku["id"])]
    assert actions == ["SKU_CREATED", "SKU_ACTIVATED"]


async def test_sku_activate_with_stale_version_changes_nothing(api, make_user):
    c = await crew(make_user)
    sku = await draft_sku(api, c)
    url = f"{V1}/skus/{sku['id']}/activate"
    err = error(await api.patch(url, json={"version": 7}, headers=c.admin.headers), 409, "VERSION_CONFLICT")
    assert err["details"]["current_version"] == 1
    error(await api.patch(url, headers={**c.admin.headers, "If-Match": '"3"'}), 409, "VERSION_CONFLICT")
    error(await api.patch(url, headers={**c.admin.headers, "If-Match": "abc"}), 422, "VALIDATION_ERROR")
    unchanged = await fetch(api, c, f"skus/{sku['id']}")
    assert unchanged["status"] == "DRAFT" and unchanged["version"] == 1
    active = data(await api.patch(url, headers={**c.admin.headers, "If-Match": 'W/"1"'}))
    assert active["status"] == "ACTIVE" and active["version"] == 2


async def test_sku_validation_errors(api, make_user):
    c = await crew(make_user)
    good = {"sku_code": unique("SKU"), "name": "N", "cells_per_module": 2, "modules_per_pack": 1}
    bad_bodies = [
        {},
        {k: v for k, v in good.items() if k != "cells_per_module"},
        {**good, "cells_per_module": "eight"},
        {**good, "modules_per_pack": 0},
        {**good, "nominal_voltage_v": "high"},
        {**good, "capacity_ah": -5},
        {**good, "name": ""},
        {**good, "sku_code": 123},
    ]
    for body in bad_bodies:
        err = error(await api.post(f"{V1}/skus", json=body, headers=c.admin.headers), 422, "VALIDATION_ERROR")
        assert isinstance(err["details"], list) and err["details"], err
        assert {"field", "message"} <= set(err["details"][0])
    missing = error(await api.post(f"{V1}/skus", json={"name": "N"}, headers=c.admin.headers), 422,
                    "VALIDATION_ERROR")
    assert {"sku_code", "cells_per_module", "modules_per_pack"} <= {d["field"] for d in missing["details"]}
    response = await api.post(f"{V1}/skus", content=b"not json", headers={**c.admin.headers,
                                                                         "Content-Type": "application/json"})
    error(response, 422, "VALIDATION_ERROR")
    assert await total(api, c, "skus", status="DRAFT") >= 0  # still answering


async def test_sku_code_is_unique(api, make_user):
    c = await crew(make_user)
    sku = await draft_sku(api, c)
    response = await post_sku(api, c.admin, sku_code=sku["sku_code"].lower())
    assert response.status_code == 409, response.text
    assert response.json()["success"] is False


async def test_sku_list_meta_pagination_and_status_filter(api, make_user):
    c = await crew(make_user)
    for _ in range(3):
        await active_sku(api, c)
    await draft_sku(api, c)
    items, meta = listing(await api.get(f"{V1}/skus", params={"status": "ACTIVE", "page": 1, "pageSize": 2},
                                        headers=c.view_only.headers))
    assert meta["page"] == 1 and meta["pageSize"] == 2 and meta["totalCount"] >= 3
    assert len(items) == 2 and all(s["status"] == "ACTIVE" for s in items)
    second, meta2 = listing(await api.get(f"{V1}/skus", params={"status": "ACTIVE", "page": 2, "pageSize": 2},
                                          headers=c.view_only.headers))
    assert meta2["page"] == 2 and meta2["totalCount"] == meta["totalCount"]
    assert not {s["id"] for s in items} & {s["id"] for s in second}
    drafts, _ = listing(await api.get(f"{V1}/skus", params={"status": "DRAFT", "pageSize": 100},
                                      headers=c.admin.headers))
    assert drafts and all(s["status"] == "DRAFT" for s in drafts)
    _, default_meta = listing(await api.get(f"{V1}/skus", headers=c.admin.headers))
    assert default_meta["page"] == 1 and default_meta["pageSize"] == 20
    for params in ({"status": "RETIRED"}, {"page": 0}, {"pageSize": 0}, {"pageSize": 10_000}, {"page": "x"}):
        error(await api.get(f"{V1}/skus", params=params, headers=c.admin.headers), 422, "VALIDATION_ERROR")


# --- auth and missing things ---------------------------------------------------------------------------

async def test_auth_errors_use_the_console_envelope(api, make_user):
    c = await crew(make_user)
    for path in ("skus", "batches", "modules", "packs"):
        response = await api.get(f"{V1}/{path}")
        assert response.status_code == 401, response.text
        assert response.json()["success"] is False
        expired = {"Authorization": f"Bearer {expired_token(c.production)}"}
        error(await api.get(f"{V1}/{path}", headers=expired), 401, "AUTH_EXPIRED")
    expired = {"Authorization": f"Bearer {expired_token(c.admin)}"}
    response = await api.post(f"{V1}/skus", json={"sku_code": unique("SKU"), "name": "N", "cells_per_module": 1,
                                                  "modules_per_pack": 1}, headers=expired)
    error(response, 401, "AUTH_EXPIRED")


async def test_unknown_ids_are_not_found(api, make_user):
    c = await crew(make_user)
    missing = 987_654_321
    for path in ("skus", "batches", "modules", "packs"):
        error(await api.get(f"{V1}/{path}/{missing}", headers=c.view_only.headers), 404, "NOT_FOUND")
    error(await api.patch(f"{V1}/skus/{missing}/activate", headers=c.admin.headers), 404, "NOT_FOUND")
    error(await api.post(f"{V1}/batches", json={"sku_id": missing, "target_quantity": 1},
                         headers=c.production.headers), 404, "NOT_FOUND")
    error(await api.post(f"{V1}/modules", json={"batch_id": missing, "serial_number": unique("M")},
                         headers=c.production.headers), 404, "NOT_FOUND")
    error(await api.post(f"{V1}/packs", json={"batch_id": missing, "serial_number": unique("P")},
                         headers=c.production.headers), 404, "NOT_FOUND")
    error(await api.patch(f"{V1}/modules/{missing}/bind-cell", json={"cell_serial": unique("C")},
                          headers=c.production.headers), 404, "NOT_FOUND")
    error(await api.patch(f"{V1}/modules/{missing}/seal", headers=c.production.headers), 404, "NOT_FOUND")
    error(await api.patch(f"{V1}/packs/{missing}/bind-module", json={"module_id": missing},
                          headers=c.production.headers), 404, "NOT_FOUND")


# --- batches -------------------------------------------------------------------------------------------

async def test_batch_needs_an_active_sku(api, make_user):
    c = await crew(make_user)
    sku = await draft_sku(api, c)
    err = error(await api.post(f"{V1}/batches", json={"sku_id": sku["id"], "target_quantity": 3},
                               headers=c.production.headers), 409, "WORKFLOW_VIOLATION")
    assert err["details"]["status"] == "DRAFT"
    assert await total(api, c, "batches", sku_id=sku["id"]) == 0


async def test_batch_create_embeds_full_sku(api, make_user):
    c = await crew(make_user)
    sku = await active_sku(api, c, cells=4, modules=2, nominal_voltage_v=51.2)
    number = unique("BN")
    batch = data(await api.post(f"{V1}/batches", json={"sku_id": sku["id"], "batch_number": number,
                                                       "target_quantity": 12}, headers=c.production.headers), 201)
    assert batch["status"] == "DRAFT" and batch["version"] == 1 and batch["batch_number"] == number
    assert batch["target_quantity"] == 12 and batch["sku_id"] == sku["id"]
    assert batch["sku"] == sku and batch["sku"]["nominal_voltage_v"] == 51.2
    assert batch["started_at"] is None and batch["completed_at"] is None
    assert_timestamps_z(batch)
    detail = await fetch(api, c, f"batches/{batch['id']}")
    assert detail["sku"] == sku and detail["id"] == batch["id"] and detail["status"] == "DRAFT"
    assert detail["progress"] == {"modules_total": 0, "modules_sealed": 0, "packs_total": 0, "packs_finalized": 0,
                                  "packs_passed": 0, "packs_failed": 0, "packs_quarantined": 0}
    generated = await draft_batch(api, c, sku["id"])
    assert generated["batch_number"] and generated["batch_number"] != number
    response = await api.post(f"{V1}/batches", json={"sku_id": sku["id"], "batch_number": number,
                                                     "target_quantity": 1}, headers=c.production.headers)
    assert response.status_code == 409, response.text
    assert response.json()["success"] is False
    assert await total(api, c, "batches", sku_id=sku["id"]) == 2


async def test_batch_validation_errors(api, make_user):
    c = await crew(make_user)
    sku = await active_sku(api, c)
    for body in ({}, {"sku_id": sku["id"]}, {"sku_id": "abc", "target_quantity": 1},
                 {"sku_id": sku["id"], "target_quantity": "ten"}, {"sku_id": sku["id"], "target_quantity": 0},
                 {"sku_id": sku["id"], "target_quantity": 1.5}):
        error(await api.post(f"{V1}/batches", json=body, headers=c.production.headers), 422, "VALIDATION_ERROR")
    assert await total(api, c, "batches", sku_id=sku["id"]) == 0


async def test_batch_start_once(api, make_user):
    c = await crew(make_user)
    sku = await active_sku(api, c)
    batch = await draft_batch(api, c, sku["id"])
    error(await api.patch(f"{V1}/batches/{batch['id']}/complete", headers=c.supervisor.headers), 409,
          "WORKFLOW_VIOLATION")
    started = data(await api.patch(f"{V1}/batches/{batch['id']}/start", headers=c.production.headers))
    assert started["status"] == "IN_PROGRESS" and started["version"] == 2 and started["sku"] == sku
    assert_timestamps_z(started, "started_at")
    error(await api.patch(f"{V1}/batches/{batch['id']}/start", headers=c.production.headers), 409,
          "WORKFLOW_VIOLATION")
    after = await fetch(api, c, f"batches/{batch['id']}")
    assert after["status"] == "IN_PROGRESS" and after["version"] == 2
    actions = [a["action_type"] for a in await audit_actions(api, c, "batch", batch["id"])]
    assert actions == ["BATCH_CREATED", "BATCH_STARTED"]


async def test_batch_start_with_stale_version_changes_nothing(api, make_user, temporal_client):
    c = await crew(make_user)
    sku = await active_sku(api, c)
    batch = await draft_batch(api, c, sku["id"])
    url = f"{V1}/batches/{batch['id']}/start"
    error(await api.patch(url, json={"version": 2}, headers=c.production.headers), 409, "VERSION_CONFLICT")
    error(await api.patch(url, headers={**c.production.headers, "If-Match": '"5"'}), 409, "VERSION_CONFLICT")
    unchanged = await fetch(api, c, f"batches/{batch['id']}")
    assert unchanged["status"] == "DRAFT" and unchanged["version"] == 1
    assert await batch_search_status(temporal_client, batch["id"]) == "DRAFT"
    started = data(await api.patch(url, json={"version": 1}, headers=c.production.headers))
    assert started["status"] == "IN_PROGRESS"


async def test_batch_complete_requires_sealed_modules_finalized_packs_and_a_pass(api, make_user, temporal_client):
    c = await crew(make_user)
    sku, batch = await running_batch(api, c, cells=2, modules=1)
    complete = f"{V1}/batches/{batch['id']}/complete"

    err = error(await api.patch(complete, headers=c.supervisor.headers), 409, "WORKFLOW_VIOLATION")
    assert "no pack has passed EOL" in err["details"]["unmet"]

    open_module = await new_module(api, c, batch["id"])
    failed = await ready_pack(api, c, batch)
    await dispose(api, c, failed["id"], "FAIL")
    quarantined = await ready_pack(api, c, batch)
    await dispose(api, c, quarantined["id"], "QUARANTINE")
    err = error(await api.patch(complete, headers=c.qa.headers), 409, "WORKFLOW_VIOLATION")
    assert len(err["details"]["unmet"]) == 3  # an open module, a pack not finalized, no pass

    await dispose(api, c, quarantined["id"], "PASS")
    error(await api.patch(complete, headers=c.supervisor.headers), 409, "WORKFLOW_VIOLATION")  # module open
    after = await fetch(api, c, f"batches/{batch['id']}")
    assert after["status"] == "IN_PROGRESS" and after["version"] == batch["version"]

    await api.patch(f"{V1}/modules/{open_module['id']}/bind-cell", json={"cell_serial": unique("C")},
                    headers=c.production.headers)
    await api.patch(f"{V1}/modules/{open_module['id']}/bind-cell", json={"cell_serial": unique("C")},
                    headers=c.production.headers)
    data(await api.patch(f"{V1}/modules/{open_module['id']}/seal", headers=c.production.headers))
    expected = {"modules_total": 3, "modules_sealed": 3, "packs_total": 2, "packs_finalized": 2, "packs_passed": 1,
                "packs_failed": 1, "packs_quarantined": 0}
    assert (await fetch(api, c, f"batches/{batch['id']}"))["progress"] == expected
    await eventually(lambda: batch_progress(temporal_client, batch["id"]), expected=expected)

    done = data(await api.patch(complete, json={"version": batch["version"]}, headers=c.supervisor.headers))
    assert done["status"] == "COMPLETED" and done["progress"] == expected
    assert_timestamps_z(done, "started_at", "completed_at")
    await eventually(lambda: workflow_status(temporal_client, batch_workflow_id(batch["id"])),
                     expected=WorkflowExecutionStatus.COMPLETED)
    assert await batch_search_status(temporal_client, batch["id"]) == "COMPLETED"

    # a completed batch takes no more work and no more transitions
    error(await api.patch(complete, headers=c.supervisor.headers), 409, "WORKFLOW_VIOLATION")
    error(await api.patch(f"{V1}/batches/{batch['id']}/start", headers=c.production.headers), 409,
          "WORKFLOW_VIOLATION")
    error(await api.post(f"{V1}/modules", json={"batch_id": batch["id"], "serial_number": unique("M")},
                         headers=c.production.headers), 409, "WORKFLOW_VIOLATION")
    error(await api.post(f"{V1}/packs", json={"batch_id": batch["id"], "serial_number": unique("P")},
                         headers=c.production.headers), 409, "WORKFLOW_VIOLATION")
    final = await fetch(api, c, f"batches/{batch['id']}")
    assert final["status"] == "COMPLETED" and final["progress"] == expected and final["sku"] == sku
    actions = [a["action_type"] for a in await audit_actions(api, c, "batch", batch["id"])]
    assert actions == ["BATCH_CREATED", "BATCH_STARTED", "BATCH_COMPLETED"]


async def test_batch_complete_with_stale_version_changes_nothing(api, make_user):
    c = await crew(make_user)
    _, batch = await running_batch(api, c)
    pack = await ready_pack(api, c, batch)
    await dispose(api, c, pack["id"], "PASS")
    url = f"{V1}/batches/{batch['id']}/complete"
    error(await api.patch(url, headers={**c.qa.headers, "If-Match": str(batch["version"] + 1)}), 409,
          "VERSION_CONFLICT")
    assert (await fetch(api, c, f"batches/{batch['id']}"))["status"] == "IN_PROGRESS"
    done = data(await api.patch(url, headers={**c.qa.headers, "If-Match": f'"{batch["version"]}"'}))
    assert done["status"] == "COMPLETED" and done["version"] == batch["version"] + 1


async def test_batch_list_filters_and_meta(api, make_user):
    c = await crew(make_user)
    sku = await active_sku(api, c)
    other = await active_sku(api, c)
    drafts = [await draft_batch(api, c, sku["id"]) for _ in range(3)]
    await draft_batch(api, c, other["id"])
    data(await api.patch(f"{V1}/batches/{drafts[0]['id']}/start", headers=c.production.headers))
    items, meta = listing(await api.get(f"{V1}/batches", params={"sku_id": sku["id"]}, headers=c.qa.headers))
    assert meta == {"totalCount": 3, "page": 1, "pageSize": 20}
    assert [b["id"] for b in items] == [b["id"] for b in drafts]
    assert all(b["sku"]["id"] == sku["id"] for b in items)
    items, meta = listing(await api.get(f"{V1}/batches", params={"sku_id": sku["id"], "status": "DRAFT",
                                                                 "pageSize": 1, "page": 2}, headers=c.qa.headers))
    assert meta == {"totalCount": 2, "page": 2, "pageSize": 1} and items[0]["id"] == drafts[2]["id"]
    items, meta = listing(await api.get(f"{V1}/batches", params={"sku_id": sku["id"], "status": "IN_PROGRESS"},
                                        headers=c.qa.headers))
    assert meta["totalCount"] == 1 and items[0]["id"] == drafts[0]["id"] and items[0]["status"] == "IN_PROGRESS"
    error(await api.get(f"{V1}/batches", params={"status": "DONE"}, headers=c.qa.headers), 422, "VALIDATION_ERROR")
    error(await api.get(f"{V1}/batches", params={"sku_id": "x"}, headers=c.qa.headers), 422, "VALIDATION_ERROR")


async def test_batch_idempotency_key_returns_the_same_batch(api, make_user):
    c = await crew(make_user)
    sku = await active_sku(api, c)
    headers = {**c.production.headers, "Idempotency-Key": unique("idem")}
    body = {"sku_id": sku["id"], "target_quantity": 4}
    first = data(await api.post(f"{V1}/batches", json=body, headers=headers), 201)
    second = data(await api.post(f"{V1}/batches", json=body, headers=headers), 201)
    assert first["id"] == second["id"] and first["batch_number"] == second["batch_number"]
    assert await total(api, c, "batches", sku_id=sku["id"]) == 1
    other = data(await api.post(f"{V1}/batches", json=body,
                                headers={**c.production.headers, "Idempotency-Key": unique("idem")}), 201)
    assert other["id"] != first["id"]
    assert await total(api, c, "batches", sku_id=sku["id"]) == 2


async def test_batch_idempotency_key_under_concurrent_retries(api, make_user):
    c = await crew(make_user)
    sku = await active_sku(api, c)
    headers = {**c.production.headers, "Idempotency-Key": unique("idem")}
    responses = await asyncio.gather(*[api.post(f"{V1}/batches", json={"sku_id": sku["id"], "target_quantity": 2},
                                                headers=headers) for _ in range(5)])
    ids = {data(r, 201)["id"] for r in responses}
    assert len(ids) == 1
    assert await total(api, c, "batches", sku_id=sku["id"]) == 1


async def test_batch_workflow_shows_status_and_progress(api, make_user, temporal_client):
    c = await crew(make_user)
    sku = await active_sku(api, c, cells=1, modules=2)
    batch = await draft_batch(api, c, sku["id"])
    assert await batch_search_status(temporal_client, batch["id"]) == "DRAFT"
    data(await api.patch(f"{V1}/batches/{batch['id']}/start", headers=c.production.headers))
    await eventually(lambda: batch_search_status(temporal_client, batch["id"]), expected="IN_PROGRESS")
    first = await sealed_module(api, c, batch["id"], 1)
    await new_module(api, c, batch["id"])
    await new_pack(api, c, batch["id"], [first["id"]])
    expected = {"modules_total": 2, "modules_sealed": 1, "packs_total": 1, "packs_finalized": 0,
                "packs_passed": 0, "packs_failed": 0, "packs_quarantined": 0}
    await eventually(lambda: batch_progress(temporal_client, batch["id"]), expected=expected)
    assert (await fetch(api, c, f"batches/{batch['id']}"))["progress"] == expected
    assert await workflow_status(temporal_client, batch_workflow_id(batch["id"])) == WorkflowExecutionStatus.RUNNING
