"""The approval engine's effects: each one DB transaction, harmless to retry."""

from collections.abc import Callable
from typing import Any

from sqlalchemy.orm import Session, sessionmaker
from temporalio import activity

from activities.production import business_errors
from core.db import session_scope
from dto.approvals import ApprovalOutcome, DecisionEffect, FinishEffect, StepEffect, TaskView
from services.approvals import engine as approvals


class ApprovalActivities:
    def __init__(self, factory: sessionmaker[Session]) -> None:
        self.factory = factory

    def all(self) -> list[Callable[..., Any]]:
        return [self.open_approval_step, self.escalate_approval_step, self.record_approval_decision,
                self.finish_approval]

    @activity.defn(name="open_approval_step")
    def open_approval_step(self, effect: StepEffect) -> TaskView:
        with business_errors(), session_scope(self.factory) as session:
            return approvals.open_step(session, effect)

    @activity.defn(name="escalate_approval_step")
    def escalate_approval_step(self, effect: StepEffect) -> TaskView:
        with business_errors(), session_scope(self.factory) as session:
            return approvals.escalate_step(session, effect)

    @activity.defn(name="record_approval_decision")
    def record_approval_decision(self, effect: DecisionEffect) -> TaskView:
        with business_errors(), session_scope(self.factory) as session:
            return approvals.record_decision(session, effect)

    @activity.defn(name="finish_approval")
    def finish_approval(self, effect: FinishEffect) -> ApprovalOutcome:
        with business_errors(), session_scope(self.factory) as session:
            return approvals.finish(session, effect.outcome)
