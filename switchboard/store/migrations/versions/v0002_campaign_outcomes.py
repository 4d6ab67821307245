"""Campaign outcomes: disposition flags (contact, do-not-call, refusal), do-not-call refusal reasons, the order form,
survey answers and quality score of an attempt, the zone of a callback, and the source of a win-back lead.

Revision ID: 0002_campaigns
Revises: 0001
Create Date: 2026-11-27
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0002_campaigns"
down_revision = "0001"
branch_labels = None
depends_on = None

# Frozen copies of schema.py's types: a migration must not change when the schema module does.
Json = sa.JSON(none_as_null=True).with_variant(postgresql.JSONB(none_as_null=True), "postgresql")
BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def _flag(name: str) -> sa.Column[bool]:
    return sa.Column(name, sa.Boolean, nullable=False, server_default=sa.false())


# Plain ADD COLUMN on both databases (SQLite accepts nullable columns and NOT NULL ones with a default).
def upgrade() -> None:
    for name in ("contact", "dnc", "refusal"):
        op.add_column("dispositions", _flag(name))
    op.add_column("refusal_reasons", _flag("dnc"))
    op.add_column("attempts", sa.Column("disposed_at", sa.Float, nullable=True))
    op.add_column("attempts", sa.Column("order_form", Json, nullable=True))
    op.add_column("attempts", sa.Column("survey", Json, nullable=True))
    op.add_column("attempts", sa.Column("score", sa.Integer, nullable=True))
    op.add_column("callbacks", sa.Column("zone", sa.String(64), nullable=True))
    op.add_column("leads", sa.Column("source_lead_id", BigId, nullable=True))
    op.create_index("uq_leads_campaign_source", "leads", ["campaign_id", "source_lead_id"], unique=True)


def downgrade() -> None:
    op.drop_index("uq_leads_campaign_source", table_name="leads")
    drops = {
        "leads": ("source_lead_id",),
        "callbacks": ("zone",),
        "attempts": ("score", "survey", "order_form", "disposed_at"),
        "refusal_reasons": ("dnc",),
        "dispositions": ("refusal", "dnc", "contact"),
    }
    for table, columns in drops.items():
        with op.batch_alter_table(table) as batch:
            for column in columns:
                batch.drop_column(column)
