"""The admin's site edits as saved versions (config_versions, kind 'site', each audited), and applying a
version: the site file rewritten atomically (keeping a .bak), Asterisk's configs re-rendered into its config folder
and the changed modules reloaded over AMI with the admin user, and the running platform told (`site.reload`).
"""

from __future__ import annotations

import asyncio
import logging
import os
import tempfile
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Protocol

from sqlalchemy.engine import Engine

from asterisk_conf.render import ADMIN_DIALPLAN, render_files
from switchboard import keys, site_admin
from switchboard.ami.client import AmiClient
from switchboard.config import Site
from switchboard.errors import AmiError, ConfigError, SwitchboardError
from switchboard.store.config_versions import ConfigVersion, ConfigVersionStore

log = logging.getLogger("switchboard.site_apply")
KIND = "site"
SYSTEM_AUTHOR = "switchboard"  # the author of versions adopted from the file on disk
MAX_HISTORY = 1000
ASTERISK_DIR_ENV = "SWITCHBOARD_ASTERISK_DIR"
SECRET_FILES = frozenset({"manager.conf", "pjsip.conf"})
# A changed config file -> what reloads it. Asterisk registers the AMI `Reload` action for EVENT_FLAG_CONFIG |
# EVENT_FLAG_SYSTEM (main/manager.c), and either one suffices: the admin user's write=config may reload, the runtime
# user may not. Files missing here (asterisk.conf, modules.conf ...) are read only at start: they need a restart.
RELOADS = {
    "pjsip.conf": "res_pjsip.so",  # operators' endpoints, auths and AORs
    "extensions.conf": "pbx_config.so",  # transfer extensions, supervisors' spy codes
    "queues.conf": "app_queue.so",
    "confbridge.conf": "app_confbridge.so",
    "musiconhold.conf": "res_musiconhold.so",
    "features.conf": "features",
    "manager.conf": "manager",
    "rtp.conf": "res_rtp_asterisk.so",
}
RELOAD_ORDER = tuple(RELOADS.values())  # endpoints before the dialplan that dials them


class AsteriskReloader(Protocol):
    async def reload(self, modules: list[str]) -> tuple[list[str], list[str]]:
        """Reload each module; returns (reloaded, errors)."""
        ...


class PlatformNotifier(Protocol):
    async def reload_site(self, version: int, author: str) -> dict[str, Any]:
        """Ask the running platform to read its site file again; its report, or a CommandError."""
        ...


class AmiReloader:
    """Reloads modules over AMI as the site's admin user (write=config: the only user allowed `Reload`)."""

    def __init__(self, site: Site) -> None:
        self.site = site

    async def reload(self, modules: list[str]) -> tuple[list[str], list[str]]:
        host, port, ami = str(self.site.asterisk.host), self.site.asterisk.ami_port, self.site.ami
        client = AmiClient(host, port, ami.admin_user, ami.admin_secret, reconnect=False, events=False, name="admin")
        try:
            await client.connect()
        except AmiError as exc:
            return [], [f"AMI {host}:{port} as {ami.admin_user}: {exc}"]
        done, errors = [], []
        try:
            for module in modules:
                try:
                    await client.action("Reload", {"Module": module})
                    done.append(module)
                except AmiError as exc:
                    errors.append(f"Reload {module}: {exc}")
        finally:
            await client.close()
        return done, errors


class BusNotifier:
    """Sends `site.reload` on the Redis command bus to the running platform."""

    def __init__(self, redis_url: str) -> None:
        self.redis_url = redis_url

    async def reload_site(self, version: int, author: str) -> dict[str, Any]:
        from switchboard.commands import send

        return await send(self.redis_url, keys.COMMAND_SITE_RELOAD, {"version": str(version)}, sender=f"web:{author}")


@dataclass
class ApplyReport:
    """What applying a version did, step by step, for the admin to read."""

    version: int
    site_file: str
    backup: str | None = None
    asterisk_dir: str | None = None
    files_written: list[str] = field(default_factory=list)
    reloaded: list[str] = field(default_factory=list)
    asterisk_errors: list[str] = field(default_factory=list)
    asterisk_restart: list[str] = field(default_factory=list)  # changed files no reload takes
    platform: str = "not told"  # reloaded | restart needed: ...
    platform_report: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def asterisk_dir(site: Site) -> Path | None:
    """The running Asterisk's config folder: $SWITCHBOARD_ASTERISK_DIR, else the render folder around
    `asterisk_logs` (`asterisk render --out DIR` puts the logs in DIR/log), if it holds asterisk.conf."""
    env = os.environ.get(ASTERISK_DIR_ENV)
    if env:
        return Path(env)
    logs = site.asterisk_logs_path
    if logs is not None and (logs.parent / "asterisk.conf").exists():
        return logs.parent
    return None


def write_atomically(path: Path, text: str, mode: int | None = None) -> None:
    """Write next to the target, flush to disk, then rename over it: a reader sees the old file or the new one."""
    handle, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as out:
            out.write(text)
            out.flush()
            os.fsync(out.fileno())
        os.chmod(tmp, mode if mode is not None else (path.stat().st_mode & 0o777 if path.exists() else 0o644))
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_site_file(path: Path, text: str) -> Path | None:
    """The new site file in place of the old, which is kept as FILE.bak; returns the backup's path."""
    backup = None
    if path.exists():
        backup = path.with_name(path.name + ".bak")
        write_atomically(backup, path.read_text(encoding="utf-8"), path.stat().st_mode & 0o777)
    write_atomically(path, text)
    return backup


def render_changes(site: Site, out_dir: Path) -> dict[str, str]:
    """The rendered files whose text differs from what the folder holds (the admin's dialplan file left out)."""
    changed = {}
    for name, text in render_files(site, out_dir).items():
        target = out_dir / name
        if name == ADMIN_DIALPLAN and target.exists():  # the dialplan editor's: a site apply never rewrites it
            continue
        if not target.exists() or target.read_text(encoding="utf-8") != text:
            changed[name] = text
    return changed


def modules_for(files: list[str]) -> tuple[list[str], list[str]]:
    """(modules to reload in order, changed files that only a restart takes)."""
    wanted = {RELOADS[name] for name in files if name in RELOADS}
    return [m for m in RELOAD_ORDER if m in wanted], sorted(name for name in files if name not in RELOADS)


class SiteAdmin:
    """The console's side of site administration: versions (each audited), diff, apply and rollback."""

    def __init__(
        self,
        site: Site,
        engine: Engine,
        *,
        clock: Callable[[], float],
        reloader: AsteriskReloader | None = None,
        notifier: PlatformNotifier | None = None,
        conf_dir: Path | None = None,
    ) -> None:
        if site.source is None:
            raise ConfigError("the console's site was not loaded from a file: it cannot be edited", field="source")
        self.site, self.path = site, site.source
        self.versions = ConfigVersionStore(engine)
        self.clock = clock
        self.reloader = reloader if reloader is not None else AmiReloader(site)
        self.notifier = notifier if notifier is not None else BusNotifier(site.redis_url)
        self.conf_dir = conf_dir if conf_dir is not None else asterisk_dir(site)
        self._applying = asyncio.Lock()  # one apply at a time: each renders from its own version

    # -- versions ------------------------------------------------------------------------------------------------
    def latest(self) -> ConfigVersion:
        """The newest saved version, adopting the file on disk first when it was never saved or changed by hand."""
        on_disk = self.path.read_text(encoding="utf-8")
        newest = self.versions.history(KIND, limit=1)
        latest = newest[0] if newest else None
        applied = self.versions.current(KIND)
        nothing_pending = applied is not None and latest is not None and latest.id == applied.id
        if latest is None or (nothing_pending and latest.content != on_disk):
            note = "the site file as found on disk" if latest is None else "the site file as changed on disk"
            adopted = self.versions.save(KIND, on_disk, SYSTEM_AUTHOR, note, self.clock())
            return self.versions.mark_applied(adopted.id, KIND, SYSTEM_AUTHOR, self.clock(), {"adopted": True})
        return latest

    def applied(self) -> ConfigVersion | None:
        """The version applied last: what the site file, Asterisk and the platform run."""
        return self.versions.current(KIND)

    def history(self) -> list[ConfigVersion]:
        """Every version, newest first (the file on disk adopted first if need be)."""
        self.latest()
        return self.versions.history(KIND, limit=MAX_HISTORY)

    def edit(self, author: str, change: str, target: str, run: site_admin.EditFn, note: str | None) -> ConfigVersion:
        """Run one edit on the latest version and save the result as a new version (audited as site.save, with
        the change, e.g. operator.add, and its target in the detail)."""
        edited = run(self.latest().content)
        detail = {"change": change, "target": target, "summary": edited.summary}
        return self.versions.save(KIND, edited.text, author, note or edited.summary, self.clock(), audit_detail=detail)

    def diff(self, version_id: int, against: str = "previous") -> str:
        """The version against its predecessor ('previous') or against the site running now ('applied')."""
        version = self.versions.get(version_id, KIND)
        if against == "applied":
            base = self.applied()
            label = f"applied (version {base.id})" if base else "nothing applied"
        else:
            base = next((v for v in self.versions.history(KIND, limit=MAX_HISTORY) if v.id < version_id), None)
            label = f"version {base.id}" if base else "empty"
        return site_admin.diff(base.content if base else "", version.content, label, f"version {version.id}")

    # -- apply and roll back -------------------------------------------------------------------------------------
    async def apply(self, version_id: int, author: str) -> tuple[Site, ApplyReport]:
        """Write the version to the site file, Asterisk's configs and the running platform; the report is audited
        with the apply (site.apply)."""
        async with self._applying:
            version = self.versions.get(version_id, KIND)
            site = site_admin.check(version.content, self.path)
            report = ApplyReport(version.id, str(self.path))
            backup = await asyncio.to_thread(write_site_file, self.path, version.content)
            report.backup = str(backup) if backup else None
            self.site = site
            try:
                await self._apply_to_asterisk(site, report)
                await self._tell_platform(version.id, author, report)
            finally:  # the file is written: this version runs now, whatever Asterisk and the platform said
                self.versions.mark_applied(version.id, KIND, author, self.clock(), report.to_json())
        log.info("site version %d applied by %s: %s", version.id, author, report)
        return site, report

    async def rollback(self, version_id: int, author: str) -> tuple[Site, ApplyReport]:
        """A new version repeating an earlier one's content (audited as site.rollback), applied at once."""
        old = self.versions.get(version_id, KIND)
        site_admin.check(old.content, self.path)  # an old version may not be valid any more: refused before saving
        note = f"rollback to version {old.id}"
        again = self.versions.save(KIND, old.content, author, note, self.clock(), restored_from=old.id)
        return await self.apply(again.id, author)

    async def _apply_to_asterisk(self, site: Site, report: ApplyReport) -> None:
        if self.conf_dir is None:
            report.asterisk_errors.append(
                f"Asterisk's config folder is unknown: set {ASTERISK_DIR_ENV}, or asterisk_logs in the site file"
            )
            return
        report.asterisk_dir = str(self.conf_dir)
        changed = await asyncio.to_thread(render_changes, site, self.conf_dir)
        for name, text in changed.items():
            mode = 0o600 if name in SECRET_FILES else 0o644
            await asyncio.to_thread(write_atomically, self.conf_dir / name, text, mode)
        report.files_written = sorted(changed)
        modules, report.asterisk_restart = modules_for(report.files_written)
        if modules:
            report.reloaded, report.asterisk_errors = await self.reloader.reload(modules)

    async def _tell_platform(self, version: int, author: str, report: ApplyReport) -> None:
        try:
            report.platform_report = await self.notifier.reload_site(version, author)
        except SwitchboardError as exc:  # CommandError: no platform answered, or it refused
            report.platform = f"restart needed: the running platform did not take the site ({exc})"
            return
        restart = report.platform_report.get("restart_needed") or []
        report.platform = f"restart needed for {', '.join(restart)}" if restart else "reloaded"
