"""What a failed inspection sets off (manufacturing-erp.md §6.8, issue 12 §4): in the log's own transaction, an
NCR report (type "Inspection Failure", severity `major`, linked to the work order) recorded on the log, so a
failed log never exists without its NCR. Holding the work order is its lifecycle's business: the API asks it
after the commit (api/mes/work_order_calls.py `hold_for_ncr`). Never commits."""

import dataclasses
from typing import Any

from sqlalchemy import update
from sqlalchemy.orm import Session

from models.mes import InspectionLog
from services.mes.inspections import RecordedLog, record_log
from services.quality.ncr_reports import raise_ncr

NCR_TYPE = "Inspection Failure"
NCR_SEVERITY = "major"


def record_inspection(session: Session, actor_id: int, values: dict[str, Any]) -> tuple[RecordedLog, str | None]:
    """The log, and for a failed one its NCR (`ncr_id` on the log; its number returned beside it)."""
    log = record_log(session, actor_id, values)
    if log.overall_result != "fail":
        return log, None
    report = raise_ncr(session, actor_id=actor_id, ncr_type_name=NCR_TYPE, severity=NCR_SEVERITY,
                       description=failure_description(log), work_order_id=log.work_order_id)
    session.execute(update(InspectionLog).where(InspectionLog.id == log.id).values(ncr_id=report.id))
    return dataclasses.replace(log, ncr_id=report.id), report.ncr_number


def failure_description(log: RecordedLog) -> str:
    failed = "; ".join(f"{m.characteristic} measured {m.measured_value} against {m.specification or 'its limits'}"
                       for m in log.measurements if m.result == "fail")
    return f"{log.point_name} of {log.work_order_number} failed (inspection {log.id}): {failed}"
