"""The NCR report lifecycle's effects (`ncr-report-{id}`): each one DB transaction, harmless to retry (idempotent
by its op_key, the transition history's unique key)."""

from collections.abc import Callable
from typing import Any

from temporalio import activity

from activities.base import Effects
from dto.approvals import TransitionRequest
from dto.quality import (
    ESCALATE_NCR_REPORT,
    LOAD_NCR_REPORT,
    TRANSITION_NCR_REPORT,
    NcrReportEscalation,
    NcrReportMoved,
    NcrReportRef,
    NcrReportState,
)
from services.quality import ncr_report_effects


class NcrReportActivities(Effects):
    def all(self) -> list[Callable[..., Any]]:
        return [self.load_ncr_report, self.transition_ncr_report, self.escalate_ncr_report]

    @activity.defn(name=LOAD_NCR_REPORT.name)
    def load_ncr_report(self, ref: NcrReportRef) -> NcrReportState:
        """Where the report stands, when its lifecycle (re)starts."""
        with self.transaction() as session:
            return ncr_report_effects.current_state(session, ref.ncr_id)

    @activity.defn(name=TRANSITION_NCR_REPORT.name)
    def transition_ncr_report(self, request: TransitionRequest) -> NcrReportMoved:
        with self.transaction() as session:
            return ncr_report_effects.apply_transition(session, request)

    @activity.defn(name=ESCALATE_NCR_REPORT.name)
    def escalate_ncr_report(self, escalation: NcrReportEscalation) -> NcrReportState:
        with self.transaction() as session:
            return ncr_report_effects.escalate(session, escalation)
