"""All ORM models, imported here so Alembic sees the whole metadata."""

from models.audit import AuditEntry
from models.base import Base
from models.identity import AuthSession, LoginAttempt, User
from models.operations import AppliedOperation, IdempotencyKey, SerialNumber
from models.production import Batch, Module, ModuleCell, Pack, Sku

__all__ = [
    "AppliedOperation", "AuditEntry", "AuthSession", "Base", "Batch", "IdempotencyKey", "LoginAttempt",
    "Module", "ModuleCell", "Pack", "SerialNumber", "Sku", "User",
]
