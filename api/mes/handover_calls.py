"""Calls into the shift handover lifecycle (`shift-handover-{id}`): starting it once the handover is committed, and
telling it the handover was acknowledged. Both are best effort: the handover is stored either way (a lifecycle that
did not start reminds nobody; a lost acknowledgement is found by its reminder effect, which then reminds nobody)."""

import logging

from temporalio.client import Client
from temporalio.common import WorkflowIDConflictPolicy, WorkflowIDReusePolicy
from temporalio.service import RPCError

from api.lifecycle import search_attributes
from core.settings import get_settings
from dto.mes.handovers import SHIFT_HANDOVER, HandoverAcknowledged, HandoverInput
from workflows.mes.shift_handover import AWAITING, ShiftHandoverWorkflow, shift_handover_workflow_id

log = logging.getLogger("api.shift_handovers")


async def start_handover_lifecycle(client: Client, handover_id: int, shift_name: str) -> None:
    """After the commit: the lifecycle with the acknowledgement timer of now (SHIFT_HANDOVER_ACK_SECONDS)."""
    settings = get_settings()
    try:
        await client.start_workflow(
            ShiftHandoverWorkflow.run,
            HandoverInput(handover_id=handover_id, ack_seconds=settings.shift_handover_ack_seconds),
            id=shift_handover_workflow_id(handover_id), task_queue=settings.task_queue,
            id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
            id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
            search_attributes=search_attributes(SHIFT_HANDOVER, handover_id, AWAITING),
            static_summary=f"Shift handover {handover_id} ({shift_name})")
    except Exception:  # noqa: BLE001 - the handover is saved; without its lifecycle nobody is reminded
        log.exception("could not start the lifecycle of shift handover %s", handover_id)


async def handover_acknowledged(client: Client, handover_id: int, user_id: int) -> None:
    """After the commit: the lifecycle stops waiting (one that has ended already needs nothing)."""
    try:
        await client.get_workflow_handle(shift_handover_workflow_id(handover_id)).signal(
            ShiftHandoverWorkflow.acknowledged, HandoverAcknowledged(user_id=user_id))
    except RPCError as err:
        log.info("shift handover %s: its lifecycle was not told of the acknowledgement: %s", handover_id, err)
