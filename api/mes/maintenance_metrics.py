"""`GET /api/v1/maintenance-metrics` (manufacturing-erp.md §6.7): MTBF, MTTR, PM compliance, downtime and its Pareto
by reason over a period, for one plant or all. Services: services/mes/maintenance_metrics.py (formulas there)."""

from datetime import date

from api.contracts.dialects import Dialect, dialect_router
from api.contracts.erp import field_errors
from api.contracts.types import DbId
from api.deps import SessionDep, require
from api.mes.equipment_schemas import MaintenanceMetricsOut, MaintenanceMetricsValuesOut, ParetoOut, PeriodOut
from core.permissions import Perm
from core.timeutil import utcnow
from services.mes.maintenance_metrics import maintenance_metrics
from services.mes.utilization import minutes

router = dialect_router(Dialect.ERP, prefix="/api/v1/maintenance-metrics", tags=["erp: maintenance"])


@router.get("", dependencies=[require(Perm.VIEW_EQUIPMENT)])
def get_maintenance_metrics(session: SessionDep, start_date: date, end_date: date,
                            plant_id: DbId | None = None) -> MaintenanceMetricsOut:
    """The KPIs of the plant's machines (all machines without `plant_id`) from `start_date` to `end_date` (whole
    UTC days, both included, never past now)."""
    with field_errors():
        found = maintenance_metrics(session, plant_id, start_date, end_date, utcnow())
    figures = found.reliability
    return MaintenanceMetricsOut(
        period=PeriodOut(start=start_date, end=end_date),
        metrics=MaintenanceMetricsValuesOut(mtbf_hours=figures.mtbf_hours, mttr_hours=figures.mttr_hours,
                                            pm_compliance_percent=found.pm_compliance_percent,
                                            total_downtime_minutes=minutes(found.total_downtime),
                                            unplanned_downtime_percent=found.unplanned_percent),
        downtime_pareto=[ParetoOut(reason=reason, minutes=minutes(time), percent=share)
                         for reason, time, share in found.pareto])
