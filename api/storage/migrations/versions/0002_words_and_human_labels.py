"""transcript segments keep their word timings and the seconds a repair removed; posts keep the analysts' label

Revision ID: 0002
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("transcript_segments") as batch:
        batch.add_column(sa.Column("words", sa.JSON(), nullable=True))
        batch.add_column(sa.Column("dropped_s", sa.Float(), nullable=True))
    with op.batch_alter_table("social_posts") as batch:
        batch.add_column(sa.Column("human_label", sa.String(length=16), nullable=True))
        batch.create_index("ix_social_posts_human_label", ["human_label"])
    # Posts labelled before this revision: the newest label of each wins.
    op.execute(
        "UPDATE social_posts SET human_label = (SELECT l.label FROM social_labels l WHERE l.post_id = social_posts.id "
        "ORDER BY l.id DESC LIMIT 1) WHERE id IN (SELECT post_id FROM social_labels WHERE post_id IS NOT NULL)"
    )


def downgrade() -> None:
    with op.batch_alter_table("social_posts") as batch:
        batch.drop_index("ix_social_posts_human_label")
        batch.drop_column("human_label")
    with op.batch_alter_table("transcript_segments") as batch:
        batch.drop_column("dropped_s")
        batch.drop_column("words")
