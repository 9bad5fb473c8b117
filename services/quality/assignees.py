"""Who gets an NCR report's task: the active holder of the state's role with the fewest open ERP NCR reports
assigned to them (ties: the lowest user id), or nobody when no one holds the role."""

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from dto.quality import NCR_REPORT
from models.identity import User
from models.quality import NonConformance
from services.approvals import definitions
from services.quality.ncr_report_reads import KIND


def least_loaded_assignee(session: Session, role: str | None, *, excluding_ncr_id: int | None = None) -> int | None:
    """`excluding_ncr_id`: the report being moved does not count towards its holder's load."""
    wanted = definitions.role_key(role)
    if wanted is None:
        return None
    open_states = definitions.load(session, NCR_REPORT).open_states()
    workload = (select(func.count(NonConformance.id))
                .where(NonConformance.current_assignee_id == User.id, NonConformance.kind == KIND,
                       NonConformance.status.in_(open_states), NonConformance.id != (excluding_ncr_id or 0))
                .correlate(User).scalar_subquery())
    return session.scalar(select(User.id).where(func.lower(User.role) == wanted, User.is_active.is_(True))
                          .order_by(workload, User.id).limit(1))
