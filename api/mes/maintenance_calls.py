"""Calls into preventive maintenance's Temporal parts: each PM schedule's Temporal Schedule (`pm-schedule-{id}`:
created, paused, resumed, triggered and deleted with its schedule) and each PM work order's lifecycle
(`pm-work-order-{id}`: started after its row is committed; its transitions through the §6.4 endpoint, entity type
`pm_work_order`)."""

import logging
from datetime import timedelta

from fastapi import Request
from temporalio.client import (
    Client,
    Schedule,
    ScheduleActionStartWorkflow,
    ScheduleIntervalSpec,
    ScheduleOverlapPolicy,
    SchedulePolicy,
    ScheduleSpec,
    ScheduleState,
)
from temporalio.common import WorkflowIDConflictPolicy
from temporalio.exceptions import WorkflowAlreadyStartedError
from temporalio.service import RPCError, RPCStatusCode

from api.deps import actor_of, in_transaction
from api.lifecycle import search_attributes, transition, update_id
from api.transitions import TransitionBody, register_transition_target
from core.errors import AppError
from core.settings import get_settings
from dto.approvals import TransitionRequest, TransitionResult
from dto.mes.maintenance import (
    PM_WORK_ORDER,
    PmScheduleCheck,
    PmWorkOrderInput,
    pm_schedule_id_of,
    pm_work_order_workflow_id,
)
from services.identity import Principal
from services.mes import pm_work_orders
from workflows.mes.pm_schedule_check import PmScheduleCheckWorkflow
from workflows.mes.pm_work_order import PmWorkOrderWorkflow

log = logging.getLogger("api.maintenance")


def pm_schedule(schedule_id: int, active: bool) -> Schedule:
    """Every PM_CHECK_SECONDS (a day) one check of the PM schedule; paused while the PM schedule is inactive."""
    settings = get_settings()
    check = PmScheduleCheck(pm_schedule_id=schedule_id, reminder_seconds=settings.pm_overdue_reminder_seconds)
    return Schedule(
        action=ScheduleActionStartWorkflow(PmScheduleCheckWorkflow.run, check,
                                           id=f"pm-schedule-check-{schedule_id}", task_queue=settings.task_queue,
                                           execution_timeout=timedelta(minutes=5),
                                           static_summary=f"Raise the due PM of PM schedule {schedule_id}"),
        spec=ScheduleSpec(intervals=[ScheduleIntervalSpec(every=timedelta(seconds=settings.pm_check_seconds))]),
        policy=SchedulePolicy(overlap=ScheduleOverlapPolicy.BUFFER_ONE, catchup_window=timedelta(hours=1)),
        state=ScheduleState(paused=not active, note="active" if active else "paused: the PM schedule is inactive"))


async def create_pm_schedule(client: Client, schedule_id: int, active: bool) -> None:
    await client.create_schedule(pm_schedule_id_of(schedule_id), pm_schedule(schedule_id, active))


async def set_pm_schedule_active(client: Client, schedule_id: int, active: bool) -> None:
    handle = client.get_schedule_handle(pm_schedule_id_of(schedule_id))
    if active:
        await handle.unpause(note="the PM schedule is active again")
    else:
        await handle.pause(note="paused: the PM schedule is inactive")


async def delete_pm_schedule(client: Client, schedule_id: int) -> None:
    try:
        await client.get_schedule_handle(pm_schedule_id_of(schedule_id)).delete()
    except RPCError as err:
        if err.status != RPCStatusCode.NOT_FOUND:
            raise


async def trigger_pm_schedule(client: Client, schedule_id: int) -> None:
    """The Temporal Schedule's own trigger: its action runs now (even while paused)."""
    await client.get_schedule_handle(pm_schedule_id_of(schedule_id)).trigger(
        overlap=ScheduleOverlapPolicy.ALLOW_ALL)


async def start_pm_lifecycle(client: Client, pm_work_order_id: int) -> None:
    """After the row is committed; a failure is logged (the first transition starts a lifecycle that is missing)."""
    try:
        await client.start_workflow(
            PmWorkOrderWorkflow.run, PmWorkOrderInput(pm_work_order_id=pm_work_order_id,
                                                      reminder_seconds=get_settings().pm_overdue_reminder_seconds),
            id=pm_work_order_workflow_id(pm_work_order_id), task_queue=get_settings().task_queue,
            id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
            search_attributes=search_attributes(PM_WORK_ORDER, pm_work_order_id, "planned"),
            static_summary=f"PM work order {pm_work_order_id}")
    except WorkflowAlreadyStartedError:
        pass
    except RPCError as err:
        log.warning("could not start the lifecycle of PM work order %s: %s", pm_work_order_id, err)


async def transition_pm_work_order(request: Request, client: Client, user: Principal, pm_work_order_id: int,
                                   code: str, body: TransitionBody) -> TransitionResult:
    change = TransitionRequest(actor=actor_of(user, request), code=code, comment=body.comment,
                               assignee_id=body.assignee_id)
    workflow_id = pm_work_order_workflow_id(pm_work_order_id)

    async def gone() -> AppError:
        state = await in_transaction(request, pm_work_orders.current_state, pm_work_order_id)
        if not state.final:  # its start was lost: start it, then answer so the caller retries
            await start_pm_lifecycle(client, pm_work_order_id)
            return AppError("SERVICE_UNAVAILABLE", 503, "Retry", "The PM work order's lifecycle was restarted")
        return AppError("INVALID_STATUS", 400, "Invalid transition",
                        f"Cannot {code} from {state.state}; allowed: none")

    result: TransitionResult = await transition(client, workflow_id, PmWorkOrderWorkflow.transition, change,
                                                update_id(request, f"pm-work-order-{code}"), gone)
    return result


register_transition_target(PM_WORK_ORDER, transition_pm_work_order)
