"""`/api/v1/recall-reports` (manufacturing-erp.md §6.9: the create is the contract's, the read an addition): a recall
of a lot (or a serial) with its affected customers and units, its PDF and the notice sent to each customer by its
lifecycle `recall-{id}` (workflows/mes/recall.py). Services: services/mes/recalls.py, recall_pdf.py."""

from typing import Annotated

from fastapi import Path, Request

from api.contracts.dialects import Dialect, dialect_router
from api.contracts.erp import field_errors
from api.contracts.types import SafeStr
from api.deps import TemporalDep, require
from api.mes.recall_calls import raise_recall, recall_seen
from api.mes.traceability_schemas import RecallCreate, RecallOut, recall_out
from core.permissions import Perm
from services.identity import Principal

router = dialect_router(Dialect.ERP, prefix="/api/v1/recall-reports", tags=["erp: traceability"])


@router.post("", status_code=201)
async def create_recall(body: RecallCreate, request: Request, client: TemporalDep,
                        user: Principal = require(Perm.RAISE_RECALLS)) -> RecallOut:
    """`RCL-YYYY-NNN`: the affected customers and units from the forward trace, the PDF behind `export_url`, and
    the lifecycle that notifies every affected customer's contact."""
    with field_errors():
        return recall_out(await raise_recall(request, client, user, body.model_dump()))


@router.get("/{recall_id}", dependencies=[require(Perm.VIEW_EQUIPMENT)])
async def get_recall(recall_id: Annotated[SafeStr, Path(max_length=30)], request: Request,
                     client: TemporalDep) -> RecallOut:
    """By id or by number (`RCL-2025-003`), with each customer's notification status; a recall still notifying
    has its lifecycle made sure of."""
    return recall_out(await recall_seen(request, client, recall_id))
