"""ERP NCR reports (manufacturing-erp.md §6.3): the contract's example (a report with two photos, assigned to the
least loaded quality manager), its refusals, the list and its filters, one report with its history, NCR types, the
workflow definition it runs on, and the entry point other areas use (`raise_ncr` + `start_ncr_report_lifecycle`)."""

import re

import pytest
from sqlalchemy import func, select, update
from temporalio.client import WorkflowExecutionStatus

from api.quality.ncr_report_calls import start_ncr_report_lifecycle
from core.db import session_scope
from models.audit import AuditEntry
from models.identity import User
from models.quality import NonConformance
from services.approvals import definitions
from services.quality import ncr_reports
from services.quality.assignees import least_loaded_assignee
from tests.conftest import unique
from tests.quality.helpers import (
    JPEG,
    PNG,
    V1,
    detail,
    move,
    ncr_type_id,
    ok,
    raise_report,
    role_of,
    seed_work_order,
    use_own_store,
)

pytestmark = pytest.mark.asyncio(loop_scope="session")
REPORT_KEYS = {"id", "ncr_number", "ncr_type", "severity", "status", "work_order_number", "photos",
               "current_assignee", "created_at"}


@pytest.fixture
def store(settings, monkeypatch, tmp_path):
    return use_own_store(settings, monkeypatch, tmp_path)


async def test_the_contract_example_raises_a_submitted_report_with_two_photos(api, make_user, session_factory,
                                                                             temporal_client, store):
    await make_user("quality_manager")  # someone to assign it to
    inspector = await make_user("inspector")
    work_order_id, work_order_number = seed_work_order(session_factory)

    created = ok(await raise_report(api, inspector, ncr_type_id(session_factory), work_order_id=work_order_id,
                                    photos=[("weld-1.jpg", JPEG, "image/jpeg"), ("weld-2.png", PNG, "image/png")]),
                 201)

    assert set(created) == REPORT_KEYS
    assert re.fullmatch(r"NCR-\d{4}-\d{3,}", created["ncr_number"])
    assert (created["ncr_type"], created["severity"], created["status"]) == ("Process Deviation", "major", "submitted")
    assert created["work_order_number"] == work_order_number
    assert [set(p) for p in created["photos"]] == [{"id", "url"}, {"id", "url"}]
    assert all(p["url"].startswith(f"/api/v1/files/ncr/{created['id']}/") for p in created["photos"])
    assignee = created["current_assignee"]
    assert set(assignee) == {"id", "name"} and role_of(session_factory, assignee["id"]) == "quality_manager"
    assert created["created_at"].endswith("Z")

    first, second = created["photos"]
    served = await api.get(first["url"], headers=inspector.headers)
    assert served.status_code == 200 and served.content == JPEG and served.headers["content-type"] == "image/jpeg"
    assert (await api.get(second["url"], headers=inspector.headers)).content == PNG

    one = await detail(api, inspector, created["id"])
    assert {k: one[k] for k in REPORT_KEYS} == created
    assert one["description"] == "Cracks found on welded joint" and one["escalation_level"] == 0
    assert [(h["transition_code"], h["from_state"], h["to_state"], h["performed_by"]["id"], h["assignee"])
            for h in one["history"]] == [("submit", None, "submitted", inspector.id, assignee)]

    handle = temporal_client.get_workflow_handle(f"ncr-report-{created['id']}")
    assert (await handle.describe()).status == WorkflowExecutionStatus.RUNNING
    with session_scope(session_factory) as session:
        actions = session.scalars(select(AuditEntry.action_type).where(AuditEntry.entity_type == "ncr_report",
                                                                       AuditEntry.entity_id == str(created["id"])))
        assert list(actions) == ["NCR_REPORT_RAISED"]


async def test_reports_and_the_other_ncrs_share_one_number_sequence(api, make_user, session_factory):
    inspector = await make_user("inspector")
    first = ok(await raise_report(api, inspector, ncr_type_id(session_factory)), 201)
    with session_scope(session_factory) as session:
        stock_like = ncr_reports.raise_ncr(session, actor_id=inspector.id, ncr_type_name="inspection failure",
                                           severity="minor", description="Bore out of tolerance", work_order_id=None)
        number = stock_like.ncr_number
    year, _, count = first["ncr_number"].rpartition("-")
    assert number.startswith(f"{year}-") and int(number.rpartition("-")[2]) > int(count)


async def test_refusals_name_the_field_and_create_nothing(api, make_user, session_factory, store):
    inspector, operator = await make_user("inspector"), await make_user("operator")
    marker = unique("refused")
    type_id = ncr_type_id(session_factory)

    cases = [
        (await raise_report(api, inspector, 999999, description=marker), "ncr_type_id"),
        (await raise_report(api, inspector, type_id, description=marker, work_order_id=999999), "work_order_id"),
        (await raise_report(api, inspector, type_id, description=marker, severity="urgent"), "severity"),
        (await raise_report(api, inspector, type_id, description=""), "description"),
    ]
    for response, field in cases:
        assert response.status_code == 400, response.text
        body = response.json()
        assert body["error"] == "Validation failed" and [d["field"] for d in body["details"]] == [field], body

    denied = await raise_report(api, operator, type_id, description=marker)
    assert denied.status_code == 403 and denied.json()["error"]
    anonymous = await api.post(f"{V1}/ncr-reports", data={"ncr_type_id": str(type_id), "severity": "minor",
                                                          "description": marker})
    assert anonymous.status_code == 401
    with session_scope(session_factory) as session:
        assert session.scalar(select(func.count()).where(NonConformance.description == marker)) == 0


async def test_the_list_filters_by_status_severity_work_order_and_assignee(api, make_user, session_factory, admin):
    inspector, quality = await make_user("inspector"), await make_user("quality_manager")
    other_quality = await make_user("quality_manager")
    work_order_id, work_order_number = seed_work_order(session_factory)
    type_id = ncr_type_id(session_factory, "Dimensional")
    critical = ok(await raise_report(api, inspector, type_id, severity="critical", work_order_id=work_order_id), 201)
    minor = ok(await raise_report(api, inspector, type_id, severity="minor", work_order_id=work_order_id), 201)
    ok(await move(api, admin, minor["id"], "assign", assignee_id=quality.id))
    ok(await move(api, admin, critical["id"], "assign", assignee_id=other_quality.id))

    by_order = ok(await api.get(f"{V1}/ncr-reports", params={"work_order_id": work_order_id},
                                headers=inspector.headers))
    assert by_order["total"] == 2 and (by_order["page"], by_order["per_page"]) == (1, 50)
    assert [r["id"] for r in by_order["ncr_reports"]] == [minor["id"], critical["id"]]  # newest first
    assert {r["work_order_number"] for r in by_order["ncr_reports"]} == {work_order_number}

    severe = ok(await api.get(f"{V1}/ncr-reports", params={"work_order_id": work_order_id, "severity": "critical"},
                              headers=inspector.headers))
    assert [r["id"] for r in severe["ncr_reports"]] == [critical["id"]]
    mine = ok(await api.get(f"{V1}/ncr-reports", params={"assignee_id": quality.id, "status": "submitted",
                                                         "work_order_id": work_order_id}, headers=quality.headers))
    assert [r["id"] for r in mine["ncr_reports"]] == [minor["id"]]
    assert mine["ncr_reports"][0]["current_assignee"]["id"] == quality.id
    none = ok(await api.get(f"{V1}/ncr-reports", params={"work_order_id": work_order_id, "status": "closed"},
                            headers=inspector.headers))
    assert none == {"ncr_reports": [], "total": 0, "page": 1, "per_page": 50}
    too_many = await api.get(f"{V1}/ncr-reports", params={"per_page": 101}, headers=inspector.headers)
    assert too_many.status_code == 400 and too_many.json()["details"][0]["field"] == "query.per_page"
    assert (await api.get(f"{V1}/ncr-reports/{2**31 - 1}", headers=inspector.headers)).status_code == 404


async def test_another_kind_of_ncr_is_no_report(api, make_user, session_factory):
    inspector = await make_user("inspector")
    with session_scope(session_factory) as session:
        other = NonConformance(ncr_number=unique("NCR-X"), kind="manual", status="OPEN", title="a stock claim")
        session.add(other)
        session.flush()
        other_id = other.id
    missing = await api.get(f"{V1}/ncr-reports/{other_id}", headers=inspector.headers)
    assert missing.status_code == 404
    assert missing.json() == {"error": "Not found", "code": "NOT_FOUND", "reason": f"NCR report {other_id} not found"}


async def test_ncr_types_are_listed_and_added_by_quality_managers(api, make_user):
    quality, inspector = await make_user("quality_manager"), await make_user("inspector")
    listed = ok(await api.get(f"{V1}/ncr-types", params={"per_page": 100}, headers=inspector.headers))
    names = [t["name"] for t in listed["ncr_types"]]
    assert names[:6] == ["Process Deviation", "Material Defect", "Dimensional", "Inspection Failure",
                         "Supplier Quality", "Workmanship"]

    name = unique("Surface Finish")
    created = ok(await api.post(f"{V1}/ncr-types", headers=quality.headers,
                                json={"name": name, "description": "Scratches, pits"}), 201)
    assert created == {"id": created["id"], "name": name, "description": "Scratches, pits", "is_active": True}
    again = await api.post(f"{V1}/ncr-types", headers=quality.headers, json={"name": name.upper()})
    assert again.status_code == 400
    assert again.json()["error"] == "Validation failed" and again.json()["details"][0]["field"] == "name"
    assert (await api.post(f"{V1}/ncr-types", headers=inspector.headers, json={"name": unique("x")})).status_code == 403


async def test_the_workflow_definition_is_data_anyone_signed_in_reads(api, make_user):
    operator = await make_user("operator")
    shown = ok(await api.get(f"{V1}/workflow-definitions/ncr_report", headers=operator.headers))

    assert (shown["entity_type"], shown["initial_state"]) == ("ncr_report", "submitted")
    assert [(s["code"], s["role"], s["final"]) for s in shown["states"]] == [
        ("submitted", "quality_manager", False), ("under_review", "quality_manager", False),
        ("approved", "supervisor", False), ("in_progress", "supervisor", False), ("resolved", "inspector", False),
        ("verified", "quality_manager", False), ("rejected", None, True), ("closed", None, True)]
    assign = next(t for t in shown["transitions"] if t["code"] == "assign")
    assert assign["to"] is None and assign["roles"] == ["quality_manager", "admin"]
    approve = next(t for t in shown["transitions"] if t["code"] == "approve")
    assert approve == {"code": "approve", "name": "Approve", "from": ["submitted", "under_review"], "to": "approved",
                       "roles": None}
    unknown = await api.get(f"{V1}/workflow-definitions/rda_drawing", headers=operator.headers)
    assert unknown.status_code == 404 and unknown.json()["error"] == "Not found"
    assert (await api.get(f"{V1}/workflow-definitions/ncr_report")).status_code == 401


async def test_the_definition_answers_what_a_state_allows(session_factory):
    with session_scope(session_factory) as session:
        definition = definitions.load(session, "ncr_report")
        assert definitions.load(session, "ncr_report") is definition  # cached while its version stands
    assert definition.allowed_from("submitted") == ["review", "approve", "reject", "assign"]
    assert definition.allowed_from("verified") == ["close", "reopen", "assign"]
    assert definition.allowed_from("closed") == []
    assert definition.target_of("reopen", "verified") == "in_progress"
    assert definition.target_of("assign", "resolved") == "resolved"
    assert (definition.role_of("resolved"), definition.is_final("rejected"), definition.is_final("approved")) == (
        "inspector", True, False)


async def test_least_loaded_holder_gets_the_task(session_factory):
    """Inside one transaction that is rolled back: only this test's users hold the role."""
    with session_factory() as session:
        session.execute(update(User).where(func.lower(User.role) == "supervisor").values(is_active=False))
        assert least_loaded_assignee(session, "SUPERVISOR") is None
        busy, idle = _user(session, "supervisor"), _user(session, "Supervisor")
        _user(session, "supervisor", active=False)
        session.add(NonConformance(ncr_number=unique("NCR-T"), kind="erp", status="approved", title="open",
                                   current_assignee_id=busy))
        session.add(NonConformance(ncr_number=unique("NCR-T"), kind="erp", status="closed", title="done",
                                   current_assignee_id=idle))
        session.flush()
        assert least_loaded_assignee(session, "supervisor") == idle  # closed ones do not count
        session.add(NonConformance(ncr_number=unique("NCR-T"), kind="erp", status="in_progress", title="open",
                                   current_assignee_id=idle))
        session.flush()
        assert least_loaded_assignee(session, "supervisor") == min(busy, idle)  # a tie: the lowest id
        session.rollback()


def _user(session, role: str, active: bool = True) -> int:
    name = unique("u")
    user = User(user_id=name, username=name, email=f"{name}@example.com", password_hash="x", role=role,
                            is_active=active)
    session.add(user)
    session.flush()
    return int(user.id)


async def test_other_areas_raise_a_report_and_start_its_lifecycle(api, make_user, session_factory, temporal_client,
                                                                  admin):
    await make_user("quality_manager")
    inspector = await make_user("inspector")
    work_order_id, _ = seed_work_order(session_factory)
    with session_scope(session_factory) as session:
        raised = ncr_reports.raise_ncr(session, actor_id=inspector.id, ncr_type_name="Inspection Failure",
                                       severity="critical", description="Bore 25.08 mm, limit 25.05",
                                       work_order_id=work_order_id)
        ncr_id = raised.id
    await start_ncr_report_lifecycle(temporal_client, ncr_id)

    reviewed = ok(await move(api, admin, ncr_id, "review", comment="Looking into it"))
    assert (reviewed["previous_state"], reviewed["current_state"]) == ("submitted", "under_review")
    shown = await detail(api, inspector, ncr_id)
    assert (shown["ncr_type"], shown["severity"], shown["photos"]) == ("Inspection Failure", "critical", [])
    assert [h["transition_code"] for h in shown["history"]] == ["submit", "review"]


async def test_a_report_whose_lifecycle_never_started_still_moves(api, make_user, session_factory, admin,
                                                                 temporal_client):
    inspector = await make_user("inspector")
    with session_scope(session_factory) as session:  # as if the API died between the commit and the start
        ncr_id = ncr_reports.raise_ncr(session, actor_id=inspector.id, ncr_type_name="Workmanship", severity="minor",
                                       description="Scratched housing", work_order_id=None).id

    moved = ok(await move(api, admin, ncr_id, "reject", comment="Cosmetic, within limits"))

    assert (moved["previous_state"], moved["current_state"], moved["current_assignee"]) == (
        "submitted", "rejected", None)
    assert await temporal_client.get_workflow_handle(f"ncr-report-{ncr_id}").result() == "rejected"
