"""Auth and user bodies: the union of the aerospace and battery-rul contracts. Answers are `…Out` models, the
routes' response models (FastAPI serialises the instances the `*_out` builders return)."""

from enum import StrEnum

from pydantic import ConfigDict, EmailStr, Field

from api.contracts.dialects import Dialect
from api.contracts.types import SafeBody
from api.contracts.wire import Money, UtcDateTime, WireModel
from core.permissions import render_role
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


_USER_COLUMNS = tuple(c for c in UserOut.model_fields if c not in ("uid", "role"))


def user_out(user: User, dialect: Dialect = Dialect.AEROSPACE) -> UserOut:
    return UserOut.model_validate({**{c: getattr(user, c) for c in _USER_COLUMNS}, "uid": str(user.uid),
                                   "role": render_role(user.role, dialect)})


class UserListOut(WireModel):
    """battery-rul `GET /auth/users`."""

    users: list[UserOut]
    total: int


class MessageOut(WireModel):
    """`{"message": "..."}`: logout, change-password, battery-rul user deletion."""

    message: str


class TokenOut(WireModel):
    """`POST /auth/refresh`: a new token pair."""

    access_token: str
    refresh_token: str
    token_type: str
    expires_in: int


class LoginOut(TokenOut):
    """`POST /auth/login`: the token pair and who signed in."""

    user: UserOut


class ValidateOut(WireModel):
    """`GET /auth/validate`: the token's user, as the session knows it."""

    valid: bool
    user_id: int
    email: str
    role: str
    is_superuser: bool


class PermissionsOut(WireModel):
    """`GET /auth/permissions`: the caller's role and what it may do (`["ALL"]` for admin-equivalents)."""

    user_id: int
    email: str
    role: str
    role_description: str
    is_superuser: bool
    can_approve_workflows: bool
    approval_limit: float | None
    permissions: list[str]


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


class LoginAttemptOut(WireModel):
    """One sign-in, failed sign-in or sign-out."""

    login_at: UtcDateTime
    ip_address: str | None
    user_agent: str | None
    success: bool
    failure_reason: str | None
    is_logout: bool


class UserLoginAttemptOut(LoginAttemptOut):
    """One entry of everyone's login history: whose (`user_id` is null for an unknown login name)."""

    user_id: int | None
    username: str


class LoginHistoryOut(WireModel):
    """`GET /auth/login-history`: the caller's own."""

    user_id: int
    login_history: list[LoginAttemptOut]


class AllLoginHistoryOut(WireModel):
    """`GET /auth/all-login-history`."""

    total_records: int
    login_history: list[UserLoginAttemptOut]


def attempt_out(attempt: LoginAttempt) -> LoginAttemptOut:
    return LoginAttemptOut.model_validate(attempt)


def user_attempt_out(attempt: LoginAttempt) -> UserLoginAttemptOut:
    return UserLoginAttemptOut.model_validate(attempt)
