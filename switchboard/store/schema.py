"""The SQL tables the platform writes, as SQLAlchemy Core metadata (SQLite by default, PostgreSQL too).

Nothing here is SQLite-only: types and constraints are portable.
"""

from __future__ import annotations

import sqlalchemy as sa

metadata = sa.MetaData()

# One row per call the platform handled; written when routed, completed at hangup.
calls = sa.Table(
    "calls",
    metadata,
    sa.Column("id", sa.String(36), primary_key=True),
    sa.Column("uniqueid", sa.String(64), nullable=False, index=True),
    sa.Column("direction", sa.String(8), nullable=False),  # inbound | outbound
    sa.Column("caller", sa.String(64), nullable=False),
    sa.Column("hotline", sa.String(32), nullable=True),
    sa.Column("queue", sa.String(40), nullable=True),
    sa.Column("operator", sa.String(40), nullable=True),
    sa.Column("started_at", sa.Float, nullable=False),
    sa.Column("answered_at", sa.Float, nullable=True),
    sa.Column("ended_at", sa.Float, nullable=True, index=True),
    sa.Column("outcome", sa.String(24), nullable=True),  # answered | abandoned | no_operator | failed
    sa.Column("hangup_cause", sa.Integer, nullable=True),
    sa.Column("recording", sa.String(512), nullable=True),
)
