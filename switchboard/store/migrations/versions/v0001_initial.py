"""Every table: the call records, and campaigns, lead lists, leads, do-not-call, attempts, dispositions, callbacks.

A database made before migrations (by metadata.create_all) is adopted: a table that exists is left as it is.

Revision ID: 0001
Revises:
Create Date: 2026-11-26
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

# Frozen copies of schema.py's types: a migration must not change when the schema module does.
Json = sa.JSON(none_as_null=True).with_variant(postgresql.JSONB(none_as_null=True), "postgresql")
BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
TABLES = (
    "calls", "campaigns", "lead_lists", "lead_imports", "leads", "dnc", "store_meta",
    "dispositions", "refusal_reasons", "attempts", "callbacks",
)  # fmt: skip


def _missing(name: str) -> bool:
    return not sa.inspect(op.get_bind()).has_table(name)


def _pk(table: str) -> sa.PrimaryKeyConstraint:
    return sa.PrimaryKeyConstraint("id", name=f"pk_{table}")


def _fk(table: str, column: str, target: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint([column], [f"{target}.id"], name=f"fk_{table}_{column}_{target}")


def _campaign_fk(table: str) -> sa.ForeignKeyConstraint:
    return _fk(table, "campaign_id", "campaigns")


def upgrade() -> None:
    _calls()
    _campaigns_and_lists()
    _leads()
    _dnc_and_meta()
    _outcomes()
    _attempts_and_callbacks()


def downgrade() -> None:
    for name in reversed(TABLES):
        op.drop_table(name)


def _calls() -> None:
    if not _missing("calls"):
        return
    op.create_table(
        "calls",
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column("uniqueid", sa.String(64), nullable=False),
        sa.Column("direction", sa.String(8), nullable=False),
        sa.Column("caller", sa.String(64), nullable=False),
        sa.Column("hotline", sa.String(32), nullable=True),
        sa.Column("queue", sa.String(40), nullable=True),
        sa.Column("operator", sa.String(40), nullable=True),
        sa.Column("started_at", sa.Float, nullable=False),
        sa.Column("answered_at", sa.Float, nullable=True),
        sa.Column("ended_at", sa.Float, nullable=True),
        sa.Column("outcome", sa.String(24), nullable=True),
        sa.Column("hangup_cause", sa.Integer, nullable=True),
        sa.Column("recording", sa.String(512), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_calls"),
    )
    op.create_index("ix_calls_uniqueid", "calls", ["uniqueid"])
    op.create_index("ix_calls_ended_at", "calls", ["ended_at"])


def _campaigns_and_lists() -> None:
    if _missing("campaigns"):
        op.create_table(
            "campaigns",
            sa.Column("id", sa.Integer, nullable=False),
            sa.Column("name", sa.String(100), nullable=False),
            sa.Column("status", sa.String(16), nullable=False, server_default="active"),
            sa.Column("require_consent", sa.Boolean, nullable=False, server_default=sa.false()),
            sa.Column("caller_id", sa.String(32), nullable=True),
            sa.Column("max_attempts", sa.Integer, nullable=False, server_default="3"),
            sa.Column("retry_after_s", sa.Integer, nullable=False, server_default="3600"),
            sa.Column("weekday_from_min", sa.Integer, nullable=False, server_default="540"),
            sa.Column("weekday_to_min", sa.Integer, nullable=False, server_default="1260"),
            sa.Column("weekend_from_min", sa.Integer, nullable=False, server_default="600"),
            sa.Column("weekend_to_min", sa.Integer, nullable=False, server_default="1200"),
            sa.Column("default_zone", sa.String(64), nullable=False, server_default="Europe/Moscow"),
            sa.Column("dedupe_days", sa.Integer, nullable=True),
            sa.Column("settings", Json, nullable=True),
            sa.Column("created_at", sa.Float, nullable=False),
            _pk("campaigns"),
            sa.UniqueConstraint("name", name="uq_campaigns_name"),
        )
    if _missing("lead_lists"):
        op.create_table(
            "lead_lists",
            sa.Column("id", sa.Integer, nullable=False),
            sa.Column("campaign_id", sa.Integer, nullable=False),
            sa.Column("name", sa.String(200), nullable=False),
            sa.Column("created_at", sa.Float, nullable=False),
            _pk("lead_lists"),
            _campaign_fk("lead_lists"),
            sa.UniqueConstraint("campaign_id", "name", name="uq_lead_lists_campaign_id_name"),
        )
    if _missing("lead_imports"):
        counts = [
            sa.Column(name, sa.Integer, nullable=False, server_default="0")
            for name in ("rows", "imported", "rejected", "duplicates", "dnc", "no_consent")
        ]
        op.create_table(
            "lead_imports",
            sa.Column("id", sa.Integer, nullable=False),
            sa.Column("campaign_id", sa.Integer, nullable=False),
            sa.Column("list_id", sa.Integer, nullable=False),
            sa.Column("file_name", sa.String(500), nullable=False),
            sa.Column("file_sha256", sa.String(64), nullable=True),
            sa.Column("started_at", sa.Float, nullable=False),
            sa.Column("finished_at", sa.Float, nullable=True),
            *counts,
            sa.Column("options", Json, nullable=True),
            _pk("lead_imports"),
            _campaign_fk("lead_imports"),
            _fk("lead_imports", "list_id", "lead_lists"),
        )
        op.create_index("ix_lead_imports_list_id", "lead_imports", ["list_id"])


def _leads() -> None:
    if not _missing("leads"):
        return
    texts = [
        sa.Column(name, sa.String(size), nullable=True)
        for name, size in (
            ("full_name", 200), ("first_name", 100), ("last_name", 100), ("middle_name", 100), ("email", 254),
            ("address", 500), ("city", 100), ("region", 100),
        )
    ]  # fmt: skip
    op.create_table(
        "leads",
        sa.Column("id", BigId, nullable=False),
        sa.Column("campaign_id", sa.Integer, nullable=False),
        sa.Column("list_id", sa.Integer, nullable=False),
        sa.Column("import_id", sa.Integer, nullable=True),
        sa.Column("source_line", sa.Integer, nullable=True),
        sa.Column("phone_e164", sa.String(16), nullable=False),
        sa.Column("alt_phones", Json, nullable=True),
        *texts,
        sa.Column("time_zones", Json, nullable=False),
        sa.Column("consent", sa.Boolean, nullable=True),
        sa.Column("consent_at", sa.String(40), nullable=True),
        sa.Column("consent_source", sa.String(200), nullable=True),
        sa.Column("custom", Json, nullable=True),
        sa.Column("status", sa.String(16), nullable=False, server_default="new"),
        sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
        sa.Column("next_attempt_at", sa.Float, nullable=True),
        sa.Column("last_attempt_at", sa.Float, nullable=True),
        sa.Column("last_result", sa.String(24), nullable=True),
        sa.Column("created_at", sa.Float, nullable=False),
        _pk("leads"),
        _campaign_fk("leads"),
        _fk("leads", "list_id", "lead_lists"),
        _fk("leads", "import_id", "lead_imports"),
    )
    op.create_index("uq_leads_phone_campaign", "leads", ["phone_e164", "campaign_id"], unique=True)
    op.create_index("ix_leads_campaign_status_next", "leads", ["campaign_id", "status", "next_attempt_at"])


def _dnc_and_meta() -> None:
    if _missing("dnc"):
        op.create_table(
            "dnc",
            sa.Column("id", sa.Integer, nullable=False),
            sa.Column("campaign_id", sa.Integer, nullable=True),
            sa.Column("phone_e164", sa.String(16), nullable=True),
            sa.Column("phone_hash", sa.String(64), nullable=False),
            sa.Column("added_at", sa.Float, nullable=False),
            sa.Column("source", sa.String(200), nullable=True),
            sa.Column("reason", sa.String(200), nullable=True),
            _pk("dnc"),
            _campaign_fk("dnc"),
        )
        op.create_index("ix_dnc_phone_e164", "dnc", ["phone_e164"])
        op.create_index("ix_dnc_phone_hash", "dnc", ["phone_hash"])
    if _missing("store_meta"):
        op.create_table(
            "store_meta",
            sa.Column("key", sa.String(64), nullable=False),
            sa.Column("value", sa.Text, nullable=False),
            sa.PrimaryKeyConstraint("key", name="pk_store_meta"),
        )


def _outcomes() -> None:
    if _missing("dispositions"):
        op.create_table(
            "dispositions",
            sa.Column("id", sa.Integer, nullable=False),
            sa.Column("campaign_id", sa.Integer, nullable=True),
            sa.Column("code", sa.String(40), nullable=False),
            sa.Column("label", sa.String(200), nullable=False),
            sa.Column("final", sa.Boolean, nullable=False, server_default=sa.false()),
            sa.Column("success", sa.Boolean, nullable=False, server_default=sa.false()),
            sa.Column("callback", sa.Boolean, nullable=False, server_default=sa.false()),
            sa.Column("retry_after_s", sa.Integer, nullable=True),
            sa.Column("sort_order", sa.Integer, nullable=False, server_default="0"),
            sa.Column("active", sa.Boolean, nullable=False, server_default=sa.true()),
            _pk("dispositions"),
            _campaign_fk("dispositions"),
            sa.UniqueConstraint("campaign_id", "code", name="uq_dispositions_campaign_id_code"),
        )
    if _missing("refusal_reasons"):
        op.create_table(
            "refusal_reasons",
            sa.Column("id", sa.Integer, nullable=False),
            sa.Column("campaign_id", sa.Integer, nullable=True),
            sa.Column("code", sa.String(40), nullable=False),
            sa.Column("label", sa.String(200), nullable=False),
            sa.Column("sort_order", sa.Integer, nullable=False, server_default="0"),
            sa.Column("active", sa.Boolean, nullable=False, server_default=sa.true()),
            _pk("refusal_reasons"),
            _campaign_fk("refusal_reasons"),
            sa.UniqueConstraint("campaign_id", "code", name="uq_refusal_reasons_campaign_id_code"),
        )


def _attempts_and_callbacks() -> None:
    if _missing("attempts"):
        op.create_table(
            "attempts",
            sa.Column("id", BigId, nullable=False),
            sa.Column("lead_id", BigId, nullable=False),
            sa.Column("campaign_id", sa.Integer, nullable=False),
            sa.Column("phone_e164", sa.String(16), nullable=False),
            sa.Column("call_id", sa.String(36), nullable=True),
            sa.Column("uniqueid", sa.String(64), nullable=True),
            sa.Column("started_at", sa.Float, nullable=False),
            sa.Column("answered_at", sa.Float, nullable=True),
            sa.Column("ended_at", sa.Float, nullable=True),
            sa.Column("result", sa.String(24), nullable=True),
            sa.Column("hangup_cause", sa.Integer, nullable=True),
            sa.Column("operator", sa.String(40), nullable=True),
            sa.Column("wait_s", sa.Float, nullable=True),
            sa.Column("talk_s", sa.Float, nullable=True),
            sa.Column("abandoned", sa.Boolean, nullable=False, server_default=sa.false()),
            sa.Column("recording", sa.String(512), nullable=True),
            sa.Column("disposition_id", sa.Integer, nullable=True),
            sa.Column("refusal_reason_id", sa.Integer, nullable=True),
            sa.Column("note", sa.Text, nullable=True),
            _pk("attempts"),
            _fk("attempts", "lead_id", "leads"),
            _campaign_fk("attempts"),
            _fk("attempts", "disposition_id", "dispositions"),
            _fk("attempts", "refusal_reason_id", "refusal_reasons"),
        )
        op.create_index("ix_attempts_call_id", "attempts", ["call_id"])
        op.create_index("ix_attempts_uniqueid", "attempts", ["uniqueid"])
        op.create_index("ix_attempts_lead_started", "attempts", ["lead_id", "started_at"])
        op.create_index("ix_attempts_campaign_started", "attempts", ["campaign_id", "started_at"])
    if _missing("callbacks"):
        op.create_table(
            "callbacks",
            sa.Column("id", BigId, nullable=False),
            sa.Column("lead_id", BigId, nullable=False),
            sa.Column("campaign_id", sa.Integer, nullable=False),
            sa.Column("attempt_id", BigId, nullable=True),
            sa.Column("phone_e164", sa.String(16), nullable=False),
            sa.Column("due_at", sa.Float, nullable=False),
            sa.Column("operator", sa.String(40), nullable=True),
            sa.Column("status", sa.String(16), nullable=False, server_default="pending"),
            sa.Column("note", sa.Text, nullable=True),
            sa.Column("created_at", sa.Float, nullable=False),
            sa.Column("done_at", sa.Float, nullable=True),
            _pk("callbacks"),
            _fk("callbacks", "lead_id", "leads"),
            _campaign_fk("callbacks"),
            _fk("callbacks", "attempt_id", "attempts"),
        )
        op.create_index("ix_callbacks_lead_id", "callbacks", ["lead_id"])
        op.create_index("ix_callbacks_campaign_status_due", "callbacks", ["campaign_id", "status", "due_at"])
        op.create_index("ix_callbacks_operator_status_due", "callbacks", ["operator", "status", "due_at"])
