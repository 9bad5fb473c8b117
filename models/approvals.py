"""The approval engine's records: templates with ordered steps, one instance per request, one task per
step (the rows behind every inbox)."""

from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import DateTime, ForeignKey, Index, Numeric, String, Text, UniqueConstraint, func
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, IdMixin, TimestampMixin, VersionMixin

Money = Numeric(14, 2)


class ApprovalTemplate(IdMixin, TimestampMixin, Base):
    __tablename__ = "approval_templates"

    name: Mapped[str] = mapped_column(String(200))
    entity_type: Mapped[str] = mapped_column(String(50), index=True)
    description: Mapped[str | None] = mapped_column(Text)
    is_active: Mapped[bool] = mapped_column(default=True)
    auto_approve_below: Mapped[Decimal | None] = mapped_column(Money)
    sla_seconds: Mapped[int | None]
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))


class ApprovalTemplateStep(IdMixin, TimestampMixin, Base):
    """A step applies to requests of at least `min_amount`; decided by `approver_role` or a named user."""

    __tablename__ = "approval_template_steps"
    __table_args__ = (UniqueConstraint("template_id", "step_number", name="uq_approval_template_steps_step"),)

    template_id: Mapped[int] = mapped_column(ForeignKey("approval_templates.id", ondelete="CASCADE"), index=True)
    step_number: Mapped[int]
    name: Mapped[str] = mapped_column(String(200))
    approver_role: Mapped[str | None] = mapped_column(String(50))
    approver_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    min_amount: Mapped[Decimal] = mapped_column(Money, default=Decimal("0"))
    sla_seconds: Mapped[int | None]
    escalation_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    allow_delegation: Mapped[bool] = mapped_column(default=False)


class ApprovalInstance(IdMixin, TimestampMixin, VersionMixin, Base):
    __tablename__ = "approval_instances"
    __table_args__ = (Index("ix_approval_instances_reference", "reference_type", "reference_id"),)

    template_id: Mapped[int | None] = mapped_column(ForeignKey("approval_templates.id"))
    reference_type: Mapped[str] = mapped_column(String(50))
    reference_id: Mapped[int]
    reference_number: Mapped[str | None] = mapped_column(String(100))
    status: Mapped[str] = mapped_column(String(30), default="pending", index=True)
    current_step: Mapped[int] = mapped_column(default=1)
    total_steps: Mapped[int] = mapped_column(default=0)
    amount: Mapped[Decimal] = mapped_column(Money)
    currency: Mapped[str] = mapped_column(String(3), default="USD")
    requested_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    requested_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    due_date: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    priority: Mapped[str] = mapped_column(String(20), default="normal")
    extra_data: Mapped[dict[str, Any]] = mapped_column(JSONB, default=dict)
    notes: Mapped[str | None] = mapped_column(Text)
    workflow_id: Mapped[str | None] = mapped_column(String(200))
    completed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class ApprovalTask(IdMixin, TimestampMixin, VersionMixin, Base):
    """One step of one instance: who may decide it, by when, and what was decided."""

    __tablename__ = "approval_tasks"
    __table_args__ = (UniqueConstraint("workflow_instance_id", "step_number", name="uq_approval_tasks_step"),)

    workflow_instance_id: Mapped[int] = mapped_column(ForeignKey("approval_instances.id", ondelete="CASCADE"),
                                                      index=True)
    workflow_step_id: Mapped[int | None] = mapped_column(ForeignKey("approval_template_steps.id"))
    step_number: Mapped[int]
    step_name: Mapped[str | None] = mapped_column(String(200))
    approver_role: Mapped[str | None] = mapped_column(String(50), index=True)
    approver_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    approver_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    status: Mapped[str] = mapped_column(String(30), default="pending", index=True)
    decision_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    comments: Mapped[str | None] = mapped_column(Text)
    due_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    is_escalated: Mapped[bool] = mapped_column(default=False)
    escalated_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    escalated_to_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))




class WorkflowDefinition(IdMixin, TimestampMixin, VersionMixin, Base):
    """A lifecycle held as data (manufacturing-erp.md §6.4): its states, each owned by a role, and the transitions
    between them. `states`: `[{"code", "name", "role", "final"}]`; `transitions`: `[{"code", "name", "from": [...],
    "to"}]` (`to` null: the state does not change, e.g. `assign`)."""

    __tablename__ = "workflow_definitions"

    entity_type: Mapped[str] = mapped_column(String(50), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    initial_state: Mapped[str] = mapped_column(String(50))
    states: Mapped[list[dict[str, Any]]] = mapped_column(JSONB)
    transitions: Mapped[list[dict[str, Any]]] = mapped_column(JSONB)


class WorkflowTransition(IdMixin, Base):
    """One transition an entity went through (who, when, from, to, comment); `performed_by_id` null: the system
    (an escalation). `op_key` makes a retried effect write it once."""

    __tablename__ = "workflow_transitions"
    __table_args__ = (Index("ix_workflow_transitions_entity", "entity_type", "entity_id", "id"),)

    entity_type: Mapped[str] = mapped_column(String(50))
    entity_id: Mapped[int]
    transition_code: Mapped[str] = mapped_column(String(50))
    from_state: Mapped[str | None] = mapped_column(String(50))
    to_state: Mapped[str] = mapped_column(String(50))
    performed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    assignee_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    comment: Mapped[str | None] = mapped_column(Text)
    performed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    op_key: Mapped[str | None] = mapped_column(String(300), unique=True)
