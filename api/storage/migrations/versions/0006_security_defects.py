"""owners, editors and actors as subjects ("user:<id>", "key:<id>"), not display names; a health probe row

Transcriptions get ``owner_subject`` (who may see them), segment edits ``editor_subject`` and the audit log
``actor_subject``. Rows are backfilled from the key ids they kept (``owner_key_id``, ``actor_key_id``); a
transcription uploaded by a signed-in person before this revision has no key id and stays visible to admins
only. Jobs' ``owner`` now holds a subject: transcription jobs take their transcription's, others are cleared
(admins still see them).

Revision ID: 0006_security_defects
Revises: 0005_anomaly_review
"""

import sqlalchemy as sa
from alembic import op

revision = "0006_security_defects"
down_revision = "0005_anomaly_review"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("transcriptions") as batch:
        batch.add_column(sa.Column("owner_subject", sa.String(length=64), nullable=True))
        batch.create_index("ix_transcriptions_owner_subject", ["owner_subject"])
    with op.batch_alter_table("segment_edits") as batch:
        batch.add_column(sa.Column("editor_subject", sa.String(length=64), nullable=True))
    with op.batch_alter_table("audit_log") as batch:
        batch.add_column(sa.Column("actor_subject", sa.String(length=64), nullable=True))
        batch.create_index("ix_audit_log_actor_subject", ["actor_subject"])
    op.create_table(
        "health_probe",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("checked_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.execute("INSERT INTO health_probe (id, checked_at) VALUES (1, CURRENT_TIMESTAMP)")
    op.execute(
        "UPDATE transcriptions SET owner_subject = 'key:' || CAST(owner_key_id AS VARCHAR) "
        "WHERE owner_key_id IS NOT NULL"
    )
    op.execute(
        "UPDATE audit_log SET actor_subject = 'key:' || CAST(actor_key_id AS VARCHAR) WHERE actor_key_id IS NOT NULL"
    )
    op.execute("UPDATE audit_log SET actor_subject = 'system' WHERE actor_key_id IS NULL AND actor = 'system'")
    # An edit by the transcription's owner (same name) is the owner's; other names cannot be told apart.
    op.execute(
        "UPDATE segment_edits SET editor_subject = ("
        " SELECT t.owner_subject FROM transcript_segments s JOIN transcriptions t ON t.id = s.transcription_id"
        " WHERE s.id = segment_edits.segment_id AND t.owner = segment_edits.editor)"
    )
    op.execute(
        "UPDATE jobs SET owner = (SELECT t.owner_subject FROM transcriptions t WHERE t.job_id = jobs.id)"
        " WHERE kind = 'transcribe'"
    )
    op.execute("UPDATE jobs SET owner = NULL WHERE kind <> 'transcribe'")


def downgrade() -> None:
    op.drop_table("health_probe")
    with op.batch_alter_table("audit_log") as batch:
        batch.drop_index("ix_audit_log_actor_subject")
        batch.drop_column("actor_subject")
    with op.batch_alter_table("segment_edits") as batch:
        batch.drop_column("editor_subject")
    with op.batch_alter_table("transcriptions") as batch:
        batch.drop_index("ix_transcriptions_owner_subject")
        batch.drop_column("owner_subject")
