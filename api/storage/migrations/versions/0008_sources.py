"""sources: published files pulled on a schedule (URL, format, mapping, schedule, the state of the pulls)

Revision ID: 0008_sources
Revises: 0007_meeting_details
"""

import sqlalchemy as sa
from alembic import op

revision = "0008_sources"
down_revision = "0007_meeting_details"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "sources",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("name", sa.String(length=200), nullable=False, server_default=""),
        sa.Column("url", sa.Text(), nullable=False),
        sa.Column("format", sa.String(length=16), nullable=False),
        sa.Column("indicator_code", sa.String(length=64), nullable=True),
        sa.Column("mapping", sa.JSON(), nullable=False),
        sa.Column("schedule", sa.String(length=120), nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False, server_default=sa.true()),
        sa.Column("created_by", sa.String(length=64), nullable=False, server_default=""),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("next_due_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("claim_seq", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("etag", sa.String(length=300), nullable=True),
        sa.Column("last_modified", sa.String(length=100), nullable=True),
        sa.Column("last_job_id", sa.String(length=32), nullable=True),
        sa.Column("last_pull_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_status", sa.String(length=16), nullable=True),
        sa.Column("last_success_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_error_code", sa.String(length=64), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("consecutive_failures", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("frequency", sa.String(length=1), nullable=True),
        sa.Column("last_period", sa.String(length=16), nullable=True),
        sa.Column("last_new_data_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("alert", sa.String(length=32), nullable=True),
        sa.Column("alert_since", sa.DateTime(timezone=True), nullable=True),
        sa.Column("alert_message", sa.Text(), nullable=True),
    )
    op.create_index("ix_sources_next_due_at", "sources", ["next_due_at"])


def downgrade() -> None:
    op.drop_index("ix_sources_next_due_at", table_name="sources")
    op.drop_table("sources")
