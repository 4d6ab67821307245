"""The dialplan editor's shell: the admin's contexts (extensions_admin.conf) checked, saved as a version, written into
the running Asterisk's config folder and reloaded over AMI as the admin AMI user (write=config: the only user allowed
`Reload`). Asterisk's dialplan is then read back; short of the new text, the previous file is put back and reloaded.
"""

from __future__ import annotations

import asyncio
import contextlib
import difflib
import fcntl
import logging
import time
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from asterisk_conf.dialplan_check import PLATFORM_CONTEXTS, Problem, check_dialplan, context_names
from asterisk_conf.dialplan_parse import parse_dialplan
from asterisk_conf.render import ADMIN_DIALPLAN, render_files
from switchboard.ami.client import AmiClient
from switchboard.config import Site
from switchboard.errors import AmiActionError, AmiError, AsteriskConfError, DialplanApplyError, DialplanRefusedError
from switchboard.site_apply import asterisk_dir, write_atomically
from switchboard.store.config_versions import ConfigVersion, ConfigVersionStore

log = logging.getLogger("switchboard.dialplan_admin")
KIND = "dialplan"
ADMIN_FILE = ADMIN_DIALPLAN
PLATFORM_FILE = "extensions.conf"
SYSTEM_AUTHOR = "switchboard"  # the author of versions adopted from the file on disk
VERIFY_S = 5.0  # how long Asterisk may take to show the reloaded dialplan
LOCK_S = 30.0  # how long an apply waits for another one (CLI, another console) to finish
Clock = Callable[[], float]
Extension = tuple[str, str, str]  # (extension, priority or 'hint', application in lower case)


class DialplanReloader(Protocol):
    async def reload(self) -> None:
        """Make Asterisk read its dialplan files again."""

    async def extensions(self, context: str) -> set[Extension] | None:
        """The context's own extensions as Asterisk holds them; None when it has no such context."""


ReloaderFactory = Callable[[Site], AbstractAsyncContextManager[DialplanReloader]]


class AmiDialplan:
    """One AMI connection as the site's admin user, for one apply (applies are rare: no connection is kept)."""

    def __init__(self, site: Site) -> None:
        ami = site.ami
        host, port = str(site.asterisk.host), site.asterisk.ami_port
        self.client = AmiClient(
            host, port, ami.admin_user, ami.admin_secret, reconnect=False, events=False, name="dialplan"
        )

    async def __aenter__(self) -> AmiDialplan:
        await self.client.connect()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.client.close()

    async def reload(self) -> None:
        await self.client.action("Reload", {"Module": "pbx_config"})

    async def extensions(self, context: str) -> set[Extension] | None:
        try:
            items = await self.client.list_action("ShowDialPlan", {"Context": context})
        except AmiActionError as exc:
            if "did not find context" in str(exc).lower():
                return None
            raise
        found = set()
        for item in items:
            if item.get("Context") == context and "Extension" in item:  # not an include or an ignore pattern
                prio = item.get("Priority", "")
                found.add((item["Extension"], prio, "" if prio == "hint" else item.get("Application", "").lower()))
        return found


@dataclass(frozen=True)
class RenderedDialplan:
    """What the editor shows: the platform's dialplan (read-only) and the admin's file as Asterisk has them."""

    platform: str
    admin: str
    conf_dir: str | None
    current: ConfigVersion | None
    drift: bool  # the admin's file on disk is not the version applied last (re-rendered, or edited by hand)

    def to_json(self) -> dict[str, Any]:
        current = self.current.to_json(content=False) if self.current else None
        return {"platform": self.platform, "admin": self.admin, "conf_dir": self.conf_dir} | {
            "current": current,
            "drift": self.drift,
        }


def config_dir(site: Site) -> Path:
    folder = asterisk_dir(site)
    if folder is None:
        raise AsteriskConfError(
            "Asterisk's config folder is unknown: set SWITCHBOARD_ASTERISK_DIR, or asterisk_logs in the site file "
            "(`asterisk render --out DIR` puts the logs in DIR/log)"
        )
    return folder


def _rendered(site: Site, name: str) -> str:
    folder = asterisk_dir(site)
    if folder is not None and (folder / name).exists():
        return (folder / name).read_text(encoding="utf-8")
    return render_files(site, folder or Path("asterisk"))[name]


def show_rendered(site: Site, store: ConfigVersionStore) -> RenderedDialplan:
    folder = asterisk_dir(site)
    admin = _rendered(site, ADMIN_FILE)
    current = store.current(KIND)
    drift = current is not None and current.content != admin
    return RenderedDialplan(_rendered(site, PLATFORM_FILE), admin, str(folder) if folder else None, current, drift)


def platform_contexts(site: Site) -> frozenset[str]:
    """The contexts of the platform's own dialplan (extensions.conf): an admin may include them, never define them."""
    return PLATFORM_CONTEXTS | frozenset(context_names(_rendered(site, PLATFORM_FILE)))


def check(site: Site, content: str) -> list[Problem]:
    return check_dialplan(normalise(content), platform_contexts=platform_contexts(site))


def normalise(content: str) -> str:
    """Line ends as Asterisk's files have them, and a final newline."""
    text = content.replace("\r\n", "\n")
    return text if text.endswith("\n") or not text else text + "\n"


def diff(old: str, new: str, old_label: str = "current", new_label: str = "new") -> str:
    """A unified diff of two dialplan texts ("" when they are the same)."""
    lines = difflib.unified_diff(
        normalise(old).splitlines(keepends=True), normalise(new).splitlines(keepends=True), old_label, new_label
    )
    return "".join(lines)


def _diff_counts(old: str, new: str) -> dict[str, int]:
    added = removed = 0
    for line in diff(old, new).splitlines():
        if line.startswith("+") and not line.startswith("+++"):
            added += 1
        elif line.startswith("-") and not line.startswith("---"):
            removed += 1
    return {"lines_added": added, "lines_removed": removed}


async def save_and_apply(
    site: Site,
    store: ConfigVersionStore,
    content: str,
    author: str,
    note: str | None,
    *,
    clock: Clock = time.time,
    reloader: ReloaderFactory = AmiDialplan,
    restored_from: int | None = None,
) -> ConfigVersion:
    """Check, save a version, write it for Asterisk, reload, verify; the applied version, or a typed error."""
    content = normalise(content)
    problems = check(site, content)
    if problems:
        detail = {"note": note, "problems": [str(p) for p in problems[:20]], "restored_from": restored_from}
        store.audit(author, f"{KIND}.refused", None, detail, clock())
        raise DialplanRefusedError(problems)
    target = config_dir(site) / ADMIN_FILE
    async with _exclusive(target):
        before = target.read_text(encoding="utf-8") if target.exists() else ""
        _adopt_file(store, before, clock)
        counts = _diff_counts(before, content)
        version = store.save(KIND, content, author, note, clock(), restored_from=restored_from, audit_detail=counts)
        await asyncio.to_thread(write_atomically, target, content, 0o644)
        try:
            async with reloader(site) as asterisk:
                await asterisk.reload()
                await _verify(asterisk, content, before)
        except (AmiError, DialplanApplyError) as exc:
            restored = await _restore(site, target, before, reloader)
            store.audit(author, f"{KIND}.apply_failed", f"version {version.id}", {"error": str(exc)}, clock())
            raise DialplanApplyError(f"Asterisk did not take version {version.id}: {exc}; {restored}") from exc
        log.info("dialplan version %d applied by %s", version.id, author)
        return store.mark_applied(version.id, KIND, author, clock(), {"note": note, **counts})


async def rollback(
    site: Site,
    store: ConfigVersionStore,
    version_id: int,
    author: str,
    *,
    note: str | None = None,
    clock: Clock = time.time,
    reloader: ReloaderFactory = AmiDialplan,
) -> ConfigVersion:
    """A new version repeating `version_id`'s content, checked and applied like any other."""
    old = store.get(version_id, KIND)
    note = note or f"rollback to version {old.id}"
    return await save_and_apply(
        site, store, old.content, author, note, clock=clock, reloader=reloader, restored_from=old.id
    )


def _adopt_file(store: ConfigVersionStore, on_disk: str, clock: Clock) -> None:
    """The file Asterisk runs becomes a version when no version says so (first edit, re-render, hand edit)."""
    current = store.current(KIND)
    if not on_disk or (current is not None and current.content == on_disk):
        return
    note = "as found in Asterisk's config folder" if current is None else "as changed on disk since the last apply"
    version = store.save(KIND, on_disk, SYSTEM_AUTHOR, note, clock())
    store.mark_applied(version.id, KIND, SYSTEM_AUTHOR, clock(), {"note": note})


def expected_extensions(text: str) -> dict[str, set[Extension]]:
    """Per context (templates aside), the extensions Asterisk should hold once it has read `text`."""
    plan = parse_dialplan(text)
    own: dict[str, set[Extension]] = {}
    for prio in plan.priorities:
        extension = prio.extension.partition("/")[0]  # Asterisk lists a caller id match under the bare extension
        number = "hint" if prio.number is None else str(prio.number)
        own.setdefault(prio.context, set()).add((extension, number, prio.app.lower()))
    headers = {c.name: c for c in plan.contexts}

    def lines_of(name: str, seen: frozenset[str]) -> set[Extension]:
        found = set(own.get(name, set()))
        for template in headers[name].inherits if name in headers else ():
            if template not in seen:
                found |= lines_of(template, seen | {template})
        return found

    return {c.name: lines_of(c.name, frozenset({c.name})) for c in plan.contexts if not c.template}


async def _verify(asterisk: DialplanReloader, new: str, old: str) -> None:
    """Asterisk holds exactly the new contexts' extensions, and the contexts dropped from the file are gone."""
    want = expected_extensions(new)
    gone = [name for name in context_names(old) if name not in want]
    loop = asyncio.get_running_loop()
    deadline = loop.time() + VERIFY_S
    while True:
        wrong = []
        for context, extensions in want.items():
            held = await asterisk.extensions(context)
            if held != extensions:
                wrong.append(_mismatch(context, held, extensions))
        for context in gone:
            if await asterisk.extensions(context) is not None:
                wrong.append(f"[{context}] is still there")
        if not wrong:
            return
        if loop.time() > deadline:
            raise DialplanApplyError("after the reload Asterisk's dialplan differs: " + "; ".join(wrong[:5]))
        await asyncio.sleep(0.2)


def _mismatch(context: str, held: set[Extension] | None, wanted: set[Extension]) -> str:
    if held is None:
        return f"[{context}] is missing"
    return f"[{context}] lacks {_listed(wanted - held)} and has {_listed(held - wanted)}"


def _listed(extensions: set[Extension]) -> str:
    return ", ".join(f"{exten},{prio}" for exten, prio, _ in sorted(extensions)[:5]) or "nothing"


async def _restore(site: Site, target: Path, before: str, reloader: ReloaderFactory) -> str:
    """Put the previous file back and reload it; says how that went."""
    await asyncio.to_thread(write_atomically, target, before, 0o644)
    try:
        async with reloader(site) as asterisk:
            await asterisk.reload()
    except AmiError as exc:
        log.warning("dialplan: previous file restored but not reloaded: %s", exc)
        return f"the previous file is back on disk, but reloading it failed too ({exc})"
    return "the previous dialplan is back"


@contextlib.asynccontextmanager
async def _exclusive(target: Path) -> AsyncIterator[None]:
    """One apply at a time across processes (the console, the CLI): a lock file beside the admin's file."""
    with _lock_file(target.with_name(f".{target.name}.lock")) as handle:
        deadline = time.monotonic() + LOCK_S
        while True:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() > deadline:
                    raise AsteriskConfError(f"another dialplan apply holds {target} for over {LOCK_S:.0f}s") from None
                await asyncio.sleep(0.1)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


@contextlib.contextmanager
def _lock_file(path: Path) -> Iterator[Any]:
    with path.open("a") as handle:
        yield handle
