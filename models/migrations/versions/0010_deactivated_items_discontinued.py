"""deactivated stock items are `discontinued` (a material status of the materials contract), not `inactive`

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-21 18:00:00.000000
"""
from collections.abc import Sequence

from alembic import op

revision: str = '0010'
down_revision: str | None = '0009'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.execute("UPDATE materials SET status = 'discontinued' WHERE status = 'inactive'")


def downgrade() -> None:
    """Nothing to undo: `discontinued` is a valid status either way."""
