"""The NCR report lifecycle through the §6.4 endpoint (`POST /api/v1/workflows/ncr_report/{id}/transition/{code}`):
the contract's 200 and 403 examples, the whole path to `closed` with `reopen`, assignment, every refusal changing
nothing, escalation after the severity's SLA, and the work order told when its NCR is approved."""

import asyncio
import uuid

import pytest
from sqlalchemy import select
from temporalio import workflow
from temporalio.client import WorkflowExecutionStatus
from temporalio.worker import UnsandboxedWorkflowRunner, Worker

from core.db import session_scope
from models.notifications import Notification
from models.quality import NonConformance
from tests.conftest import eventually, unique
from tests.quality.helpers import detail, move, ncr_type_id, ok, raise_report, role_of, seed_work_order

pytestmark = pytest.mark.asyncio(loop_scope="session")
ANSWER_KEYS = {"previous_state", "current_state", "current_assignee", "performed_by", "performed_at"}


async def raised(api, make_user, session_factory, **form) -> dict:
    await make_user("quality_manager")  # someone holds the first state's role
    inspector = await make_user("inspector")
    return ok(await raise_report(api, inspector, ncr_type_id(session_factory), **form), 201)


async def test_the_contract_examples_the_assignee_approves_anyone_else_is_refused(api, make_user, session_factory,
                                                                                 admin):
    report = await raised(api, make_user, session_factory)
    assignee, stranger = report["current_assignee"], await make_user("quality_manager")
    await make_user("supervisor")  # someone to take the approved report

    refused = await move(api, stranger, report["id"], "approve", comment="Root cause identified")
    assert refused.status_code == 403
    assert refused.json() == {"error": "Not authorized", "code": "ACCESS_DENIED",
                              "reason": f"This task is assigned to {assignee['name']}, not you"}

    ok(await move(api, admin, report["id"], "assign", assignee_id=stranger.id, comment="Yours now"))
    answer = ok(await move(api, stranger, report["id"], "approve",
                           comment="Root cause identified, approved for disposition"))

    assert set(answer) == ANSWER_KEYS
    assert (answer["previous_state"], answer["current_state"]) == ("submitted", "approved")
    assert answer["performed_by"] == {"id": stranger.id, "name": stranger.username}
    assert role_of(session_factory, answer["current_assignee"]["id"]) == "supervisor"
    assert answer["performed_at"].endswith("Z")
    shown = await detail(api, stranger, report["id"])
    assert shown["status"] == "approved" and shown["current_assignee"] == answer["current_assignee"]
    assert [(h["transition_code"], h["comment"]) for h in shown["history"]] == [
        ("submit", None), ("assign", "Yours now"), ("approve", "Root cause identified, approved for disposition")]


async def test_the_whole_path_to_closed_with_a_reopen(api, make_user, session_factory, admin, temporal_client):
    for holder_role in ("supervisor", "inspector"):
        await make_user(holder_role)
    report = await raised(api, make_user, session_factory)
    path: list[tuple[str, str, str | None]] = [
        ("review", "under_review", "quality_manager"), ("approve", "approved", "supervisor"),
        ("start", "in_progress", "supervisor"), ("resolve", "resolved", "inspector"),
        ("verify", "verified", "quality_manager"), ("reopen", "in_progress", "supervisor"),
        ("resolve", "resolved", "inspector"), ("verify", "verified", "quality_manager"), ("close", "closed", None)]
    state = "submitted"
    for code, target, role in path:
        answer = ok(await move(api, admin, report["id"], code))
        assert (answer["previous_state"], answer["current_state"]) == (state, target), code
        holder = answer["current_assignee"]
        assert (role_of(session_factory, holder["id"]) if holder else None) == role, code
        state = target

    shown = await detail(api, admin, report["id"])
    assert (shown["status"], shown["current_assignee"]) == ("closed", None)
    assert [h["transition_code"] for h in shown["history"]] == ["submit", *[code for code, _, _ in path]]
    assert await temporal_client.get_workflow_handle(f"ncr-report-{report['id']}").result() == "closed"
    with session_scope(session_factory) as session:
        assert session.get_one(NonConformance, report["id"]).closed_at is not None

    after = await move(api, admin, report["id"], "approve")  # the lifecycle has ended
    assert after.status_code == 400
    assert after.json() == {"error": "Invalid transition", "code": "INVALID_STATUS",
                            "reason": "Cannot approve from closed; allowed: none"}


async def test_quality_managers_assign_operators_may_not(api, make_user, session_factory):
    report = await raised(api, make_user, session_factory)
    manager, colleague, operator = (await make_user("quality_manager"), await make_user("QUALITY_MANAGER"),
                                    await make_user("operator"))

    assigned = ok(await move(api, manager, report["id"], "assign", assignee_id=colleague.id))

    assert (assigned["previous_state"], assigned["current_state"]) == ("submitted", "submitted")
    assert assigned["current_assignee"] == {"id": colleague.id, "name": colleague.username}
    refused = await move(api, operator, report["id"], "assign", assignee_id=operator.id)
    assert refused.status_code == 403 and refused.json()["reason"] == (
        "Only quality_manager or admin may assign this NCR report")


async def test_refused_transitions_change_nothing(api, make_user, session_factory):
    report = await raised(api, make_user, session_factory)
    manager, operator = await make_user("quality_manager"), await make_user("operator")
    before = await detail(api, manager, report["id"])

    unknown = await move(api, manager, report["id"], "fly")
    assert unknown.status_code == 400 and unknown.json() == {
        "error": "Invalid transition", "code": "INVALID_STATUS",
        "reason": "Cannot fly from submitted; allowed: review, approve, reject, assign"}
    skipped = await move(api, manager, report["id"], "close")
    assert skipped.status_code == 400 and skipped.json()["reason"].startswith("Cannot close from submitted")
    for body in ({"assignee_id": operator.id}, {}):
        wrong = await move(api, manager, report["id"], "assign", **body)
        assert wrong.status_code == 400, wrong.text
        assert wrong.json()["error"] == "Validation failed"
        assert [d["field"] for d in wrong.json()["details"]] == ["assignee_id"]
    missing = await move(api, manager, 2**31 - 1, "approve")
    assert missing.status_code == 404 and missing.json() == {
        "error": "Not found", "code": "NOT_FOUND", "reason": f"NCR report {2**31 - 1} not found"}
    elsewhere = await api.post(f"/api/v1/workflows/rda_drawing/{report['id']}/transition/approve",
                               headers=manager.headers, json={})
    assert elsewhere.status_code == 404

    assert await detail(api, manager, report["id"]) == before


async def test_racing_transitions_get_one_winner(api, make_user, session_factory, admin):
    report = await raised(api, make_user, session_factory)

    answers = await asyncio.gather(move(api, admin, report["id"], "approve"), move(api, admin, report["id"], "reject"))

    assert sorted(a.status_code for a in answers) == [200, 400]
    shown = await detail(api, admin, report["id"])
    assert [h["transition_code"] for h in shown["history"]][1:] in (["approve"], ["reject"])


async def test_an_untouched_report_escalates_to_the_admins_after_its_sla(api, make_user, session_factory, admin,
                                                                        settings, monkeypatch, temporal_client):
    monkeypatch.setattr(settings, "erp_ncr_sla_seconds_major", 1)  # read when the lifecycle starts
    report = await raised(api, make_user, session_factory, severity="major")

    async def level() -> int:
        return int((await detail(api, admin, report["id"]))["escalation_level"])

    await eventually(lambda: _at_least(level, 2), timeout=20)  # again after each further SLA
    shown = await detail(api, admin, report["id"])
    escalations = [h for h in shown["history"] if h["transition_code"] == "escalate"]
    assert escalations[0]["from_state"] == escalations[0]["to_state"] == "submitted"
    assert escalations[0]["performed_by"] is None and escalations[0]["assignee"] == report["current_assignee"]
    with session_scope(session_factory) as session:
        subjects = list(session.scalars(select(Notification.subject).where(
            Notification.kind == "ncr_report_escalation", Notification.recipient_user_id == admin.id,
            Notification.reference_id == report["id"])))
    assert len(subjects) >= 2 and report["ncr_number"] in subjects[0]

    ok(await move(api, admin, report["id"], "reject", comment="Duplicate"))  # a final state ends the escalations
    assert await temporal_client.get_workflow_handle(f"ncr-report-{report['id']}").result() == "rejected"


async def _at_least(level, wanted: int) -> bool:
    return await level() >= wanted


@workflow.defn(name="HoldRecorder")
class HoldRecorder:
    """Stands in for a held work order's lifecycle: records the NCRs whose approval it is told of."""

    def __init__(self) -> None:
        self.cleared: list[int] = []

    @workflow.run
    async def run(self) -> list[int]:
        await workflow.wait_condition(lambda: bool(self.cleared))
        return self.cleared

    @workflow.signal(name="hold_cleared")
    def hold_cleared(self, ncr_id: int) -> None:
        self.cleared.append(ncr_id)


async def test_approval_tells_the_work_order_its_hold_cleared(api, make_user, session_factory, admin,
                                                             temporal_client):
    work_order_id, _ = seed_work_order(session_factory)
    report = await raised(api, make_user, session_factory, work_order_id=work_order_id)
    queue = unique("hold-recorder")
    async with Worker(temporal_client, task_queue=queue, workflows=[HoldRecorder],
                      workflow_runner=UnsandboxedWorkflowRunner()):
        held = await temporal_client.start_workflow(HoldRecorder.run, id=f"work-order-{work_order_id}",
                                                    task_queue=queue)
        ok(await move(api, admin, report["id"], "approve"))
        assert await asyncio.wait_for(held.result(), timeout=10) == [report["id"]]


async def test_a_work_order_without_a_lifecycle_does_not_stop_the_report(api, make_user, session_factory, admin,
                                                                        temporal_client):
    work_order_id, _ = seed_work_order(session_factory)
    report = await raised(api, make_user, session_factory, work_order_id=work_order_id)

    ok(await move(api, admin, report["id"], "approve"))
    started = ok(await move(api, admin, report["id"], "start"))

    assert started["current_state"] == "in_progress"
    handle = temporal_client.get_workflow_handle(f"ncr-report-{report['id']}")
    assert (await handle.describe()).status == WorkflowExecutionStatus.RUNNING


async def test_a_retried_transition_applies_once(api, make_user, session_factory, admin):
    report = await raised(api, make_user, session_factory)
    headers = {**admin.headers, "Idempotency-Key": str(uuid.uuid4())}
    path = f"/api/v1/workflows/ncr_report/{report['id']}/transition/review"

    first = await api.post(path, headers=headers, json={})
    again = await api.post(path, headers=headers, json={})

    assert first.status_code == again.status_code == 200 and first.json() == again.json()
    history = (await detail(api, admin, report["id"]))["history"]
    assert [h["transition_code"] for h in history] == ["submit", "review"]
