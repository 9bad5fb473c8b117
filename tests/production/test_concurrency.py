"""Battery-pack console under concurrent callers: the ledger never overfills, a serial is bound once, a module
sits in one pack, and each lifecycle transition happens exactly once."""

import asyncio
from collections import Counter

from sqlalchemy import func, select

from models.operations import SerialNumber
from models.production import ModuleCell
from tests.conftest import unique
from tests.production.helpers import (
    V1,
    active_sku,
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
    post_sku,
    ready_pack,
    running_batch,
    sealed_module,
)


def outcomes(responses):
    return Counter(r.status_code for r in responses)


def codes(responses):
    return Counter(r.json()["error"]["code"] for r in responses if r.status_code != 200 and r.status_code != 201)


async def test_twenty_concurrent_cells_fill_eight_slots(api, make_user, session_factory):
    c = await crew(make_user)
    _, batch = await running_batch(api, c, cells=8, modules=1)
    module = await new_module(api, c, batch["id"])
    serials = [unique("CELL") for _ in range(20)]
    responses = await asyncio.gather(*[bind_cell(api, c, module["id"], s) for s in serials])
    assert outcomes(responses) == {200: 8, 409: 12}, [r.text for r in responses]
    assert codes(responses) == {"WORKFLOW_VIOLATION": 12}
    winners = {s for s, r in zip(serials, responses, strict=True) if r.status_code == 200}

    detail = await fetch(api, c, f"modules/{module['id']}")
    assert detail["cell_count"] == 8 and detail["status"] == "IN_PROGRESS" and detail["version"] == 9
    assert {cell["cell_serial"] for cell in detail["cells"]} == winners
    assert sorted(cell["position"] for cell in detail["cells"]) == list(range(1, 9))
    with session_factory() as session:
        bound = Counter(session.scalars(select(ModuleCell.cell_serial).where(ModuleCell.cell_serial.in_(serials))))
        claimed = set(session.scalars(select(SerialNumber.serial).where(SerialNumber.serial.in_(serials))))
    assert set(bound) == winners and max(bound.values()) == 1
    assert claimed == winners  # a refused bind leaves its serial free
    sealed = data(await api.patch(f"{V1}/modules/{module['id']}/seal", headers=c.production.headers))
    assert sealed["status"] == "SEALED" and sealed["cell_count"] == 8


async def test_twenty_concurrent_binds_of_one_serial_bind_it_once(api, make_user, session_factory):
    c = await crew(make_user)
    _, batch = await running_batch(api, c, cells=8, modules=1)
    module = await new_module(api, c, batch["id"])
    serial = unique("CELL")
    responses = await asyncio.gather(*[bind_cell(api, c, module["id"], serial) for _ in range(20)])
    assert outcomes(responses) == {200: 1, 409: 19}, [r.text for r in responses]
    assert codes(responses) == {"DUPLICATE_SERIAL": 19}
    detail = await fetch(api, c, f"modules/{module['id']}")
    assert detail["cell_count"] == 1 and [cell["cell_serial"] for cell in detail["cells"]] == [serial]
    with session_factory() as session:
        assert session.scalar(select(func.count()).where(ModuleCell.cell_serial == serial)) == 1


async def test_one_serial_raced_into_many_modules_binds_once(api, make_user):
    c = await crew(make_user)
    _, batch = await running_batch(api, c, cells=4, modules=1)
    modules = [await new_module(api, c, batch["id"]) for _ in range(6)]
    serial = unique("CELL")
    responses = await asyncio.gather(*[bind_cell(api, c, m["id"], serial) for m in modules])
    assert outcomes(responses) == {200: 1, 409: 5}
    assert codes(responses) == {"DUPLICATE_SERIAL": 5}
    counts = [(await fetch(api, c, f"modules/{m['id']}"))["cell_count"] for m in modules]
    assert sorted(counts) == [0, 0, 0, 0, 0, 1]


async def test_same_version_binds_let_one_through(api, make_user):
    c = await crew(make_user)
    _, batch = await running_batch(api, c, cells=8, modules=1)
    module = await new_module(api, c, batch["id"])
    responses = await asyncio.gather(*[bind_cell(api, c, module["id"], version=1) for _ in range(10)])
    assert outcomes(responses) == {200: 1, 409: 9}
    assert codes(responses) == {"VERSION_CONFLICT": 9}
    detail = await fetch(api, c, f"modules/{module['id']}")
    assert detail["cell_count"] == 1 and detail["version"] == 2


async def test_concurrent_seals_of_one_module_seal_once(api, make_user):
    c = await crew(make_user)
    _, batch = await running_batch(api, c, cells=2, modules=1)
    module = await new_module(api, c, batch["id"])
    await bind_cells(api, c, module["id"], 2)
    responses = await asyncio.gather(*[api.patch(f"{V1}/modules/{module['id']}/seal", headers=c.production.headers)
                                       for _ in range(5)])
    assert outcomes(responses) == {200: 1, 409: 4}, [r.text for r in responses]
    assert codes(responses) == {"WORKFLOW_VIOLATION": 4}
    detail = await fetch(api, c, f"modules/{module['id']}")
    assert detail["status"] == "SEALED" and detail["version"] == 4


async def test_one_module_raced_into_many_packs_lands_in_one(api, make_user):
    c = await crew(make_user)
    _, batch = await running_batch(api, c, cells=1, modules=1)
    module = await sealed_module(api, c, batch["id"], 1)
    packs = [await new_pack(api, c, batch["id"]) for _ in range(5)]
    responses = await asyncio.gather(*[
        api.patch(f"{V1}/packs/{p['id']}/bind-module", json={"module_id": module["id"]}, headers=c.production.headers)
        for p in packs])
    assert outcomes(responses) == {200: 1, 409: 4}
    winner = next(p for p, r in zip(packs, responses, strict=True) if r.status_code == 200)
    assert (await fetch(api, c, f"modules/{module['id']}"))["pack_id"] == winner["id"]
    counts = sorted([(await fetch(api, c, f"packs/{p['id']}"))["module_count"] for p in packs])
    assert counts == [0, 0, 0, 0, 1]


async def test_many_modules_raced_into_one_pack_fill_its_slots(api, make_user):
    c = await crew(make_user)
    _, batch = await running_batch(api, c, cells=1, modules=2)
    modules = [await sealed_module(api, c, batch["id"], 1) for _ in range(6)]
    pack = await new_pack(api, c, batch["id"])
    responses = await asyncio.gather(*[
        api.patch(f"{V1}/packs/{pack['id']}/bind-module", json={"module_id": m["id"]}, headers=c.production.headers)
        for m in modules])
    assert outcomes(responses) == {200: 2, 409: 4}
    detail = await fetch(api, c, f"packs/{pack['id']}")
    assert detail["module_count"] == 2 and len(detail["modules"]) == 2
    items, meta = listing(await api.get(f"{V1}/modules", params={"batch_id": batch["id"]}, headers=c.qa.headers))
    assert sum(1 for m in items if m["pack_id"] == pack["id"]) == 2 and meta["totalCount"] == 6


async def test_concurrent_dispositions_finalize_once(api, make_user):
    c = await crew(make_user)
    _, batch = await running_batch(api, c, cells=1, modules=1)
    pack = await ready_pack(api, c, batch)
    choices = ["PASS", "FAIL", "PASS", "FAIL", "PASS"]
    responses = await asyncio.gather(*[
        api.patch(f"{V1}/packs/{pack['id']}/disposition", json={"disposition": d}, headers=c.qa.headers)
        for d in choices])
    assert outcomes(responses) == {200: 1, 409: 4}, [r.text for r in responses]
    assert codes(responses) == {"WORKFLOW_VIOLATION": 4}
    winner = next(d for d, r in zip(choices, responses, strict=True) if r.status_code == 200)
    detail = await fetch(api, c, f"packs/{pack['id']}")
    assert detail["status"] == "FINALIZED" and detail["disposition"] == winner
    assert detail["version"] == pack["version"] + 1


async def test_concurrent_pack_creates_with_one_serial_make_one_pack(api, make_user):
    c = await crew(make_user)
    _, batch = await running_batch(api, c, cells=1, modules=1)
    serial = unique("PACK")
    responses = await asyncio.gather(*[
        api.post(f"{V1}/packs", json={"batch_id": batch["id"], "serial_number": serial},
                 headers=c.production.headers) for _ in range(5)])
    assert outcomes(responses) == {201: 1, 409: 4}, [r.text for r in responses]
    assert codes(responses) == {"DUPLICATE_SERIAL": 4}
    items, meta = listing(await api.get(f"{V1}/packs", params={"batch_id": batch["id"]}, headers=c.qa.headers))
    assert meta["totalCount"] == 1 and items[0]["serial_number"] == serial


async def test_concurrent_batch_starts_start_once(api, make_user):
    c = await crew(make_user)
    sku = await active_sku(api, c)
    batch = await draft_batch(api, c, sku["id"])
    responses = await asyncio.gather(*[api.patch(f"{V1}/batches/{batch['id']}/start", headers=c.production.headers)
                                       for _ in range(5)])
    assert outcomes(responses) == {200: 1, 409: 4}, [r.text for r in responses]
    assert codes(responses) == {"WORKFLOW_VIOLATION": 4}
    detail = await fetch(api, c, f"batches/{batch['id']}")
    assert detail["status"] == "IN_PROGRESS" and detail["version"] == 2


async def test_completion_racing_new_modules_never_leaves_open_work(api, make_user):
    """A batch completes only with every module sealed, even while modules are being added to it."""
    c = await crew(make_user)
    _, batch = await running_batch(api, c, cells=1, modules=1)
    await dispose(api, c, (await ready_pack(api, c, batch))["id"], "PASS")
    adds = [api.post(f"{V1}/modules", json={"batch_id": batch["id"], "serial_number": unique("MOD")},
                     headers=c.production.headers) for _ in range(5)]
    completion = api.patch(f"{V1}/batches/{batch['id']}/complete", headers=c.supervisor.headers)
    *added, completed = await asyncio.gather(*adds, completion)
    for response in added:
        if response.status_code != 201:
            error(response, 409, "WORKFLOW_VIOLATION")
    detail = await fetch(api, c, f"batches/{batch['id']}")
    items, _ = listing(await api.get(f"{V1}/modules", params={"batch_id": batch["id"], "pageSize": 100},
                                     headers=c.qa.headers))
    if completed.status_code == 200:
        assert detail["status"] == "COMPLETED"
        assert all(m["status"] == "SEALED" for m in items)
    else:
        error(completed, 409, "WORKFLOW_VIOLATION")
        assert detail["status"] == "IN_PROGRESS"
        assert any(m["status"] == "DRAFT" for m in items)
    assert detail["progress"]["modules_total"] == len(items)


async def test_concurrent_sku_creates_with_one_code_make_one_sku(api, make_user):
    c = await crew(make_user)
    code = unique("SKU")
    responses = await asyncio.gather(*[post_sku(api, c.admin, sku_code=code) for _ in range(5)])
    assert outcomes(responses) == {201: 1, 409: 4}, [r.text for r in responses]
    assert codes(responses) == {"DUPLICATE_ENTRY": 4}


async def test_concurrent_pack_creates_with_one_idempotency_key_make_one_pack(api, make_user):
    c = await crew(make_user)
    _, batch = await running_batch(api, c, cells=1, modules=1)
    headers = {**c.production.headers, "Idempotency-Key": unique("idem")}
    body = {"batch_id": batch["id"], "serial_number": unique("PACK")}
    responses = await asyncio.gather(*[api.post(f"{V1}/packs", json=body, headers=headers) for _ in range(5)])
    assert len({data(r, 201)["id"] for r in responses}) == 1, [r.text for r in responses]
    _, meta = listing(await api.get(f"{V1}/packs", params={"batch_id": batch["id"]}, headers=c.qa.headers))
    assert meta["totalCount"] == 1
