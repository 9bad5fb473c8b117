"""The approval engine's effects: each one DB transaction, harmless to retry."""

from collections.abc import Callable
from typing import Any

from temporalio import activity

from activities.base import Effects
from dto.approvals import (
    ESCALATE_APPROVAL_STEP,
    FINISH_APPROVAL,
    OPEN_APPROVAL_STEP,
    RECORD_APPROVAL_DECISION,
    ApprovalOutcome,
    DecisionEffect,
    FinishEffect,
    StepEffect,
    TaskView,
)
from services.approvals import engine as approvals


class ApprovalActivities(Effects):
    def all(self) -> list[Callable[..., Any]]:
        return [self.open_approval_step, self.escalate_approval_step, self.record_approval_decision,
                self.finish_approval]

    @activity.defn(name=OPEN_APPROVAL_STEP.name)
    def open_approval_step(self, effect: StepEffect) -> TaskView:
        with self.transaction() as session:
            return approvals.open_step(session, effect)

    @activity.defn(name=ESCALATE_APPROVAL_STEP.name)
    def escalate_approval_step(self, effect: StepEffect) -> TaskView:
        with self.transaction() as session:
            return approvals.escalate_step(session, effect)

    @activity.defn(name=RECORD_APPROVAL_DECISION.name)
    def record_approval_decision(self, effect: DecisionEffect) -> TaskView:
        with self.transaction() as session:
            return approvals.record_decision(session, effect)

    @activity.defn(name=FINISH_APPROVAL.name)
    def finish_approval(self, effect: FinishEffect) -> ApprovalOutcome:
        with self.transaction() as session:
            return approvals.finish(session, effect.outcome)
