"""The console's routers, one module per area; app.py includes every router listed here."""

from __future__ import annotations

from fastapi import APIRouter

ROUTERS: list[APIRouter] = []

from switchboard.web.routes import session  # noqa: E402

ROUTERS.append(session.router)

from switchboard.web.routes import health  # noqa: E402

ROUTERS.append(health.router)

from switchboard.web.routes import supervisor  # noqa: E402

ROUTERS.append(supervisor.router)

from switchboard.web.routes import recordings  # noqa: E402

ROUTERS.append(recordings.router)

from switchboard.web.routes import campaigns  # noqa: E402

ROUTERS.append(campaigns.router)

from switchboard.web.routes import admin_site, admin_users  # noqa: E402

ROUTERS.append(admin_site.router)
ROUTERS.append(admin_users.router)

from switchboard.web.routes import days_off, operator_desk  # noqa: E402

ROUTERS.append(operator_desk.router)
ROUTERS.append(days_off.router)

from switchboard.web.routes import admin_dialplan  # noqa: E402

ROUTERS.append(admin_dialplan.router)
