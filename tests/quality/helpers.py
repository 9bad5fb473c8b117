"""What the NCR report tests share: image bytes, raising a report through the API, a work order row, moving a
report through the §6.4 endpoint, and the object store kept in a folder of the test's own."""

from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from core.db import session_scope
from core.settings import Settings
from models.catalog import Part
from models.identity import User
from models.mes import WorkOrder
from models.quality import NcrType
from tests.conftest import TestUser, unique

V1 = "/api/v1"
JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + bytes(range(64))
PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(64))
WEBP = b"RIFF\x40\x00\x00\x00WEBPVP8 " + bytes(range(64))


def ok(response: httpx.Response, status: int = 200) -> Any:
    assert response.status_code == status, response.text
    return response.json()


def use_own_store(settings: Settings, monkeypatch: Any, folder: Path) -> Path:
    """The local object store under `folder` for this test (the API and the worker read the same settings)."""
    monkeypatch.setattr(settings, "data_dir", folder)
    monkeypatch.setattr(settings, "object_store_url", None)
    return folder / "objects"


def stored_files(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*") if p.is_file()) if root.exists() else []


def ncr_type_id(session_factory: sessionmaker[Session], name: str = "Process Deviation") -> int:
    with session_scope(session_factory) as session:
        return int(session.scalars(select(NcrType.id).where(NcrType.name == name)).one())


def seed_work_order(session_factory: sessionmaker[Session]) -> tuple[int, str]:
    """A work order row (no lifecycle: the NCR's signal to it finds none unless a test starts one)."""
    with session_scope(session_factory) as session:
        part = Part(part_number=unique("PRD"), name="Welded frame", is_product=True)
        session.add(part)
        session.flush()
        order = WorkOrder(work_order_number=unique("WO"), part_id=part.id, quantity_ordered=10, status="in_progress")
        session.add(order)
        session.flush()
        return order.id, order.work_order_number


def role_of(session_factory: sessionmaker[Session], user_id: int) -> str:
    with session_scope(session_factory) as session:
        return session.get_one(User, user_id).role


def report_form(type_id: int, severity: str = "major", description: str = "Cracks found on welded joint",
                work_order_id: int | None = None) -> dict[str, str]:
    form = {"ncr_type_id": str(type_id), "severity": severity, "description": description}
    if work_order_id is not None:
        form["work_order_id"] = str(work_order_id)
    return form


async def raise_report(api: httpx.AsyncClient, user: TestUser, type_id: int, *,
                       photos: list[tuple[str, bytes, str]] | None = None, **form: Any) -> httpx.Response:
    """`POST /api/v1/ncr-reports` as the contract's multipart form: `photos[]` once per photo."""
    files = [("photos[]", photo) for photo in photos or []]
    return await api.post(f"{V1}/ncr-reports", headers=user.headers, data=report_form(type_id, **form),
                          files=files or None)


async def move(api: httpx.AsyncClient, user: TestUser, ncr_id: int, code: str, **body: Any) -> httpx.Response:
    return await api.post(f"{V1}/workflows/ncr_report/{ncr_id}/transition/{code}", headers=user.headers, json=body)


async def detail(api: httpx.AsyncClient, user: TestUser, ncr_id: int) -> dict[str, Any]:
    return ok(await api.get(f"{V1}/ncr-reports/{ncr_id}", headers=user.headers))
