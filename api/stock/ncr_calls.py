"""Calls into the NCR lifecycle (`ncr-{uid}`): starting it once its row is committed, and status changes."""

import logging
from collections.abc import Sequence
from decimal import Decimal

from fastapi import Request
from temporalio.client import Client
from temporalio.common import WorkflowIDConflictPolicy, WorkflowIDReusePolicy
from temporalio.exceptions import WorkflowAlreadyStartedError

from api.deps import actor_of, in_transaction
from api.lifecycle import WorkflowGone, guarded, search_attributes, update_id
from core.errors import AppError
from core.settings import get_settings
from dto.stock import NcrInput, NcrStatus, NcrTransition, NcrView
from services.identity import Principal
from services.stock import ncrs
from workflows.stock.ncr import NcrWorkflow, ncr_workflow_id

log = logging.getLogger("api.ncr")


async def start_ncr_lifecycle(client: Client, ncr_uid: str, status: NcrStatus = NcrStatus.OPEN) -> None:
    """Start the NCR's lifecycle; one already running (or finished) is left as it is."""
    settings = get_settings()
    try:
        await client.start_workflow(
            NcrWorkflow.run, NcrInput(ncr_uid=ncr_uid, status=status, follow_up_seconds=settings.ncr_follow_up_seconds),
            id=ncr_workflow_id(ncr_uid), task_queue=settings.task_queue,
            id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
            id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
            search_attributes=search_attributes("ncr", 0, status.value), static_summary=f"NCR {ncr_uid}")
    except WorkflowAlreadyStartedError:
        pass


async def start_ncr_lifecycles(client: Client, ncr_uids: Sequence[str]) -> None:
    """After the transaction that created the NCRs committed. A failure here is logged, not raised: the
    first status change of an NCR without a lifecycle starts it (see `change_status`)."""
    for uid in ncr_uids:
        try:
            await start_ncr_lifecycle(client, str(uid))
        except Exception:  # noqa: BLE001 - the NCR is saved; its lifecycle starts on first use
            log.exception("could not start the lifecycle of NCR %s", uid)


async def change_status(request: Request, client: Client, user: Principal, ncr_uid: str, status: NcrStatus,
                        resolution: str | None, credited_value: Decimal | None) -> NcrView:
    change = NcrTransition(actor=actor_of(user, request), status=status, resolution=resolution,
                           credited_value=credited_value)
    handle = client.get_workflow_handle(ncr_workflow_id(ncr_uid))
    key = update_id(request, f"ncr-{status.value}") or None
    for _ in range(2):
        try:
            view: NcrView = await guarded(lambda: handle.execute_update(NcrWorkflow.transition, change, id=key))
            return view
        except WorkflowGone:
            current = await in_transaction(request, ncrs.view_of, ncr_uid)
            if current.status == NcrStatus.CLOSED:
                raise ncrs.invalid_transition(current.body["ncr_no"], current.status, status) from None
            await start_ncr_lifecycle(client, ncr_uid, current.status)  # its start was lost: start it now
    raise AppError("SERVICE_UNAVAILABLE", 503, "The NCR lifecycle could not be reached; retry later")
