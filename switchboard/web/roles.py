"""The console's roles, and which of them may use each area: the one place a reader checks who sees what."""

from __future__ import annotations

from enum import StrEnum


class Role(StrEnum):
    OPERATOR = "operator"
    SUPERVISOR = "supervisor"
    CAMPAIGN_MANAGER = "campaign_manager"
    ADMIN = "admin"


# Who may use each area of the console (pages and the API behind them).
OPERATOR_DESK = (Role.OPERATOR,)
SUPERVISION = (Role.SUPERVISOR, Role.ADMIN)
CAMPAIGNS = (Role.CAMPAIGN_MANAGER, Role.ADMIN)
ADMINISTRATION = (Role.ADMIN,)
RECORDINGS = (Role.SUPERVISOR, Role.CAMPAIGN_MANAGER, Role.ADMIN)
EVERYONE = tuple(Role)
