"""The SQL tables the platform writes, as SQLAlchemy Core metadata (SQLite by default, PostgreSQL too).

Nothing here is SQLite-only: types and constraints are portable. Alembic migrations (store/migrations) create them.
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

# Named constraints, so later migrations (and SQLite's batch mode) can find them by name on every database.
metadata = sa.MetaData(
    naming_convention={
        "ix": "ix_%(column_0_label)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)
# JSON as text on SQLite, JSONB on PostgreSQL; None stays SQL NULL rather than the JSON 'null'.
Json = sa.JSON(none_as_null=True).with_variant(postgresql.JSONB(none_as_null=True), "postgresql")
# A 64-bit key that is still SQLite's rowid (only INTEGER PRIMARY KEY is).
BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")

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
    sa.Column("transferred_to", sa.String(48), nullable=True),  # queue:NAME | operator:SIP_USER
    sa.Column("wrapup_code", sa.String(40), nullable=True, index=True),  # what the caller asked about
)

# A hotline caller who waited the queue's maximum and asked to be called back, or left a voice message.
queue_callbacks = sa.Table(
    "queue_callbacks",
    metadata,
    sa.Column("id", sa.String(36), primary_key=True),  # the call id of the waiting call that asked
    sa.Column("queue", sa.String(40), nullable=False),
    sa.Column("phone", sa.String(64), nullable=False),  # the caller's number, as the network gave it
    sa.Column("kind", sa.String(16), nullable=False),  # callback | voicemail
    sa.Column("message", sa.String(512), nullable=True),  # the voice message's file
    sa.Column("requested_at", sa.Float, nullable=False),
    sa.Column("status", sa.String(16), nullable=False, server_default="pending"),  # pending | done | cancelled
    sa.Column("operator", sa.String(40), nullable=True),
    sa.Column("done_at", sa.Float, nullable=True),
    sa.Index("ix_queue_callbacks_status_requested", "status", "requested_at"),
)

# An outbound campaign: its rules for when and how often a lead is called. Times are epoch seconds (as calls).
campaigns = sa.Table(
    "campaigns",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("name", sa.String(100), nullable=False, unique=True),
    sa.Column("status", sa.String(16), nullable=False, server_default="active"),  # active | paused | archived
    sa.Column("require_consent", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.Column("caller_id", sa.String(32), nullable=True),
    sa.Column("max_attempts", sa.Integer, nullable=False, server_default="3"),
    sa.Column("retry_after_s", sa.Integer, nullable=False, server_default="3600"),
    # Calling hours in the lead's local time, minutes after midnight; the end is exclusive.
    sa.Column("weekday_from_min", sa.Integer, nullable=False, server_default="540"),
    sa.Column("weekday_to_min", sa.Integer, nullable=False, server_default="1260"),
    sa.Column("weekend_from_min", sa.Integer, nullable=False, server_default="600"),
    sa.Column("weekend_to_min", sa.Integer, nullable=False, server_default="1200"),
    sa.Column("default_zone", sa.String(64), nullable=False, server_default="Europe/Moscow"),  # leads of no zone
    sa.Column("dedupe_days", sa.Integer, nullable=True),  # imports skip numbers the system got this recently
    sa.Column("settings", Json, nullable=True),  # the rest: retry delays by result, pacing, scripts ...
    sa.Column("created_at", sa.Float, nullable=False),
)

# A purchased list loaded into a campaign; a list may be loaded from several files.
lead_lists = sa.Table(
    "lead_lists",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("campaign_id", sa.Integer, sa.ForeignKey("campaigns.id"), nullable=False),
    sa.Column("name", sa.String(200), nullable=False),
    sa.Column("created_at", sa.Float, nullable=False),
    sa.UniqueConstraint("campaign_id", "name"),
)

# One row per file imported, with what became of its rows; written in the import's own transaction.
lead_imports = sa.Table(
    "lead_imports",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("campaign_id", sa.Integer, sa.ForeignKey("campaigns.id"), nullable=False),
    sa.Column("list_id", sa.Integer, sa.ForeignKey("lead_lists.id"), nullable=False, index=True),
    sa.Column("file_name", sa.String(500), nullable=False),
    sa.Column("file_sha256", sa.String(64), nullable=True),
    sa.Column("started_at", sa.Float, nullable=False),
    sa.Column("finished_at", sa.Float, nullable=True),
    sa.Column("rows", sa.Integer, nullable=False, server_default="0"),
    sa.Column("imported", sa.Integer, nullable=False, server_default="0"),
    sa.Column("rejected", sa.Integer, nullable=False, server_default="0"),
    sa.Column("duplicates", sa.Integer, nullable=False, server_default="0"),
    sa.Column("dnc", sa.Integer, nullable=False, server_default="0"),
    sa.Column("no_consent", sa.Integer, nullable=False, server_default="0"),
    sa.Column("options", Json, nullable=True),  # region, dedupe_days, require_consent, encoding, mapping
)

# A person to call. A number is in a campaign once (the unique index); status drives the dialer:
# new | retry | callback | in_progress | done | dnc | exhausted | invalid.
leads = sa.Table(
    "leads",
    metadata,
    sa.Column("id", BigId, primary_key=True),
    sa.Column("campaign_id", sa.Integer, sa.ForeignKey("campaigns.id"), nullable=False),
    sa.Column("list_id", sa.Integer, sa.ForeignKey("lead_lists.id"), nullable=False),
    sa.Column("import_id", sa.Integer, sa.ForeignKey("lead_imports.id"), nullable=True),
    sa.Column("source_line", sa.Integer, nullable=True),  # the line of the file where the record starts
    sa.Column("phone_e164", sa.String(16), nullable=False),
    sa.Column("alt_phones", Json, nullable=True),  # further numbers, E.164, in the file's order
    sa.Column("full_name", sa.String(200), nullable=True),
    sa.Column("first_name", sa.String(100), nullable=True),
    sa.Column("last_name", sa.String(100), nullable=True),
    sa.Column("middle_name", sa.String(100), nullable=True),
    sa.Column("email", sa.String(254), nullable=True),
    sa.Column("address", sa.String(500), nullable=True),
    sa.Column("city", sa.String(100), nullable=True),
    sa.Column("region", sa.String(100), nullable=True),
    # Every zone the lead may be in: callable only while the calling hours hold in all of them.
    sa.Column("time_zones", Json, nullable=False),
    sa.Column("consent", sa.Boolean, nullable=True),  # NULL: the file said nothing
    sa.Column("consent_at", sa.String(40), nullable=True),  # ISO 8601 when it read as a date
    sa.Column("consent_source", sa.String(200), nullable=True),
    sa.Column("custom", Json, nullable=True),  # the file's other columns, header -> text (stored raw, see text.py)
    sa.Column("status", sa.String(16), nullable=False, server_default="new"),
    sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
    sa.Column("next_attempt_at", sa.Float, nullable=True),
    sa.Column("last_attempt_at", sa.Float, nullable=True),
    sa.Column("last_result", sa.String(24), nullable=True),
    sa.Column("created_at", sa.Float, nullable=False),
    # A win-back lead: the lead of the other campaign it was copied from. No foreign key, so that erasing or
    # expiring the source lead is never blocked by its copies.
    sa.Column("source_lead_id", BigId, nullable=True),
    # Phone first: it serves the campaign dedupe, the system-wide dedupe, DNC marking and erasure by number.
    sa.Index("uq_leads_phone_campaign", "phone_e164", "campaign_id", unique=True),
    # The dialer's pick: the next due leads of a campaign.
    sa.Index("ix_leads_campaign_status_next", "campaign_id", "status", "next_attempt_at"),
    # A source lead is copied into a win-back campaign once, however often the win-back is run.
    sa.Index("uq_leads_campaign_source", "campaign_id", "source_lead_id", unique=True),
)

# Do not call: system-wide (campaign_id NULL) or for one campaign. Erasure keeps only the keyed hash.
dnc = sa.Table(
    "dnc",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("campaign_id", sa.Integer, sa.ForeignKey("campaigns.id"), nullable=True),
    sa.Column("phone_e164", sa.String(16), nullable=True, index=True),
    sa.Column("phone_hash", sa.String(64), nullable=False, index=True),  # HMAC-SHA256 with the store's key
    sa.Column("added_at", sa.Float, nullable=False),
    sa.Column("source", sa.String(200), nullable=True),  # the file, or 'cli'
    sa.Column("reason", sa.String(200), nullable=True),
)

# Settings the store keeps for itself (the key of the DNC hashes).
store_meta = sa.Table(
    "store_meta",
    metadata,
    sa.Column("key", sa.String(64), primary_key=True),
    sa.Column("value", sa.Text, nullable=False),
)

# What an operator records at the end of a call; campaign_id NULL means every campaign.
dispositions = sa.Table(
    "dispositions",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("campaign_id", sa.Integer, sa.ForeignKey("campaigns.id"), nullable=True),
    sa.Column("code", sa.String(40), nullable=False),
    sa.Column("label", sa.String(200), nullable=False),
    sa.Column("final", sa.Boolean, nullable=False, server_default=sa.false()),  # the lead is done
    sa.Column("success", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.Column("callback", sa.Boolean, nullable=False, server_default=sa.false()),  # asks for a callback time
    sa.Column("contact", sa.Boolean, nullable=False, server_default=sa.false()),  # the right person was reached
    sa.Column("dnc", sa.Boolean, nullable=False, server_default=sa.false()),  # the number goes on the DNC list
    sa.Column("refusal", sa.Boolean, nullable=False, server_default=sa.false()),  # asks for a refusal reason
    sa.Column("retry_after_s", sa.Integer, nullable=True),
    sa.Column("sort_order", sa.Integer, nullable=False, server_default="0"),
    sa.Column("active", sa.Boolean, nullable=False, server_default=sa.true()),
    sa.UniqueConstraint("campaign_id", "code"),
)

# Why a person said no, for the campaign's reports; campaign_id NULL means every campaign.
refusal_reasons = sa.Table(
    "refusal_reasons",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("campaign_id", sa.Integer, sa.ForeignKey("campaigns.id"), nullable=True),
    sa.Column("code", sa.String(40), nullable=False),
    sa.Column("label", sa.String(200), nullable=False),
    sa.Column("dnc", sa.Boolean, nullable=False, server_default=sa.false()),  # "asked not to be called"
    sa.Column("sort_order", sa.Integer, nullable=False, server_default="0"),
    sa.Column("active", sa.Boolean, nullable=False, server_default=sa.true()),
    sa.UniqueConstraint("campaign_id", "code"),
)

# One row per dial attempt, written before the call is placed (so a crash never dials a lead twice unseen).
attempts = sa.Table(
    "attempts",
    metadata,
    sa.Column("id", BigId, primary_key=True),
    sa.Column("lead_id", BigId, sa.ForeignKey("leads.id"), nullable=False),
    sa.Column("campaign_id", sa.Integer, sa.ForeignKey("campaigns.id"), nullable=False),
    sa.Column("phone_e164", sa.String(16), nullable=False),  # the number dialled (the lead's or an alternate)
    sa.Column("call_id", sa.String(36), nullable=True, index=True),  # calls.id once the call is routed
    sa.Column("uniqueid", sa.String(64), nullable=True, index=True),
    sa.Column("started_at", sa.Float, nullable=False),
    sa.Column("answered_at", sa.Float, nullable=True),
    sa.Column("ended_at", sa.Float, nullable=True),
    # answered | no_answer | busy | congestion | failed | machine | abandoned | cancelled
    sa.Column("result", sa.String(24), nullable=True),
    sa.Column("hangup_cause", sa.Integer, nullable=True),
    sa.Column("operator", sa.String(40), nullable=True),
    sa.Column("wait_s", sa.Float, nullable=True),  # answered, waiting for an operator
    sa.Column("talk_s", sa.Float, nullable=True),
    sa.Column("abandoned", sa.Boolean, nullable=False, server_default=sa.false()),  # counts toward the legal cap
    sa.Column("recording", sa.String(512), nullable=True),
    sa.Column("disposition_id", sa.Integer, sa.ForeignKey("dispositions.id"), nullable=True),
    sa.Column("refusal_reason_id", sa.Integer, sa.ForeignKey("refusal_reasons.id"), nullable=True),
    sa.Column("note", sa.Text, nullable=True),
    sa.Column("disposed_at", sa.Float, nullable=True),  # when the operator recorded the disposition
    sa.Column("order_form", Json, nullable=True),  # the campaign's order form as submitted (checked), field -> value
    sa.Column("survey", Json, nullable=True),  # survey answers, question -> answer
    sa.Column("score", sa.Integer, nullable=True),  # a supervisor's quality score, 1 to 5
    sa.Index("ix_attempts_lead_started", "lead_id", "started_at"),
    sa.Index("ix_attempts_campaign_started", "campaign_id", "started_at"),
)

# A promise to call back at a time, by anyone in the campaign or by one operator.
callbacks = sa.Table(
    "callbacks",
    metadata,
    sa.Column("id", BigId, primary_key=True),
    sa.Column("lead_id", BigId, sa.ForeignKey("leads.id"), nullable=False, index=True),
    sa.Column("campaign_id", sa.Integer, sa.ForeignKey("campaigns.id"), nullable=False),
    sa.Column("attempt_id", BigId, sa.ForeignKey("attempts.id"), nullable=True),
    sa.Column("phone_e164", sa.String(16), nullable=False),
    sa.Column("due_at", sa.Float, nullable=False),
    sa.Column("zone", sa.String(64), nullable=True),  # the zone the person gave the time in
    sa.Column("operator", sa.String(40), nullable=True),  # a personal callback
    sa.Column("status", sa.String(16), nullable=False, server_default="pending"),  # pending | done | cancelled | missed
    sa.Column("note", sa.Text, nullable=True),
    sa.Column("created_at", sa.Float, nullable=False),
    sa.Column("done_at", sa.Float, nullable=True),
    sa.Index("ix_callbacks_campaign_status_due", "campaign_id", "status", "due_at"),
    sa.Index("ix_callbacks_operator_status_due", "operator", "status", "due_at"),
)

# --- The web console (migration 0004) ---

# A person who signs in to the console; the role decides what they see. An operator's account names their phone.
users = sa.Table(
    "users",
    metadata,
    sa.Column("name", sa.String(40), primary_key=True),
    sa.Column("role", sa.String(20), nullable=False),  # operator | supervisor | campaign_manager | admin
    sa.Column("password_hash", sa.String(255), nullable=False),  # argon2id, with its parameters
    sa.Column("sip_user", sa.String(40), nullable=True),  # the operator this account works as (role operator)
    sa.Column("created_at", sa.Float, nullable=False),
    sa.Column("disabled", sa.Boolean, nullable=False, server_default=sa.false()),
)

# A signed-in browser: only a hash of its cookie is kept, so a stolen table opens no session.
web_sessions = sa.Table(
    "web_sessions",
    metadata,
    sa.Column("token_hash", sa.String(64), primary_key=True),  # SHA-256 hex of the cookie's token
    sa.Column("user_name", sa.String(40), sa.ForeignKey("users.name"), nullable=False, index=True),
    sa.Column("csrf_token", sa.String(64), nullable=False),
    sa.Column("created_at", sa.Float, nullable=False),
    sa.Column("last_seen_at", sa.Float, nullable=False),
    sa.Column("expires_at", sa.Float, nullable=False, index=True),
)

# Failed sign-ins, for rate limiting by account and by address across every console process.
login_failures = sa.Table(
    "login_failures",
    metadata,
    sa.Column("id", BigId, primary_key=True),
    sa.Column("user_name", sa.String(40), nullable=False),
    sa.Column("address", sa.String(64), nullable=False),
    sa.Column("at", sa.Float, nullable=False),
    sa.Index("ix_login_failures_user_at", "user_name", "at"),
    sa.Index("ix_login_failures_address_at", "address", "at"),
)

# Who changed what, for every change made through the console or the CLI's admin commands.
audit_log = sa.Table(
    "audit_log",
    metadata,
    sa.Column("id", BigId, primary_key=True),
    sa.Column("at", sa.Float, nullable=False, index=True),
    sa.Column("user_name", sa.String(40), nullable=False),  # a console user, or 'cli:<login>'
    sa.Column("action", sa.String(40), nullable=False),  # e.g. dialplan.apply, campaign.start, days_off.approve
    sa.Column("target", sa.String(200), nullable=True),
    sa.Column("detail", Json, nullable=True),
)

# Every saved version of an admin-edited configuration: the admin's dialplan contexts, or the site file.
config_versions = sa.Table(
    "config_versions",
    metadata,
    sa.Column("id", BigId, primary_key=True),
    sa.Column("kind", sa.String(16), nullable=False),  # dialplan | site
    sa.Column("content", sa.Text, nullable=False),
    sa.Column("author", sa.String(40), nullable=False),
    sa.Column("note", sa.String(200), nullable=True),
    sa.Column("created_at", sa.Float, nullable=False),
    sa.Column("applied_at", sa.Float, nullable=True),  # when it went to Asterisk (None: saved, never applied)
    sa.Column("restored_from", BigId, nullable=True),  # a rollback: the version whose content this repeats
    sa.Index("ix_config_versions_kind_id", "kind", "id"),
)

# An operator's request for days off (at least a week ahead); approved ones are the roster's absences.
days_off = sa.Table(
    "days_off",
    metadata,
    sa.Column("id", BigId, primary_key=True),
    sa.Column("user_name", sa.String(40), sa.ForeignKey("users.name"), nullable=False, index=True),
    sa.Column("first_day", sa.Date, nullable=False),
    sa.Column("last_day", sa.Date, nullable=False),
    sa.Column("reason", sa.String(200), nullable=True),
    sa.Column("requested_at", sa.Float, nullable=False),
    sa.Column("status", sa.String(12), nullable=False, server_default="pending"),  # pending | approved | refused
    sa.Column("decided_by", sa.String(40), nullable=True),
    sa.Column("decided_at", sa.Float, nullable=True),
)
