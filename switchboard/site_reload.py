"""The running platform takes a changed site file without a restart (the `site.reload` command): new operators and
queues, changed skill levels and queue rules go into the live picture; calls in progress and waiting are kept.

What the picture cannot take live (Asterisk's ports, AMI users, FastAGI, the store, Redis, dialers) is named in the
reply as needing a restart.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
from typing import TYPE_CHECKING, Any

from acd import operators as ops
from acd import queue_log as qlog
from acd import stats
from acd.index import OperatorIndex
from acd.model import MissPolicy
from switchboard.config import Site, load_site
from switchboard.errors import CommandRefusedError

if TYPE_CHECKING:
    from switchboard.commands import Args
    from switchboard.picture import Picture
    from switchboard.platform import Platform

log = logging.getLogger("switchboard.site_reload")
# Site fields the running platform reads only at start: a change to one of them waits for a restart.
START_ONLY = (
    "asterisk", "ami", "fastagi", "store_url", "redis_url", "queue_log", "recordings_dir", "dialers", "trunk",
)  # fmt: skip


def restart_needed(old: Site, new: Site) -> list[str]:
    """The start-only fields that differ between the running site and the new one."""
    return [name for name in START_ONLY if getattr(old, name) != getattr(new, name)]


def take_site(picture: Picture, site: Site, now: float) -> dict[str, list[str]]:
    """Put a new site's operators and queues into the live picture; returns who was added, changed or removed.

    An operator removed while on a call (or being offered one) keeps their state with no skills, so the call ends
    normally and no new one reaches them; they leave the picture at the next restart.
    """
    before = {user: picture.queues_of(user) for user, state in picture.operators.items() if state.logged_in}
    picture.site = site
    picture.rules = {q.name: q.rule() for q in site.queues}
    picture.policy = MissPolicy(site.acd.max_misses)
    picture.wrapup_s = {q.name: float(q.wrapup_s) for q in site.queues}
    picture.recorded = {q.name: site.recording if q.recording is None else q.recording for q in site.queues}
    for name in picture.rules:
        picture.tallies.setdefault(name, stats.QueueTally())
    report = _take_operators(picture, site)
    _log_membership(picture, before, now)
    index = picture.index
    picture.index = OperatorIndex.build(
        (state.view(now) for state in picture.operators.values()), index.strategy, index.reserve
    )
    picture.dispatch(now)  # a waiting caller may now have an operator
    return report


def _take_operators(picture: Picture, site: Site) -> dict[str, list[str]]:
    wanted = {op.sip_user: op for op in site.operators}
    report: dict[str, list[str]] = {"added": [], "changed": [], "removed": [], "kept_until_call_ends": []}
    logged_in = not site.acd.login_required
    for sip_user, op in wanted.items():
        state = picture.operators.get(sip_user)
        if state is None:
            picture.operators[sip_user] = ops.OperatorState(sip_user, dict(op.skills), logged_in=logged_in)
            report["added"].append(sip_user)
        elif dict(state.skills) != op.skills:
            picture.operators[sip_user] = dataclasses.replace(state, skills=dict(op.skills))
            report["changed"].append(sip_user)
    for sip_user in [user for user in picture.operators if user not in wanted]:
        state = picture.operators[sip_user]
        if state.on_call is not None or state.offered_call is not None:
            picture.operators[sip_user] = dataclasses.replace(state, skills={})
            report["kept_until_call_ends"].append(sip_user)
        else:
            del picture.operators[sip_user]
            report["removed"].append(sip_user)
    return report


def _log_membership(picture: Picture, before: dict[str, list[str]], now: float) -> None:
    """queue_log ADDMEMBER/REMOVEMEMBER for logged-in operators whose queues changed with their skills."""
    for sip_user in sorted({*before, *picture.operators}):
        state = picture.operators.get(sip_user)
        now_in = set(picture.queues_of(sip_user)) if state is not None and state.logged_in else set()
        was_in = set(before.get(sip_user, ()))
        for queue in sorted(now_in - was_in):
            picture.queue_log.append(qlog.add_member(now=now, queue=queue, agent=sip_user))
        for queue in sorted(was_in - now_in):
            picture.queue_log.append(qlog.remove_member(now=now, queue=queue, agent=sip_user))


async def reload_site(platform: Platform, args: Args) -> dict[str, Any]:
    """The `site.reload` handler: read the platform's site file again and take it into the picture."""
    source = platform.site.source
    if source is None:
        raise CommandRefusedError("the running platform's site was not loaded from a file: restart it instead")
    site = await asyncio.to_thread(load_site, source)
    restart = restart_needed(platform.site, site)
    report: dict[str, Any] = dict(take_site(platform.picture, site, platform.clock()))
    platform.site = site
    if "dialers" not in restart:
        platform.dialer.site = site
    report["restart_needed"] = restart
    report["version"] = args.text("version", optional=True)
    log.info("site reloaded from %s: %s", source, report)
    return report
