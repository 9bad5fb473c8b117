"""Calls into the NCR report lifecycle (`ncr-report-{id}`): starting it once its row is committed, and its
transitions through the §6.4 endpoint (`POST /api/v1/workflows/ncr_report/{id}/transition/{code}`, registered
here). A lifecycle whose start was lost is started by the report's first transition. For other areas:
`start_ncr_report_lifecycle` (a failed inspection raises a report with services/quality/ncr_reports.py `raise_ncr`,
then starts it with this)."""

import logging
from collections.abc import Awaitable, Callable

from fastapi import Request
from temporalio.client import Client
from temporalio.common import WorkflowIDConflictPolicy, WorkflowIDReusePolicy
from temporalio.exceptions import WorkflowAlreadyStartedError

from api.contracts.erp import field_errors
from api.deps import actor_of, in_transaction
from api.lifecycle import search_attributes, transition, update_id
from api.transitions import TransitionBody, register_transition_target
from core.errors import AppError
from core.settings import get_settings
from dto.approvals import TransitionRequest, TransitionResult
from dto.quality import NCR_REPORT, NcrReportInput, Severity, ncr_report_workflow_id
from services.identity import Principal
from services.quality import ncr_report_effects
from workflows.quality.ncr_report import NcrReportWorkflow

log = logging.getLogger("api.ncr_reports")


class _Restarted(AppError):
    """The report's lifecycle was not running (its start was lost) and has just been started: send again."""

    def __init__(self) -> None:
        super().__init__("SERVICE_UNAVAILABLE", 503, "The NCR report's lifecycle could not be reached; retry later")


def sla_seconds() -> dict[str, int]:
    """Each severity's SLA, from the settings at the time the lifecycle starts."""
    settings = get_settings()
    return {Severity.CRITICAL: settings.erp_ncr_sla_seconds_critical,
            Severity.MAJOR: settings.erp_ncr_sla_seconds_major, Severity.MINOR: settings.erp_ncr_sla_seconds_minor}


async def start_ncr_report_lifecycle(client: Client, ncr_id: int, status: str = "submitted") -> None:
    """Start the report's lifecycle after the commit that created it; one already running (or finished) is left
    as it is."""
    try:
        await client.start_workflow(
            NcrReportWorkflow.run, NcrReportInput(ncr_id=ncr_id, sla_seconds=sla_seconds()),
            id=ncr_report_workflow_id(ncr_id), task_queue=get_settings().task_queue,
            id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
            id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
            search_attributes=search_attributes(NCR_REPORT, ncr_id, status), static_summary=f"NCR report {ncr_id}")
    except WorkflowAlreadyStartedError:
        pass


async def start_quietly(client: Client, ncr_id: int) -> None:
    """After the commit: a failure is logged, not raised (the report is saved; its first transition starts it)."""
    try:
        await start_ncr_report_lifecycle(client, ncr_id)
    except Exception:  # noqa: BLE001 - the report is saved; its lifecycle starts on first use
        log.exception("could not start the lifecycle of NCR report %s", ncr_id)


async def transition_ncr_report(request: Request, client: Client, user: Principal, ncr_id: int, code: str,
                                body: TransitionBody) -> TransitionResult:
    """A transition by its code, as the report's lifecycle validates it (a refusal naming `assignee_id` is the
    contract's validation failure)."""
    change = TransitionRequest(actor=actor_of(user, request), code=code, comment=body.comment,
                               assignee_id=body.assignee_id)

    async def gone() -> AppError:
        now = await in_transaction(request, ncr_report_effects.current_state, ncr_id)  # 404 for no such report
        if now.final:
            return ncr_report_effects.invalid_transition(code, now.state, [])
        await start_ncr_report_lifecycle(client, ncr_id, now.state)
        return _Restarted()

    key = update_id(request, f"ncr-report-{code}")
    try:
        return await _send(client, ncr_id, change, key, gone)
    except _Restarted:  # started just now: once more (a second loss answers 503)
        return await _send(client, ncr_id, change, key, gone)


async def _send(client: Client, ncr_id: int, change: TransitionRequest, key: str | None,
                gone: Callable[[], Awaitable[AppError]]) -> TransitionResult:
    with field_errors():
        result: TransitionResult = await transition(client, ncr_report_workflow_id(ncr_id),
                                                    NcrReportWorkflow.transition, change, key, gone)
    return result


register_transition_target(NCR_REPORT, transition_ncr_report)
