"""`/api/v1/machines` (manufacturing-erp.md §6.5: the list, the status change and utilization; create and detail are
additions). A status change is a direct guarded write under the machine's row lock. Services: services/mes/machines.py,
utilization.py (the arithmetic: intervals.py)."""

from datetime import date
from typing import Annotated

from fastapi import Depends, Query

from api.contracts.dialects import Dialect, dialect_router
from api.contracts.erp import ErpPaging, field_errors
from api.contracts.types import DbId, SafeStr
from api.deps import SessionDep, require
from api.mes.equipment_schemas import (
    DowntimeShareOut,
    MachineCreate,
    MachineListOut,
    MachineOut,
    MachineStatus,
    MachineStatusIn,
    MachineStatusOut,
    PeriodOut,
    UtilizationMetricsOut,
    UtilizationOut,
    WorkOrderRefOut,
)
from core.errors import not_found
from core.permissions import Perm
from core.timeutil import utcnow
from models.mes.equipment import Machine
from services.identity import Principal
from services.mes import machines, utilization
from services.mes.machines import MachineRow
from services.mes.utilization import minutes

router = dialect_router(Dialect.ERP, prefix="/api/v1/machines", tags=["erp: equipment"])
Viewer = require(Perm.VIEW_EQUIPMENT)


def machine_out(row: MachineRow) -> MachineOut:
    machine, order = row.machine, row.current_work_order
    return MachineOut(id=machine.id, machine_code=machine.machine_code, name=machine.name, plant_id=machine.plant_id,
                      plant_name=row.plant_name, status=machine.status,  # type: ignore[arg-type]
                      current_work_order=WorkOrderRefOut(id=order[0], work_order_number=order[1]) if order else None,
                      capacity_units_per_hour=machine.capacity_units_per_hour,
                      utilization_percent=row.utilization_percent, last_maintenance_date=row.last_maintenance_date,
                      next_maintenance_due=row.next_maintenance_due)


@router.get("", dependencies=[Viewer])
def list_machines(session: SessionDep, paging: Annotated[ErpPaging, Depends()], plant_id: DbId | None = None,
                  status: MachineStatus | None = None,
                  search: SafeStr | None = Query(None, max_length=200)) -> MachineListOut:
    rows, total = machines.list_machines(session, paging.offset, paging.per_page, plant_id=plant_id, status=status,
                                         search=search, now=utcnow())
    return MachineListOut(machines=[machine_out(row) for row in rows], total=total, page=paging.page,
                          per_page=paging.per_page)


@router.post("", status_code=201)
def create_machine(body: MachineCreate, session: SessionDep,
                   user: Principal = require(Perm.MANAGE_EQUIPMENT)) -> MachineOut:
    """A new machine, `available`; a code already used or an unknown plant is the contract's validation failure."""
    with field_errors():
        machine = machines.create_machine(session, user.id, body.model_dump())
    return machine_out(machines.get_machine(session, machine.id, utcnow()))


@router.get("/{machine_id}", dependencies=[Viewer])
def get_machine(machine_id: DbId, session: SessionDep) -> MachineOut:
    return machine_out(machines.get_machine(session, machine_id, utcnow()))


@router.put("/{machine_id}/status")
def set_status(machine_id: DbId, body: MachineStatusIn, session: SessionDep,
               user: Principal = require(Perm.SET_MACHINE_STATUS)) -> MachineStatusOut:
    """The machine's new status (operators, supervisors, maintenance); `down` without a `reason_code`, or an
    unknown reason, is the contract's validation failure on `reason_code`."""
    with field_errors():
        changed = machines.set_status(session, user.id, machine_id, body.model_dump())
    machine = changed.machine
    return MachineStatusOut(id=machine.id, machine_code=machine.machine_code, status=body.status,
                            downtime_started_at=changed.downtime_started_at, downtime_reason=changed.downtime_reason)


@router.get("/{machine_id}/utilization", dependencies=[Viewer])
def get_utilization(machine_id: DbId, session: SessionDep, start_date: date, end_date: date) -> UtilizationOut:
    """How the machine's available time from `start_date` to `end_date` (whole UTC days, both included, never past
    now) was spent, and its downtime by reason."""
    machine = session.get(Machine, machine_id)
    if machine is None:
        raise not_found("Machine", machine_id)
    with field_errors():
        utilization.check_range(start_date, end_date)
    span = utilization.period(start_date, end_date, utcnow())
    used = utilization.machine_usage(session, machine, span.start, span.end)
    breakdown = sorted(used.breakdown.items(), key=lambda item: (-item[1].time, item[0]))
    return UtilizationOut(
        machine_id=machine.id, machine_name=machine.name, period=PeriodOut(start=start_date, end=end_date),
        metrics=UtilizationMetricsOut(available_time_minutes=minutes(used.available),
                                      productive_time_minutes=minutes(used.productive),
                                      utilization_percent=used.utilization_percent,
                                      downtime_minutes=minutes(used.downtime),
                                      setup_time_minutes=minutes(used.setup)),
        downtime_breakdown=[DowntimeShareOut(reason=reason, minutes=minutes(share.time),
                                             occurrences=share.occurrences) for reason, share in breakdown])
