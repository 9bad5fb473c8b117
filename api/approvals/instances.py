"""`/api/v1/workflows` (aerospace "13. Workflow Management with PO Approval"): approval templates, approval
instances and their decisions (a purchase order's submit, approval status, the approver's summary and audit trails:
api/procurement/approvals.py).

Decisions are updates of the workflow that runs the instance's approval engine, whose validator decides who
may decide: a purchase order's own lifecycle (`purchase-order-{id}`), or the request's `approval-{id}`
workflow (a standalone request's is started here). A final decision answers once its outcome is applied."""

import asyncio
import logging
from typing import Annotated, Any

from fastapi import Depends, Query, Request
from temporalio.client import Client, WorkflowFailureError
from temporalio.common import WorkflowIDReusePolicy
from temporalio.exceptions import WorkflowAlreadyStartedError
from temporalio.service import RPCError

from api.approvals.decisions import decide, outcome_applied
from api.approvals.schemas import (
    ApprovalInstanceDetailOut,
    ApprovalInstanceOut,
    ApprovalInstancePage,
    ApprovalStepOut,
    ApprovalTaskOut,
    ApprovalTemplateOut,
    BulkDecisionBody,
    BulkDecisionOut,
    CancelBody,
    DecisionBody,
    InstanceCreate,
    StepIn,
    TemplateCreate,
    TemplateUpdate,
    numbered,
)
from api.contracts.dialects import Dialect, dialect_router
from api.contracts.types import DbId, PageNumber, SafeStr
from api.contracts.wire import WireResponse, paged
from api.deps import CurrentUser, SessionDep, TemporalDep, actor_of, in_transaction
from api.lifecycle import WorkflowGone, guarded, search_attributes, transition
from core.errors import AppError, access_denied, workflow_violation
from core.permissions import is_admin_equivalent
from core.settings import get_settings
from dto.approvals import ApprovalAction, ApprovalOutcome, Decision, DecisionResult
from services.approvals import reads as queries
from services.approvals import templates
from services.approvals.reads import DecisionTarget
from services.identity import Principal
from workflows.approvals.approval import ApprovalWorkflow, approval_workflow_id

log = logging.getLogger("api.workflows")
router = dialect_router(Dialect.AEROSPACE, prefix="/api/v1/workflows", tags=["workflows"])
BULK_CONCURRENCY = 8


def _director(user: CurrentUser) -> Principal:
    """Template changes are the Director's (and the other admin-equivalents')."""
    if not is_admin_equivalent(user.role, user.is_superuser):
        raise access_denied("Only a Director or an administrator may change workflow templates")
    return user


Director = Annotated[Principal, Depends(_director)]


# --- templates ------------------------------------------------------------------------------------------

@router.get("/templates", response_model=list[ApprovalTemplateOut])
def list_templates(session: SessionDep, user: CurrentUser, entity_type: SafeStr | None = Query(None, max_length=50),
                   is_active: bool | None = None) -> Any:
    return templates.list_templates(session, entity_type, is_active)


@router.post("/templates", status_code=201, response_model=ApprovalTemplateOut)
async def create_template(body: TemplateCreate, request: Request, user: Director) -> Any:
    values = body.model_dump(exclude={"steps"})
    return await in_transaction(request, templates.create_template, values, numbered(body.steps), user.id)


@router.get("/templates/{template_id}", response_model=ApprovalTemplateOut)
def get_template(template_id: DbId, session: SessionDep, user: CurrentUser) -> Any:
    return templates.render_template(session, templates.get_template(session, template_id))


@router.put("/templates/{template_id}", response_model=ApprovalTemplateOut)
async def update_template(template_id: DbId, body: TemplateUpdate, request: Request, user: Director) -> Any:
    steps = numbered(body.steps) if body.steps is not None else None
    return await in_transaction(request, templates.update_template, template_id, body.changes(), steps, user.id)


@router.post("/templates/{template_id}/steps", status_code=201, response_model=ApprovalStepOut)
async def add_step(template_id: DbId, body: StepIn, request: Request, user: Director) -> Any:
    return await in_transaction(request, templates.add_step, template_id, body.model_dump(), user.id)


# --- instances --------------------------------------------------------------------------------------------
# An instance's `extra_data` is the requester's own JSON, whose numbers pydantic would write differently (`0.00001`
# for `1e-05`): these answers are rendered as they always were (WireResponse: json.dumps); the response models
# document them.

@router.get("/instances", response_model=ApprovalInstancePage)
def list_instances(session: SessionDep, user: CurrentUser, status: SafeStr | None = Query(None, max_length=30),
                   reference_type: SafeStr | None = Query(None, max_length=50), reference_id: DbId | None = None,
                   requested_by: DbId | None = None, page: PageNumber = 1,
                   page_size: int = Query(20, ge=1, le=100)) -> Any:
    items, total = queries.search_instances(session, (page - 1) * page_size, page_size, status=status,
                                            reference_type=reference_type, reference_id=reference_id,
                                            requested_by=requested_by)
    return WireResponse(paged(items, total, page, page_size))


@router.post("/instances", status_code=201, response_model=ApprovalInstanceOut)
async def create_instance(body: InstanceCreate, request: Request, client: TemporalDep, user: CurrentUser) -> Any:
    """A standalone approval request (purchase orders use `/po/{po_id}/submit`): planned from the entity
    type's active template; with steps, its approval workflow starts here (no step: approved at once)."""
    opened = await in_transaction(request, queries.open_instance, body.model_dump(), user.id)
    approval = opened.request
    if approval is None:
        return WireResponse(opened.view, status_code=201)
    instance_id = approval.instance_id
    try:
        await guarded(lambda: client.start_workflow(
            ApprovalWorkflow.run, approval, id=approval_workflow_id(instance_id),
            task_queue=get_settings().task_queue, id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
            search_attributes=search_attributes("approval", instance_id, "pending"),
            static_summary=f"Approval of {approval.reference_type} {approval.reference_id} ({approval.amount})"))
    except WorkflowAlreadyStartedError:
        pass
    except (AppError, WorkflowGone) as err:
        # no workflow, no request: the row goes (a workflow that did start finds no row and fails harmlessly)
        await in_transaction(request, queries.withdraw_instance, instance_id, "its approval workflow did not start")
        if isinstance(err, AppError):
            raise
        raise AppError("SERVICE_UNAVAILABLE", 503, "The lifecycle service is unavailable; retry later") from err
    return WireResponse(opened.view, status_code=201)


@router.get("/instances/{instance_id}", response_model=ApprovalInstanceDetailOut)
def get_instance(instance_id: DbId, session: SessionDep, user: CurrentUser) -> Any:
    return WireResponse(queries.instance_detail(session, instance_id))


async def _approval_closed(client: Client, instance_id: int) -> None:
    """Wait (within the update deadline) until a standalone approval has recorded its outcome."""
    handle = client.get_workflow_handle(approval_workflow_id(instance_id), result_type=ApprovalOutcome)
    try:
        async with asyncio.timeout(get_settings().update_timeout_seconds):
            await handle.result()
    except (TimeoutError, WorkflowFailureError, RPCError) as err:
        log.warning("approval %s did not report its outcome: %r", instance_id, err)


async def _settled(client: Client, target: DecisionTarget, result: DecisionResult) -> None:
    """Once this returns, the outcome is applied: the PO (or the instance) shows its new status."""
    if not await outcome_applied(client, target, result) and result.final:
        await _approval_closed(client, target.instance_id)


async def _decide(request: Request, client: Client, user: Principal, instance_id: int, action: ApprovalAction,
                  comments: str | None) -> tuple[dict[str, Any], bool]:
    """Decide the instance's current step (pinned, so a stale decision never lands on the next step)."""
    target = await in_transaction(request, queries.decision_target, instance_id)
    result = await decide(client, request, instance_id, Decision(action=action, comments=comments,
                                                                 actor=actor_of(user, request),
                                                                 step_number=target.current_step),
                          target.engine_workflow_id)
    await _settled(client, target, result)
    return queries.render_task(result.task), result.final


@router.post("/instances/{instance_id}/approve", response_model=ApprovalTaskOut)
async def approve_instance(instance_id: DbId, body: DecisionBody, request: Request, client: TemporalDep,
                           user: CurrentUser) -> Any:
    task, _ = await _decide(request, client, user, instance_id, body.action, body.comments)
    return task


@router.post("/instances/{instance_id}/cancel", response_model=ApprovalInstanceOut)
async def cancel_instance(instance_id: DbId, request: Request, client: TemporalDep, user: CurrentUser,
                          body: CancelBody | None = None) -> Any:
    """The requester (or an admin-equivalent) withdraws an open request; a purchase order goes back to draft."""
    target = await in_transaction(request, queries.cancel_target, instance_id, user)
    if target.engine_workflow_id in (None, approval_workflow_id(instance_id)):
        await _signal_cancel(client, target, user)
    else:
        await _withdraw_from_entity(client, target, target.engine_workflow_id, user)
    await in_transaction(request, queries.record_cancel_request, instance_id, user.id, body.reason if body else None)
    return WireResponse(await in_transaction(request, queries.instance_view, instance_id))


async def _withdraw_from_entity(client: Client, target: DecisionTarget, engine_workflow_id: str,
                                user: Principal) -> None:
    """The entity's own lifecycle runs the request (a PO, a transfer): it withdraws it and applies the outcome
    (a PO is a draft again, a transfer REJECTED) before answering."""

    async def gone() -> AppError:
        return workflow_violation(f"Workflow instance {target.instance_id} is no longer running",
                                  {"instance_id": target.instance_id})

    await transition(client, engine_workflow_id, "withdraw_approval", user.id, None, gone, result_type=dict)


async def _signal_cancel(client: Client, target: DecisionTarget, user: Principal) -> None:
    """A request with an approval workflow of its own: cancel it, then wait for its outcome to be applied."""
    handle = client.get_workflow_handle(approval_workflow_id(target.instance_id))
    try:
        await guarded(lambda: handle.signal(ApprovalWorkflow.cancel, user.id))
    except WorkflowGone:
        raise workflow_violation(f"Workflow instance {target.instance_id} is no longer running",
                                 {"instance_id": target.instance_id}) from None
    if not await outcome_applied(client, target, None):
        await _approval_closed(client, target.instance_id)


@router.post("/bulk-approve", response_model=BulkDecisionOut)
async def bulk_approve(body: BulkDecisionBody, request: Request, client: TemporalDep, user: CurrentUser) -> Any:
    """Each instance decided on its own (a few at a time); one refusal does not stop the others."""
    gate = asyncio.Semaphore(BULK_CONCURRENCY)

    async def one(instance_id: int) -> dict[str, Any]:
        async with gate:
            try:
                task, final = await _decide(request, client, user, instance_id, body.action, body.comments)
            except AppError as err:
                return {"instance_id": instance_id, "success": False,
                        "error": {"code": err.code, "detail": err.message}}
        return {"instance_id": instance_id, "success": True, "approval_id": task["id"],
                "step_number": task["step_number"],
                "status": body.action.value if final else "in_review"}

    results = await asyncio.gather(*(one(i) for i in dict.fromkeys(body.instance_ids)))
    succeeded = sum(1 for r in results if r["success"])
    return {"results": results, "succeeded": succeeded, "failed": len(results) - succeeded}
