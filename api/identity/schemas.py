"""Auth and user bodies: the union of the aerospace and battery-rul contracts."""

from enum import StrEnum
from typing import Any

from pydantic import ConfigDict, EmailStr, Field

from api.contracts.dialects import Dialect
from api.contracts.types import SafeBody
from api.contracts.wire import Money, UtcDateTime, WireModel
from core.permissions import render_role
from core.timeutil import iso_z
from models.identity import LoginAttempt, User


class Department(StrEnum):
    OPERATIONS = "OPERATIONS"
    PROCUREMENT = "PROCUREMENT"
    QUALITY_ASSURANCE = "QUALITY_ASSURANCE"
    ENGINEERING = "ENGINEERING"
    PRODUCTION = "PRODUCTION"
    STORES = "STORES"
    FINANCE = "FINANCE"
    ADMINISTRATION = "ADMINISTRATION"


class UserOut(WireModel):
    id: int
    uid: str
    user_id: str
    username: str
    email: str
    full_name: str | None
    employee_id: str | None
    phone: str | None
    department: str | None
    designation: str | None
    role: str
    is_active: bool
    is_superuser: bool
    can_approve_workflows: bool
    approval_limit: Money | None
    last_login: UtcDateTime | None
    notes: str | None
    version: int
    created_at: UtcDateTime
    updated_at: UtcDateTime


def user_out(user: User, dialect: Dialect = Dialect.AEROSPACE) -> dict[str, Any]:
    data = UserOut.model_validate({**{c: getattr(user, c) for c in UserOut.model_fields if c != "uid"},
                                   "uid": str(user.uid)}).model_dump(mode="json")
    data["role"] = render_role(user.role, dialect)
    return data


class StrictBody(SafeBody):
    model_config = ConfigDict(extra="ignore", str_strip_whitespace=True)


class UserCreate(StrictBody):
    """`POST /auth/register` (aerospace) and `POST /auth/users` (battery-rul)."""

    email: EmailStr
    password: str = Field(min_length=1, max_length=200)
    user_id: str | None = Field(default=None, min_length=1, max_length=100)
    username: str | None = Field(default=None, min_length=1, max_length=100)
    full_name: str | None = Field(default=None, max_length=255)
    employee_id: str | None = Field(default=None, max_length=100)
    phone: str | None = Field(default=None, max_length=50)
    department: Department | None = None
    designation: str | None = Field(default=None, max_length=255)
    role: str = "viewer"
    is_active: bool = True
    is_superuser: bool = False
    can_approve_workflows: bool = False
    approval_limit: Money | None = Field(default=None, ge=0, max_digits=14, decimal_places=2)
    notes: str | None = None


class UserUpdate(StrictBody):
    """`PUT /users/{id}` and `PATCH /auth/users/{user_id}`: every field optional."""

    email: EmailStr | None = None
    username: str | None = Field(default=None, min_length=1, max_length=100)
    full_name: str | None = Field(default=None, max_length=255)
    employee_id: str | None = Field(default=None, max_length=100)
    phone: str | None = Field(default=None, max_length=50)
    department: Department | None = None
    designation: str | None = Field(default=None, max_length=255)
    role: str | None = None
    is_active: bool | None = None
    can_approve_workflows: bool | None = None
    approval_limit: Money | None = Field(default=None, ge=0, max_digits=14, decimal_places=2)
    notes: str | None = None


def attempt_out(attempt: LoginAttempt, with_user: bool = False) -> dict[str, Any]:
    data: dict[str, Any] = {"login_at": iso_z(attempt.login_at), "ip_address": attempt.ip_address,
                            "user_agent": attempt.user_agent, "success": attempt.success,
                            "failure_reason": attempt.failure_reason, "is_logout": attempt.is_logout}
    if with_user:
        data = {"user_id": attempt.user_id, "username": attempt.username, **data}
    return data
