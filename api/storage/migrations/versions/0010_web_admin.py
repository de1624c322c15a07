"""a secretary may share a meeting's minutes with viewers (leaders read them, read-only)

Revision ID: 0010_web_admin
Revises: 0009_limits
"""

import sqlalchemy as sa
from alembic import op

revision = "0010_web_admin"
down_revision = "0009_limits"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("transcriptions") as batch:
        batch.add_column(sa.Column("shared_with_viewers", sa.Boolean(), nullable=False, server_default=sa.false()))


def downgrade() -> None:
    with op.batch_alter_table("transcriptions") as batch:
        batch.drop_column("shared_with_viewers")
