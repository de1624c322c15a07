"""transcriptions keep the meeting's details for the minutes (time, venue, chair, attendees, conclusions)

Revision ID: 0007_meeting_details
Revises: 0006_security_defects
"""

import sqlalchemy as sa
from alembic import op

revision = "0007_meeting_details"
down_revision = "0006_security_defects"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("transcriptions") as batch:
        batch.add_column(sa.Column("meeting", sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("transcriptions") as batch:
        batch.drop_column("meeting")
