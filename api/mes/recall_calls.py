"""Raising a recall and starting its lifecycle (`recall-{id}`), shared by `/api/v1/recall-reports`; and the
registration that lets `GET /api/v1/files/{key}` serve the recall reports' PDFs (`recall-reports/...`) to those who
may see traceability."""

import logging
from typing import Any

from fastapi import Request
from temporalio.client import Client
from temporalio.common import WorkflowIDConflictPolicy, WorkflowIDReusePolicy
from temporalio.exceptions import WorkflowAlreadyStartedError

from api.deps import in_transaction
from api.lifecycle import search_attributes
from api.quality.files import FileKind, register_file_kind
from core.permissions import Perm
from core.settings import get_settings
from dto.mes.recalls import RecallLifecycleInput, RecallStatus
from services.identity import Principal
from services.mes import recalls
from services.mes.recalls import RecallView
from workflows.mes.recall import RecallWorkflow, recall_workflow_id

log = logging.getLogger("api.recalls")


async def raise_recall(request: Request, client: Client, user: Principal, body: dict[str, Any]) -> RecallView:
    """The report, its notices and its PDF in one committed transaction; then its lifecycle, which notifies the
    customers. A lifecycle that cannot be started now is logged: the report stays `notifying` with its notices
    `pending`, and the next read of it (`recall_seen`) starts it."""
    raised = await in_transaction(request, recalls.raise_recall, user.id, body)
    try:
        await start_recall_lifecycle(client, raised.view.id, raised.view.recall_number, raised.notice_ids)
    except Exception:  # noqa: BLE001 - the recall is saved; its notices wait for the lifecycle
        log.exception("could not start the lifecycle of recall %s", raised.view.recall_number)
    return raised.view


async def recall_seen(request: Request, client: Client, reference: str) -> RecallView:
    """A recall as it stands; one still `notifying` gets its lifecycle (re)started, so a start lost when the recall
    was raised (Temporal unreachable then) is made good by the next look at it. A running or finished lifecycle is
    left as it is."""
    view = await in_transaction(request, recalls.get_recall, reference)
    if view.status == RecallStatus.NOTIFYING.value:
        ids = await in_transaction(request, recalls.notice_ids, view.id)
        try:
            await start_recall_lifecycle(client, view.id, view.recall_number, ids)
        except Exception:  # noqa: BLE001 - the answer stands; the next look tries again
            log.exception("could not start the lifecycle of recall %s", view.recall_number)
    return view


async def start_recall_lifecycle(client: Client, recall_id: int, recall_number: str, notice_ids: list[int]) -> None:
    """Start `recall-{id}`; one already running (or finished) is left as it is."""
    try:
        await client.start_workflow(
            RecallWorkflow.run, RecallLifecycleInput(recall_id=recall_id, recall_number=recall_number,
                                                     notice_ids=notice_ids),
            id=recall_workflow_id(recall_id), task_queue=get_settings().task_queue,
            id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
            id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
            search_attributes=search_attributes("recall_report", recall_id, RecallStatus.NOTIFYING.value),
            static_summary=f"Recall {recall_number}: notify {len(notice_ids)} customer(s)")
    except WorkflowAlreadyStartedError:
        pass


register_file_kind(recalls.KEY_PREFIX, FileKind(Perm.VIEW_EQUIPMENT, recalls.pdf_content_type))
