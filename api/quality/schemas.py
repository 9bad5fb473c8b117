"""Bodies of the ERP contract's NCR reports (manufacturing-erp.md §6.3): the report as `POST /api/v1/ncr-reports`
answers it (also each row of the list), one report with its history, NCR types. Times UTC with `Z`."""

from pydantic import BaseModel, ConfigDict, Field

from api.contracts.types import SafeBody
from api.contracts.wire import UtcDateTime
from api.transitions import PersonOut


class PhotoOut(BaseModel):
    id: int
    url: str  # `/api/v1/files/<key>` (local store) or a presigned URL (S3)


class NcrReportOut(BaseModel):
    """The contract's 201 body."""

    id: int
    ncr_number: str
    ncr_type: str
    severity: str
    status: str
    work_order_number: str | None
    photos: list[PhotoOut]
    current_assignee: PersonOut | None
    created_at: UtcDateTime


class HistoryEntryOut(BaseModel):
    """One transition the report went through; `performed_by` null: the system (an escalation)."""

    transition_code: str
    from_state: str | None
    to_state: str
    performed_by: PersonOut | None
    assignee: PersonOut | None
    comment: str | None
    performed_at: UtcDateTime


class NcrReportDetailOut(NcrReportOut):
    description: str | None
    work_order_id: int | None
    escalation_level: int
    state_entered_at: UtcDateTime | None
    version: int
    history: list[HistoryEntryOut]


class NcrReportListOut(BaseModel):
    ncr_reports: list[NcrReportOut]
    total: int
    page: int
    per_page: int


class NcrTypeOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    name: str
    description: str | None
    is_active: bool


class NcrTypeListOut(BaseModel):
    ncr_types: list[NcrTypeOut]
    total: int
    page: int
    per_page: int


class NcrTypeCreate(SafeBody):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    name: str = Field(min_length=1, max_length=100)
    description: str | None = Field(default=None, max_length=2000)
