"""jobs carry an exclusive key: at most one queued or running job holds each (one training per model)

Revision ID: 0009_limits
Revises: 0008_sources
"""

import sqlalchemy as sa
from alembic import op

revision = "0009_limits"
down_revision = "0008_sources"
branch_labels = None
depends_on = None

ACTIVE = sa.text("status IN ('queued', 'running')")


def upgrade() -> None:
    with op.batch_alter_table("jobs") as batch:
        batch.add_column(sa.Column("exclusive_key", sa.String(120), nullable=True))
    op.create_index(
        "ix_jobs_active_exclusive_key",
        "jobs",
        ["exclusive_key"],
        unique=True,
        sqlite_where=ACTIVE,
        postgresql_where=ACTIVE,
    )
    op.create_index("ix_jobs_owner_status", "jobs", ["owner", "status"])


def downgrade() -> None:
    op.drop_index("ix_jobs_owner_status", table_name="jobs")
    op.drop_index("ix_jobs_active_exclusive_key", table_name="jobs")
    with op.batch_alter_table("jobs") as batch:
        batch.drop_column("exclusive_key")
