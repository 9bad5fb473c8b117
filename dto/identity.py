"""Who acts: the caller of a transition as it lands in the workflow history and in the audit row."""

from decimal import Decimal

from pydantic import BaseModel


class Actor(BaseModel):
    """Who asks for a transition: lands in the workflow history and in the audit row."""

    id: int
    role: str
    is_superuser: bool = False
    approval_limit: Decimal | None = None
    ip_address: str | None = None
