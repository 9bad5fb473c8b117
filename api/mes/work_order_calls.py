"""Calls into the work-order lifecycle (`work-order-{id}`) shared by `/api/v1/work-orders`, the §6.4 transition
endpoint (entity type `work_order`) and production logs: create with update-with-start, transitions as one update,
a production log's news as a signal. Answers are ids and statuses; bodies are read from PostgreSQL."""

import logging
from collections.abc import Awaitable, Callable
from typing import Any

from fastapi import Request
from sqlalchemy.orm import Session
from temporalio.client import Client
from temporalio.service import RPCError

from api.deps import actor_of, in_transaction
from api.lifecycle import create_with_start, idempotency_key, transition, update_id
from api.transitions import TransitionBody, register_transition_target
from core.errors import AppError, not_found
from dto.approvals import TransitionRequest, TransitionResult
from dto.mes import (
    CreateWorkOrder,
    DependencyChange,
    Progress,
    WorkOrderLifecycleInput,
    WorkOrderMove,
    WorkOrderStatus,
    WorkOrderView,
)
from models.mes import WorkOrder
from services.common import idempotency
from services.identity import Principal
from services.mes import work_orders
from workflows.mes.work_order import WorkOrderWorkflow, work_order_workflow_id

log = logging.getLogger("api.work_orders")
SCOPE = "work_order"


def _prepare(session: Session, key: str | None, body: dict[str, Any]) -> tuple[int, bool]:
    """The id to create (the same `Idempotency-Key` always gets the same one) and whether it exists already; a
    body the create would refuse is refused here, before any lifecycle starts."""
    earlier = idempotency.known_id(session, SCOPE, key)
    if earlier is not None and session.get(WorkOrder, earlier) is not None:
        return earlier, True
    work_order_id = earlier or idempotency.reserve_id(session, "work_orders", SCOPE, key)
    work_orders.check_create(session, work_order_id, body)
    return work_order_id, False


async def create_work_order(request: Request, client: Client, user: Principal, body: dict[str, Any]) -> int:
    work_order_id, exists = await in_transaction(request, _prepare, idempotency_key(request), body)
    if not exists:
        await create_with_start(
            client, run=WorkOrderWorkflow.run, start_input=WorkOrderLifecycleInput(work_order_id=work_order_id),
            workflow_id=work_order_workflow_id(work_order_id), create=WorkOrderWorkflow.create,
            request=CreateWorkOrder(work_order_id=work_order_id, body=body, actor=actor_of(user, request)),
            result_type=WorkOrderView, entity_type="work_order", entity_id=work_order_id,
            summary=f"Work order {work_order_id}: {body['quantity_ordered']} of product {body['product_id']}",
            update_key=f"create-work-order-{work_order_id}", status=WorkOrderStatus.PLANNED)
    return work_order_id


def _status(session: Session, work_order_id: int) -> tuple[str, str]:
    order = session.get(WorkOrder, work_order_id)
    if order is None:
        raise AppError("NOT_FOUND", 404, "Not found", f"Work order {work_order_id} not found")
    return order.work_order_number, order.status


async def move_work_order(request: Request, client: Client, user: Principal, work_order_id: int, code: str,
                          body: TransitionBody) -> TransitionResult:
    """A transition by its code (`release`, `start`, `complete`, `hold`, `resume`, `cancel`, `close`); the lifecycle
    checks who may take it. An unknown work order is found out when its lifecycle is not there (no read before the
    update)."""
    request_ = TransitionRequest(actor=actor_of(user, request), code=code, comment=body.comment)
    result: TransitionResult = await transition(client, work_order_workflow_id(work_order_id),
                                                WorkOrderWorkflow.transition, request_,
                                                update_id(request, f"work-order-{code}"),
                                                _finished(request, work_order_id, code))
    return result


async def set_dependencies(request: Request, client: Client, user: Principal, work_order_id: int,
                           depends_on: list[int]) -> None:
    change = DependencyChange(depends_on=depends_on, actor=actor_of(user, request))
    await transition(client, work_order_workflow_id(work_order_id), WorkOrderWorkflow.set_dependencies, change,
                     update_id(request, "work-order-dependencies"),
                     _finished(request, work_order_id, "change the dependencies of"))


async def hold_for_ncr(request: Request, client: Client, user: Principal, work_order_id: int, ncr_id: int,
                       reason: str) -> None:
    """Hold the work order until NCR `ncr_id` is approved (a failed inspection); a work order past holding is left
    as it is."""
    hold = WorkOrderMove(code="hold", actor=actor_of(user, request), ncr_id=ncr_id, comment=reason)
    try:
        await transition(client, work_order_workflow_id(work_order_id), WorkOrderWorkflow.hold_for_ncr, hold,
                         update_id(request, "work-order-hold-for-ncr"), _finished(request, work_order_id, "hold"))
    except AppError as err:
        if err.code != "INVALID_STATUS":
            raise


async def hold_quietly(request: Request, client: Client, user: Principal, work_order_id: int, ncr_id: int,
                       reason: str) -> None:
    """`hold_for_ncr` after a committed failed inspection: a failure to reach the lifecycle is logged, not
    answered (the log and its NCR are stored; a supervisor can hold the work order by hand)."""
    try:
        await hold_for_ncr(request, client, user, work_order_id, ncr_id, reason)
    except AppError as err:
        log.warning("work order %s was not held for NCR %s: %s %s", work_order_id, ncr_id, err.code, err.message)


def _finished(request: Request, work_order_id: int, action: str) -> Callable[[], Awaitable[AppError]]:
    """What to answer when the lifecycle is not there: 404 for an unknown work order, else it has finished."""

    async def gone() -> AppError:
        number, status = await in_transaction(request, _status, work_order_id)
        return AppError("INVALID_STATUS", 400, "Invalid transition",
                        f"Cannot {action} work order {number} in status {status}; allowed: none")

    return gone


async def production_logged(client: Client, work_order_id: int, progress: Progress) -> None:
    """Tell the lifecycle the work order's new total (reaching the ordered quantity completes it). A signal lost
    here leaves the work order in progress with its units counted: a supervisor completes it (`complete`)."""
    try:
        await client.get_workflow_handle(work_order_workflow_id(work_order_id)).signal(
            WorkOrderWorkflow.production_logged, progress)
    except RPCError as err:
        log.warning("could not tell work order %s of its progress: %s", work_order_id, err)


def require_work_order(session: Session, work_order_id: int) -> None:
    if session.get(WorkOrder, work_order_id) is None:
        raise not_found("Work order", work_order_id)


register_transition_target("work_order", move_work_order)
