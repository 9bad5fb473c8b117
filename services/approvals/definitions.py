"""Lifecycles held as data (manufacturing-erp.md §6.4): a `workflow_definitions` row names an entity type's states
(each owned by a role, some final) and the transitions between them (`from` states, the `to` state or none when
the state stays, e.g. `assign`, and optionally the `roles` that alone may perform it). Lifecycles read their rules
here instead of hard-coding them; a parsed definition is kept per process for as long as its row's version stands
(an edit of the row must bump `version`). Who gets a state's task is the entity's area's choice (NCR reports:
services/quality/assignees.py)."""

import time
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.errors import AppError
from core.permissions import parse_role
from dto.approvals import DefinedMove
from models.approvals import WorkflowDefinition
from models.identity import User


@dataclass(frozen=True)
class StateRule:
    code: str
    name: str
    role: str | None  # who works on an entity in this state (lower case); none for final states
    final: bool


@dataclass(frozen=True)
class TransitionRule:
    code: str
    name: str
    sources: tuple[str, ...]  # the states it leaves from
    target: str | None  # None: the state stays (an assignment)
    roles: tuple[str, ...] | None  # only these roles (and admin-equivalents) may perform it; None: the assignee

    @property
    def assigns(self) -> bool:
        """A transition that keeps the state hands the task to someone else (it needs an assignee)."""
        return self.target is None


@dataclass(frozen=True)
class Definition:
    row_id: int
    version: int
    entity_type: str
    name: str
    initial_state: str
    states: tuple[StateRule, ...]
    transitions: tuple[TransitionRule, ...]

    def state(self, code: str) -> StateRule | None:
        return next((s for s in self.states if s.code == code), None)

    def transition(self, code: str) -> TransitionRule | None:
        return next((t for t in self.transitions if t.code == code), None)

    def allowed_from(self, state: str) -> list[str]:
        """The transition codes an entity in `state` may take, in the definition's order (none from a final one)."""
        if self.is_final(state):
            return []
        return [t.code for t in self.transitions if state in t.sources]

    def target_of(self, code: str, state: str) -> str:
        """Where `code` takes an entity in `state`: its `to`, or the same state for an assignment."""
        rule = self.transition(code)
        return state if rule is None or rule.target is None else rule.target

    def role_of(self, state: str) -> str | None:
        rule = self.state(state)
        return rule.role if rule else None

    def is_final(self, state: str) -> bool:
        rule = self.state(state)
        return bool(rule and rule.final)

    def moves_from(self, state: str) -> dict[str, DefinedMove]:
        """What a lifecycle keeps of the moves allowed from `state` (to check who may take them)."""
        return {code: DefinedMove(roles=list(rule.roles) if rule.roles is not None else None, assigns=rule.assigns)
                for code in self.allowed_from(state) if (rule := self.transition(code))}

    def open_states(self) -> list[str]:
        return [s.code for s in self.states if not s.final]

    def body(self) -> dict[str, Any]:
        """The definition as `GET /api/v1/workflow-definitions/{entity_type}` shows it."""
        return {"entity_type": self.entity_type, "name": self.name, "initial_state": self.initial_state,
                "states": [{"code": s.code, "name": s.name, "role": s.role, "final": s.final} for s in self.states],
                "transitions": [{"code": t.code, "name": t.name, "from": list(t.sources), "to": t.target,
                                 "roles": list(t.roles) if t.roles is not None else None} for t in self.transitions]}


_CACHE: dict[str, Definition] = {}
_CHECKED: dict[str, float] = {}  # when the cached definition's version was last confirmed (monotonic seconds)
RECHECK_SECONDS = 2.0  # an edited definition applies within this (a transition reads no row before then)


def load(session: Session, entity_type: str) -> Definition:
    """The definition of `entity_type` (404 when there is none); parsed once per version of its row, its version
    confirmed at most every RECHECK_SECONDS (a transition costs no statement for it in between)."""
    cached = _CACHE.get(entity_type)
    if cached is not None and time.monotonic() - _CHECKED.get(entity_type, 0.0) < RECHECK_SECONDS:
        return cached
    current = session.execute(select(WorkflowDefinition.id, WorkflowDefinition.version)
                              .where(WorkflowDefinition.entity_type == entity_type)).first()
    if current is None:
        raise AppError("NOT_FOUND", 404, "Not found", f"No workflow definition for {entity_type}")
    _CHECKED[entity_type] = time.monotonic()
    if cached is not None and (cached.row_id, cached.version) == (current.id, current.version):
        return cached
    row = session.get_one(WorkflowDefinition, current.id)
    definition = parse(row)
    _CACHE[entity_type] = definition
    return definition


def parse(row: WorkflowDefinition) -> Definition:
    """A definition row's JSON as rules: role names in lower case (roles match case-insensitively)."""
    states = tuple(StateRule(code=s["code"], name=s.get("name") or s["code"], role=_role(s.get("role")),
                             final=bool(s.get("final"))) for s in row.states)
    transitions = tuple(TransitionRule(
        code=t["code"], name=t.get("name") or t["code"], sources=tuple(t.get("from") or ()), target=t.get("to"),
        roles=tuple(r for r in (_role(role) for role in t["roles"]) if r) if t.get("roles") is not None else None)
        for t in row.transitions)
    return Definition(row_id=row.id, version=row.version, entity_type=row.entity_type, name=row.name,
                      initial_state=row.initial_state, states=states, transitions=transitions)


def _role(value: str | None) -> str | None:
    if not value:
        return None
    parsed = parse_role(value)
    return parsed.value if parsed else value.strip().lower()


def holds_role(user: User, role: str | None) -> bool:
    """An active user whose role is `role` (any spelling)."""
    return role is not None and user.is_active and _role(user.role) == _role(role)


def role_key(value: str | None) -> str | None:
    """A role as definitions hold it (lower case, any contract's spelling)."""
    return _role(value)
