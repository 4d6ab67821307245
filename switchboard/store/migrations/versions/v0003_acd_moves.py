"""ACD moves: where an operator transferred a call and the wrap-up code they keyed; hotline callback tasks.

Revision ID: 0003_acd_moves
Revises: 0002_campaigns
Create Date: 2026-11-27
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003_acd_moves"
down_revision = "0002_campaigns"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # A store the platform made with create_all (before it ran migrations) may have all of this already.
    inspector = sa.inspect(op.get_bind())
    have = {column["name"] for column in inspector.get_columns("calls")}
    if "transferred_to" not in have:
        op.add_column("calls", sa.Column("transferred_to", sa.String(48), nullable=True))
    if "wrapup_code" not in have:
        op.add_column("calls", sa.Column("wrapup_code", sa.String(40), nullable=True))
        op.create_index("ix_calls_wrapup_code", "calls", ["wrapup_code"])
    if inspector.has_table("queue_callbacks"):
        return
    op.create_table(
        "queue_callbacks",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("queue", sa.String(40), nullable=False),
        sa.Column("phone", sa.String(64), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("message", sa.String(512), nullable=True),
        sa.Column("requested_at", sa.Float, nullable=False),
        sa.Column("status", sa.String(16), nullable=False, server_default="pending"),
        sa.Column("operator", sa.String(40), nullable=True),
        sa.Column("done_at", sa.Float, nullable=True),
    )
    op.create_index("ix_queue_callbacks_status_requested", "queue_callbacks", ["status", "requested_at"])


def downgrade() -> None:
    op.drop_index("ix_queue_callbacks_status_requested", table_name="queue_callbacks")
    op.drop_table("queue_callbacks")
    op.drop_index("ix_calls_wrapup_code", table_name="calls")
    with op.batch_alter_table("calls") as batch:  # SQLite drops columns by copying the table
        batch.drop_column("wrapup_code")
        batch.drop_column("transferred_to")
