"""indicators: responsible department, non-negative flag, components (the codes whose sum it is)

Revision ID: 0004_intake_wiring
Revises: 0003_users
"""

import sqlalchemy as sa
from alembic import op

revision = "0004_intake_wiring"
down_revision = "0003_users"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("indicators") as batch:
        batch.add_column(sa.Column("department", sa.String(length=300), nullable=False, server_default=""))
        batch.add_column(sa.Column("nonnegative", sa.Boolean(), nullable=False, server_default=sa.false()))
        batch.add_column(sa.Column("components", sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("indicators") as batch:
        batch.drop_column("components")
        batch.drop_column("nonnegative")
        batch.drop_column("department")
