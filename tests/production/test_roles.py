"""Battery-pack console role table (contract §4): every mutating endpoint against every console role and the
admin-equivalents. An allowed role succeeds; any other gets 403 ACCESS_DENIED and nothing changes."""

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from temporalio.client import WorkflowUpdateFailedError
from temporalio.exceptions import ApplicationError

from dto.identity import Actor
from dto.production import Transition
from models.production import Sku
from tests.conftest import unique
from tests.production.helpers import (
    ADMIN_ROLES,
    CONSOLE_ROLES,
    V1,
    Crew,
    active_sku,
    bind_cell,
    crew,
    data,
    dispose,
    draft_batch,
    draft_sku,
    error,
    fetch,
    new_module,
    new_pack,
    ready_pack,
    running_batch,
    sealed_module,
    total,
    user_with_role,
)
from workflows.production.batch import ProductionBatchWorkflow, batch_workflow_id
from workflows.production.pack import PackWorkflow, pack_workflow_id

# Roles outside the console contract: authenticated, so they may read, but they hold no console permission.
OTHER_ROLES = ("viewer", "engineer")
ROLES = (*ADMIN_ROLES, *CONSOLE_ROLES, *OTHER_ROLES)
State = dict[str, Any]


@dataclass
class Case:
    allowed: frozenset[str]
    arrange: Callable[[httpx.AsyncClient, Crew], Awaitable[State]]
    act: Callable[[httpx.AsyncClient, Any, State], Awaitable[httpx.Response]]
    observe: Callable[[httpx.AsyncClient, Crew, State], Awaitable[Any]]
    succeeded: Callable[[Any], bool]
    status: int = 200


def _entity(path: str, *fields: str) -> Callable[[httpx.AsyncClient, Crew, State], Awaitable[Any]]:
    async def observe(api: httpx.AsyncClient, c: Crew, state: State) -> Any:
        entity = await fetch(api, c, path.format(**state))
        return {f: entity[f] for f in ("status", "version", *fields)}

    return observe


def _count(path: str, key: str) -> Callable[[httpx.AsyncClient, Crew, State], Awaitable[Any]]:
    async def observe(api: httpx.AsyncClient, c: Crew, state: State) -> Any:
        return await total(api, c, path, **{key: state[key]})

    return observe


# --- arrangements --------------------------------------------------------------------------------------

async def _sku_code(api: httpx.AsyncClient, c: Crew) -> State:
    return {"sku_code": unique("SKU")}


async def _draft_sku(api: httpx.AsyncClient, c: Crew) -> State:
    return {"sku_id": (await draft_sku(api, c))["id"]}


async def _active_sku(api: httpx.AsyncClient, c: Crew) -> State:
    return {"sku_id": (await active_sku(api, c))["id"]}


async def _draft_batch(api: httpx.AsyncClient, c: Crew) -> State:
    sku = await active_sku(api, c)
    return {"batch_id": (await draft_batch(api, c, sku["id"]))["id"]}


async def _running_batch(api: httpx.AsyncClient, c: Crew) -> State:
    _, batch = await running_batch(api, c, cells=1, modules=1)
    return {"batch_id": batch["id"]}


async def _completable_batch(api: httpx.AsyncClient, c: Crew) -> State:
    _, batch = await running_batch(api, c, cells=1, modules=1)
    await dispose(api, c, (await ready_pack(api, c, batch))["id"], "PASS")
    return {"batch_id": batch["id"]}


async def _draft_module(api: httpx.AsyncClient, c: Crew) -> State:
    _, batch = await running_batch(api, c, cells=2, modules=1)
    return {"module_id": (await new_module(api, c, batch["id"]))["id"]}


async def _full_module(api: httpx.AsyncClient, c: Crew) -> State:
    _, batch = await running_batch(api, c, cells=1, modules=1)
    module = await new_module(api, c, batch["id"])
    data(await bind_cell(api, c, module["id"]))
    return {"module_id": module["id"]}


async def _pack_and_module(api: httpx.AsyncClient, c: Crew) -> State:
    _, batch = await running_batch(api, c, cells=1, modules=1)
    module = await sealed_module(api, c, batch["id"], 1)
    return {"pack_id": (await new_pack(api, c, batch["id"]))["id"], "module_id": module["id"]}


async def _full_pack(api: httpx.AsyncClient, c: Crew) -> State:
    _, batch = await running_batch(api, c, cells=1, modules=1)
    module = await sealed_module(api, c, batch["id"], 1)
    return {"pack_id": (await new_pack(api, c, batch["id"], [module["id"]]))["id"]}


async def _ready_pack(api: httpx.AsyncClient, c: Crew) -> State:
    _, batch = await running_batch(api, c, cells=1, modules=1)
    return {"pack_id": (await ready_pack(api, c, batch))["id"]}


# --- observations --------------------------------------------------------------------------------------

def _sku_rows(session_factory: Any) -> Callable[[httpx.AsyncClient, Crew, State], Awaitable[Any]]:
    async def observe(api: httpx.AsyncClient, c: Crew, state: State) -> Any:
        with session_factory() as session:
            return session.query(Sku).filter(Sku.sku_code == state["sku_code"]).count()

    return observe


def cases(session_factory: Any) -> dict[str, Case]:
    production, completers = frozenset({"PRODUCTION"}), frozenset({"SUPERVISOR", "QA"})
    return {
        "POST /skus": Case(
            frozenset({"SUPERVISOR"}), _sku_code,
            lambda api, u, s: api.post(f"{V1}/skus", json={"sku_code": s["sku_code"], "name": "R",
                                                           "cells_per_module": 1, "modules_per_pack": 1},
                                       headers=u.headers),
            _sku_rows(session_factory), lambda seen: seen == 1, 201),
        "PATCH /skus/{id}/activate": Case(
            frozenset(), _draft_sku,
            lambda api, u, s: api.patch(f"{V1}/skus/{s['sku_id']}/activate", headers=u.headers),
            _entity("skus/{sku_id}"), lambda seen: seen["status"] == "ACTIVE"),
        "POST /batches": Case(
            production, _active_sku,
            lambda api, u, s: api.post(f"{V1}/batches", json={"sku_id": s["sku_id"], "target_quantity": 1},
                                       headers=u.headers),
            _count("batches", "sku_id"), lambda seen: seen == 1, 201),
        "PATCH /batches/{id}/start": Case(
            production, _draft_batch,
            lambda api, u, s: api.patch(f"{V1}/batches/{s['batch_id']}/start", headers=u.headers),
            _entity("batches/{batch_id}"), lambda seen: seen["status"] == "IN_PROGRESS"),
        "PATCH /batches/{id}/complete": Case(
            completers, _completable_batch,
            lambda api, u, s: api.patch(f"{V1}/batches/{s['batch_id']}/complete", headers=u.headers),
            _entity("batches/{batch_id}"), lambda seen: seen["status"] == "COMPLETED"),
        "POST /modules": Case(
            production, _running_batch,
            lambda api, u, s: api.post(f"{V1}/modules", json={"batch_id": s["batch_id"],
                                                              "serial_number": unique("MOD")}, headers=u.headers),
            _count("modules", "batch_id"), lambda seen: seen == 1, 201),
        "PATCH /modules/{id}/bind-cell": Case(
            production, _draft_module,
            lambda api, u, s: api.patch(f"{V1}/modules/{s['module_id']}/bind-cell",
                                        json={"cell_serial": unique("CELL")}, headers=u.headers),
            _entity("modules/{module_id}", "cell_count"), lambda seen: seen["cell_count"] == 1),
        "PATCH /modules/{id}/seal": Case(
            production, _full_module,
            lambda api, u, s: api.patch(f"{V1}/modules/{s['module_id']}/seal", headers=u.headers),
            _entity("modules/{module_id}"), lambda seen: seen["status"] == "SEALED"),
        "POST /packs": Case(
            production, _running_batch,
            lambda api, u, s: api.post(f"{V1}/packs", json={"batch_id": s["batch_id"],
                                                            "serial_number": unique("PACK")}, headers=u.headers),
            _count("packs", "batch_id"), lambda seen: seen == 1, 201),
        "PATCH /packs/{id}/bind-module": Case(
            production, _pack_and_module,
            lambda api, u, s: api.patch(f"{V1}/packs/{s['pack_id']}/bind-module",
                                        json={"module_id": s["module_id"]}, headers=u.headers),
            _entity("packs/{pack_id}", "module_count"), lambda seen: seen["module_count"] == 1),
        "PATCH /packs/{id}/seal": Case(
            production, _full_pack,
            lambda api, u, s: api.patch(f"{V1}/packs/{s['pack_id']}/seal", headers=u.headers),
            _entity("packs/{pack_id}"), lambda seen: seen["status"] == "READY_FOR_EOL"),
        "PATCH /packs/{id}/disposition": Case(
            frozenset({"QA"}), _ready_pack,
            lambda api, u, s: api.patch(f"{V1}/packs/{s['pack_id']}/disposition", json={"disposition": "PASS"},
                                        headers=u.headers),
            _entity("packs/{pack_id}", "disposition"), lambda seen: seen["status"] == "FINALIZED"),
    }


ENDPOINTS = list(cases(None))


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("endpoint", ENDPOINTS)
async def test_role_table(api, make_user, session_factory, endpoint, role):
    c = await crew(make_user)
    case = cases(session_factory)[endpoint]
    user = await user_with_role(make_user, role)
    state = await case.arrange(api, c)
    before = await case.observe(api, c, state)
    response = await case.act(api, user, state)
    after = await case.observe(api, c, state)
    if role in ADMIN_ROLES or role in case.allowed:
        assert data(response, case.status)
        assert case.succeeded(after), after
    else:
        error(response, 403, "ACCESS_DENIED")
        assert after == before


@pytest.mark.parametrize("role", ROLES)
async def test_every_role_may_read(api, make_user, role):
    c = await crew(make_user)
    user = await user_with_role(make_user, role)
    sku, batch = await running_batch(api, c, cells=1, modules=1)
    module = await sealed_module(api, c, batch["id"], 1)
    pack = await new_pack(api, c, batch["id"], [module["id"]])
    for path in ("skus", "batches", "modules", "packs"):
        response = await api.get(f"{V1}/{path}", headers=user.headers)
        assert response.status_code == 200, response.text
        assert response.json()["success"] is True and "meta" in response.json()
    for path in (f"skus/{sku['id']}", f"batches/{batch['id']}", f"modules/{module['id']}", f"packs/{pack['id']}"):
        assert data(await api.get(f"{V1}/{path}", headers=user.headers))["id"] in (sku["id"], batch["id"],
                                                                                    module["id"], pack["id"])


async def test_workflow_validators_also_refuse_roles(api, make_user, temporal_client):
    """The lifecycle checks permission too: an update with an unfit actor is rejected, nothing written."""
    c = await crew(make_user)
    sku = await active_sku(api, c)
    batch = await draft_batch(api, c, sku["id"])
    handle = temporal_client.get_workflow_handle(batch_workflow_id(batch["id"]))
    with pytest.raises(WorkflowUpdateFailedError) as failure:
        await handle.execute_update(ProductionBatchWorkflow.start,
                                    Transition(action="start", actor=Actor(id=c.qa.id, role="qa")))
    assert isinstance(failure.value.cause, ApplicationError) and failure.value.cause.type == "ACCESS_DENIED"
    assert (await fetch(api, c, f"batches/{batch['id']}"))["status"] == "DRAFT"

    _, running = await running_batch(api, c, cells=1, modules=1)
    pack = await ready_pack(api, c, running)
    pack_handle = temporal_client.get_workflow_handle(pack_workflow_id(pack["id"]))
    with pytest.raises(WorkflowUpdateFailedError) as failure:
        await pack_handle.execute_update(PackWorkflow.disposition, Transition(
            action="disposition", actor=Actor(id=c.production.id, role="production"),
            payload={"disposition": "PASS"}))
    assert isinstance(failure.value.cause, ApplicationError) and failure.value.cause.type == "ACCESS_DENIED"
    after = await fetch(api, c, f"packs/{pack['id']}")
    assert after["status"] == "READY_FOR_EOL" and after["version"] == pack["version"]
    done = await dispose(api, c, pack["id"], "PASS")
    assert done["status"] == "FINALIZED"
