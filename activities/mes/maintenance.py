"""Preventive maintenance's effects: the PM work order's lifecycle and the PM schedule's check, each one DB
transaction, harmless to retry."""

from collections.abc import Callable
from typing import Any

from temporalio import activity

from activities.base import Effects
from dto.approvals import TransitionRequest
from dto.mes.maintenance import (
    ESCALATE_PM_WORK_ORDER,
    LOAD_PM_WORK_ORDER,
    RAISE_DUE_PM,
    TRANSITION_PM_WORK_ORDER,
    PmEscalation,
    PmMoved,
    PmRef,
    PmScheduleCheck,
    PmState,
    RaisedPm,
)
from services.mes import pm_work_orders


class MaintenanceActivities(Effects):
    def all(self) -> list[Callable[..., Any]]:
        return [self.load_pm_work_order, self.transition_pm_work_order, self.escalate_pm_work_order,
                self.raise_due_pm]

    @activity.defn(name=LOAD_PM_WORK_ORDER.name)
    def load_pm_work_order(self, ref: PmRef) -> PmState:
        with self.transaction() as session:
            return pm_work_orders.current_state(session, ref.pm_work_order_id)

    @activity.defn(name=TRANSITION_PM_WORK_ORDER.name)
    def transition_pm_work_order(self, request: TransitionRequest) -> PmMoved:
        with self.transaction() as session:
            return pm_work_orders.apply_transition(session, request)

    @activity.defn(name=ESCALATE_PM_WORK_ORDER.name)
    def escalate_pm_work_order(self, escalation: PmEscalation) -> PmState:
        with self.transaction() as session:
            return pm_work_orders.escalate(session, escalation)

    @activity.defn(name=RAISE_DUE_PM.name)
    def raise_due_pm(self, check: PmScheduleCheck) -> RaisedPm:
        with self.transaction() as session:
            return pm_work_orders.raise_due(session, check)
