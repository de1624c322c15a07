"""anomalies are reviewed: who (identity), when, and a note

Revision ID: 0005_anomaly_review
Revises: 0004_intake_wiring
"""

import sqlalchemy as sa
from alembic import op

revision = "0005_anomaly_review"
down_revision = "0004_intake_wiring"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("anomalies") as batch:
        batch.add_column(sa.Column("reviewed_by", sa.String(length=120), nullable=True))
        batch.add_column(sa.Column("reviewed_at", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("note", sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("anomalies") as batch:
        batch.drop_column("note")
        batch.drop_column("reviewed_at")
        batch.drop_column("reviewed_by")
