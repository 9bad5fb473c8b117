"""Builders and checks for the battery-pack console tests: every entity is made through the API."""

import re
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import httpx
from temporalio.client import Client, WorkflowExecutionStatus

from core.search_attributes import ENTITY_STATUS
from core.security import jwt
from core.settings import get_settings
from dto.production import BatchProgress
from tests.conftest import TestUser, unique
from workflows.production.batch import batch_workflow_id
from workflows.production.pack import pack_workflow_id

V1 = "/api/v1"
ISO_Z = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$")
ADMIN_ROLES = ("SYSTEM_ADMIN", "admin", "director")
CONSOLE_ROLES = ("PRODUCTION", "QA", "SUPERVISOR", "VIEW_ONLY")


# --- envelopes -------------------------------------------------------------------------------------------

def data(response: httpx.Response, status: int = 200) -> Any:
    """The `data` of a success envelope, after checking status and shape."""
    assert response.status_code == status, response.text
    body = response.json()
    assert body["success"] is True, body
    assert "data" in body, body
    return body["data"]


def listing(response: httpx.Response) -> tuple[list[dict[str, Any]], dict[str, int]]:
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["success"] is True and isinstance(body["data"], list), body
    assert set(body["meta"]) == {"totalCount", "page", "pageSize"}, body["meta"]
    return body["data"], body["meta"]


def error(response: httpx.Response, status: int, code: str) -> dict[str, Any]:
    """The `error` of a failure envelope, after checking status, code and shape."""
    assert response.status_code == status, response.text
    body = response.json()
    assert body["success"] is False, body
    assert set(body["error"]) == {"code", "message", "details"}, body
    assert body["error"]["code"] == code, body
    assert isinstance(body["error"]["message"], str) and body["error"]["message"], body
    return body["error"]


def assert_timestamps_z(entity: dict[str, Any], *fields: str) -> None:
    for field in ("created_at", "updated_at", *fields):
        assert isinstance(entity[field], str) and ISO_Z.match(entity[field]), (field, entity[field])


def expired_token(user: TestUser) -> str:
    """The user's access token, re-signed with an expiry in the past."""
    secret = get_settings().jwt_secret
    claims = dict(jwt.decode(user.token, secret))
    claims["exp"] = int(time.time()) - 60
    claims["iat"] = int(time.time()) - 3600
    return jwt.encode({"alg": "HS256"}, claims, secret).decode()


# --- the people ----------------------------------------------------------------------------------------

@dataclass
class Crew:
    admin: TestUser
    production: TestUser
    qa: TestUser
    supervisor: TestUser
    view_only: TestUser


_crew: Crew | None = None
_by_role: dict[str, TestUser] = {}


async def crew(make_user: Callable[..., Awaitable[TestUser]]) -> Crew:
    """One logged-in user per console role, shared by the console tests (the session is shared too)."""
    global _crew
    if _crew is None:
        _crew = Crew(*[await user_with_role(make_user, r) for r in ("admin", *CONSOLE_ROLES)])
    return _crew


async def user_with_role(make_user: Callable[..., Awaitable[TestUser]], role: str) -> TestUser:
    if role not in _by_role:
        _by_role[role] = await make_user(role)
    return _by_role[role]


# --- builders ------------------------------------------------------------------------------------------

async def post_sku(api: httpx.AsyncClient, user: TestUser, *, cells: int = 2, modules: int = 1,
                   **fields: Any) -> httpx.Response:
    body = {"sku_code": unique("SKU"), "name": "Console pack", "chemistry": "LFP", "nominal_voltage_v": 3.2,
            "capacity_ah": 100, "cells_per_module": cells, "modules_per_pack": modules, **fields}
    return await api.post(f"{V1}/skus", json=body, headers=user.headers)


async def draft_sku(api: httpx.AsyncClient, c: Crew, *, cells: int = 2, modules: int = 1,
                    **fields: Any) -> dict[str, Any]:
    return data(await post_sku(api, c.admin, cells=cells, modules=modules, **fields), 201)


async def active_sku(api: httpx.AsyncClient, c: Crew, *, cells: int = 2, modules: int = 1,
                     **fields: Any) -> dict[str, Any]:
    sku = await draft_sku(api, c, cells=cells, modules=modules, **fields)
    return data(await api.patch(f"{V1}/skus/{sku['id']}/activate", headers=c.admin.headers))


async def draft_batch(api: httpx.AsyncClient, c: Crew, sku_id: int, **fields: Any) -> dict[str, Any]:
    body = {"sku_id": sku_id, "target_quantity": 5, **fields}
    return data(await api.post(f"{V1}/batches", json=body, headers=c.production.headers), 201)


async def running_batch(api: httpx.AsyncClient, c: Crew, *, cells: int = 2,
                        modules: int = 1) -> tuple[dict[str, Any], dict[str, Any]]:
    """An ACTIVE SKU and an IN_PROGRESS batch of it."""
    sku = await active_sku(api, c, cells=cells, modules=modules)
    batch = await draft_batch(api, c, sku["id"])
    batch = data(await api.patch(f"{V1}/batches/{batch['id']}/start", headers=c.production.headers))
    return sku, batch


async def new_module(api: httpx.AsyncClient, c: Crew, batch_id: int, serial: str | None = None) -> dict[str, Any]:
    body = {"batch_id": batch_id, "serial_number": serial or unique("MOD")}
    return data(await api.post(f"{V1}/modules", json=body, headers=c.production.headers), 201)


async def bind_cell(api: httpx.AsyncClient, c: Crew, module_id: int, serial: str | None = None,
                    **extra: Any) -> httpx.Response:
    return await api.patch(f"{V1}/modules/{module_id}/bind-cell",
                           json={"cell_serial": serial or unique("CELL"), **extra}, headers=c.production.headers)


async def bind_cells(api: httpx.AsyncClient, c: Crew, module_id: int, count: int) -> dict[str, Any]:
    module: dict[str, Any] = {}
    for _ in range(count):
        module = data(await bind_cell(api, c, module_id))
    return module


async def sealed_module(api: httpx.AsyncClient, c: Crew, batch_id: int, cells: int) -> dict[str, Any]:
    module = await new_module(api, c, batch_id)
    await bind_cells(api, c, module["id"], cells)
    return data(await api.patch(f"{V1}/modules/{module['id']}/seal", headers=c.production.headers))


async def new_pack(api: httpx.AsyncClient, c: Crew, batch_id: int, module_ids: list[int] | None = None,
                   serial: str | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {"batch_id": batch_id, "serial_number": serial or unique("PACK")}
    if module_ids is not None:
        body["module_ids"] = module_ids
    return data(await api.post(f"{V1}/packs", json=body, headers=c.production.headers), 201)


async def ready_pack(api: httpx.AsyncClient, c: Crew, batch: dict[str, Any]) -> dict[str, Any]:
    """A READY_FOR_EOL pack of `batch`, filled with freshly sealed modules."""
    sku = batch["sku"]
    modules = [await sealed_module(api, c, batch["id"], sku["cells_per_module"])
               for _ in range(sku["modules_per_pack"])]
    pack = await new_pack(api, c, batch["id"], [m["id"] for m in modules])
    return data(await api.patch(f"{V1}/packs/{pack['id']}/seal", headers=c.production.headers))


async def dispose(api: httpx.AsyncClient, c: Crew, pack_id: int, disposition: str) -> dict[str, Any]:
    return data(await api.patch(f"{V1}/packs/{pack_id}/disposition", json={"disposition": disposition},
                                headers=c.qa.headers))


async def fetch(api: httpx.AsyncClient, c: Crew, path: str) -> dict[str, Any]:
    return data(await api.get(f"{V1}/{path}", headers=c.admin.headers))


async def total(api: httpx.AsyncClient, c: Crew, path: str, **params: Any) -> int:
    _, meta = listing(await api.get(f"{V1}/{path}", params=params, headers=c.admin.headers))
    return meta["totalCount"]


async def audit_actions(api: httpx.AsyncClient, c: Crew, entity_type: str, entity_id: int) -> list[dict[str, Any]]:
    params: dict[str, str | int] = {"entity_type": entity_type, "entity_id": str(entity_id), "page_size": 500}
    response = await api.get(f"{V1}/audit-trail", params=params, headers=c.admin.headers)
    assert response.status_code == 200, response.text
    return list(reversed(response.json()["items"]))


# --- Temporal ------------------------------------------------------------------------------------------

async def pack_search_status(client: Client, pack_id: int) -> str | None:
    described = await client.get_workflow_handle(pack_workflow_id(pack_id)).describe()
    return described.typed_search_attributes.get(ENTITY_STATUS)


async def batch_search_status(client: Client, batch_id: int) -> str | None:
    described = await client.get_workflow_handle(batch_workflow_id(batch_id)).describe()
    return described.typed_search_attributes.get(ENTITY_STATUS)


async def workflow_status(client: Client, workflow_id: str) -> WorkflowExecutionStatus | None:
    return (await client.get_workflow_handle(workflow_id).describe()).status


async def batch_progress(client: Client, batch_id: int) -> dict[str, int]:
    progress = await client.get_workflow_handle(batch_workflow_id(batch_id)).query("progress",
                                                                                   result_type=BatchProgress)
    return progress.model_dump()
