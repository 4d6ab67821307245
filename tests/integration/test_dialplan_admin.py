"""The dialplan editor against a real Asterisk 16: a checked edit applied over AMI (admin user) runs in Asterisk, a
dangerous one is refused with its line and changes nothing, a rollback brings the earlier dialplan back, and the
audit log names each action's author. Also: the known-application list is what this Asterisk has loaded."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import pytest_asyncio

from asterisk_conf import variables
from asterisk_conf.applications import APPLICATIONS, parse_core_show_applications
from switchboard.ami import AmiClient, AmiMessage
from switchboard.config import Site
from switchboard.dialplan_admin import (
    ADMIN_FILE,
    KIND,
    DialplanApplyError,
    DialplanRefusedError,
    rollback,
    save_and_apply,
    show_rendered,
)
from switchboard.errors import AmiActionError
from switchboard.lab.asterisk import AsteriskProcess
from switchboard.lab.ports import free_port
from switchboard.lab.site import write_lab_site
from switchboard.store.calls import CallStore, make_engine
from switchboard.store.config_versions import ConfigVersionStore

ADMIN = variables.CTX_ADMIN
EVENT = "SwitchboardAdminDialplan"


def admin_dialplan(marker: str, extra: str = "") -> str:
    """The admin's file: extension 100 announces `marker` in a UserEvent, so a call shows which version runs."""
    return (
        f"[{ADMIN}]\n"
        "exten => s,1,NoOp(Switchboard admin context)\n"
        " same => n,Hangup()\n"
        f"exten => 100,1,UserEvent({EVENT},Marker: {marker})\n"
        " same => n,Hangup()\n"
        "exten => _2XX,1,Dial(PJSIP/${FILTER(0-9,${EXTEN})},20)\n"
        f"{extra}"
    )


@pytest_asyncio.fixture(scope="module")
async def asterisk(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[AsteriskProcess]:
    """A real Asterisk rendered from a lab site (its asterisk_logs tells the editor where the config folder is)."""
    folder = tmp_path_factory.mktemp("dialplan")
    _, site = write_lab_site(folder)
    async with AsteriskProcess(site, folder / "asterisk") as process:
        yield process


@pytest.fixture
def store(tmp_path: Path) -> ConfigVersionStore:
    engine = make_engine(f"sqlite:///{tmp_path / 'store.db'}")
    CallStore(engine).create_schema()
    return ConfigVersionStore(engine)


@pytest_asyncio.fixture
async def runtime(asterisk: AsteriskProcess) -> AsyncIterator[AmiClient]:
    """The platform's runtime AMI user (read dialplan and user events, originate; no config writes)."""
    site = asterisk.site
    client = AmiClient(str(site.asterisk.host), site.asterisk.ami_port, site.ami.user, site.ami.secret, reconnect=False)
    await client.connect()
    try:
        yield client
    finally:
        await client.close()


async def held(client: AmiClient, context: str) -> set[tuple[str, str, str]] | None:
    """(extension, priority, application) of a context as Asterisk holds it; None when there is no such context."""
    try:
        items = await client.list_action("ShowDialPlan", {"Context": context})
    except AmiActionError:
        return None
    return {(i["Extension"], i["Priority"], i.get("Application", "")) for i in items if "Extension" in i}


async def marker_of_a_call(client: AmiClient) -> str:
    """Originate a Local channel into the admin context's extension 100 and read the marker its UserEvent sends."""
    events = client.events()
    await client.action(
        "Originate",
        {"Channel": f"Local/100@{ADMIN}", "Application": "Wait", "Data": "1", "Async": "true"},
    )
    async with asyncio.timeout(10):
        async for event in events:
            if isinstance(event, AmiMessage) and event.get("UserEvent") == EVENT:
                return event.get("Marker", "")
    raise AssertionError("no UserEvent from the admin context")


async def wait_no_channels(client: AmiClient) -> None:
    for _ in range(100):
        if not await client.list_action("CoreShowChannels"):
            return
        await asyncio.sleep(0.1)
    raise AssertionError("channels left behind")


async def test_the_application_list_is_what_asterisk_has_loaded(asterisk: AsteriskProcess) -> None:
    """asterisk_conf/applications.py equals `core show applications` of the Asterisk our modules.conf starts."""
    loaded = parse_core_show_applications(await asterisk.cli("core show applications"))
    regenerate = ", ".join(f'"{name}"' for name in sorted(loaded, key=str.lower))
    assert loaded == APPLICATIONS, (
        f"stale list: missing {sorted(loaded - APPLICATIONS)}, gone {sorted(APPLICATIONS - loaded)}; "
        f"new list: {regenerate}"
    )


async def test_only_the_admin_ami_user_may_reload(runtime: AmiClient, asterisk: AsteriskProcess) -> None:
    """Reload needs system or config: the runtime user is refused, the admin user (write=config) is allowed."""
    with pytest.raises(AmiActionError, match="Permission denied"):
        await runtime.action("Reload", {"Module": "pbx_config"})
    site = asterisk.site
    admin = AmiClient(
        str(site.asterisk.host),
        site.asterisk.ami_port,
        site.ami.admin_user,
        site.ami.admin_secret,
        reconnect=False,
        events=False,
    )
    await admin.connect()
    try:
        assert (await admin.action("Reload", {"Module": "pbx_config"}))["Response"] == "Success"
    finally:
        await admin.close()


async def test_a_good_dialplan_is_applied_and_runs(
    asterisk: AsteriskProcess, store: ConfigVersionStore, runtime: AmiClient
) -> None:
    """Applied over AMI: the new context and extensions are in Asterisk, and a call into 100 runs the new text."""
    extra = "[sales-ivr]\nexten => s,1,Answer()\n same => n,Playback(hello-world)\n same => n,Hangup()\n"
    version = await save_and_apply(asterisk.site, store, admin_dialplan("one", extra), "ada", "first edit")
    assert version.applied_at is not None and store.current(KIND) == version
    assert ("100", "1", "UserEvent") in (await held(runtime, ADMIN) or set())
    assert await held(runtime, "sales-ivr") == {("s", "1", "Answer"), ("s", "2", "Playback"), ("s", "3", "Hangup")}
    assert await marker_of_a_call(runtime) == "one"
    await wait_no_channels(runtime)


async def test_a_dangerous_dialplan_is_refused_and_asterisk_keeps_its_own(
    asterisk: AsteriskProcess, store: ConfigVersionStore, runtime: AmiClient
) -> None:
    """System(), or ${EXTEN} raw in Dial(), is refused with the line; file, Asterisk and versions stay as they were."""
    await save_and_apply(asterisk.site, store, admin_dialplan("safe"), "ada", "safe")
    target = asterisk.conf_dir / ADMIN_FILE
    before_file, before_held = target.read_text(), await held(runtime, ADMIN)
    versions = len(store.history(KIND))
    evil = admin_dialplan("evil", "exten => 666,1,System(touch /tmp/pwned)\nexten => _9X.,1,Dial(PJSIP/${EXTEN})\n")
    with pytest.raises(DialplanRefusedError) as refused:
        await save_and_apply(asterisk.site, store, evil, "mallory", "evil")
    assert [str(p) for p in refused.value.problems] == [
        "line 7: System() is refused: it runs a shell command on the server",
        "line 8: ${EXTEN} reaches Dial() unfiltered: the caller chooses it; wrap it in ${FILTER(0-9,...)}",
    ]
    assert target.read_text() == before_file and await held(runtime, ADMIN) == before_held
    assert len(store.history(KIND)) == versions
    assert await marker_of_a_call(runtime) == "safe"
    await wait_no_channels(runtime)


async def test_rollback_brings_the_earlier_dialplan_back(
    asterisk: AsteriskProcess, store: ConfigVersionStore, runtime: AmiClient
) -> None:
    """Version one, then two (with a new context), then a rollback to one: Asterisk runs one and the context is gone."""
    site = asterisk.site
    one = await save_and_apply(site, store, admin_dialplan("one"), "ada", "one")
    await save_and_apply(site, store, admin_dialplan("two", "[night]\nexten => s,1,Hangup()\n"), "ada", "two")
    assert await held(runtime, "night") == {("s", "1", "Hangup")}
    assert await marker_of_a_call(runtime) == "two"
    back = await rollback(site, store, one.id, "bob")
    assert back.restored_from == one.id and store.current(KIND) == back
    assert await held(runtime, "night") is None
    assert await marker_of_a_call(runtime) == "one"
    assert show_rendered(site, store).admin == admin_dialplan("one") and not show_rendered(site, store).drift
    await wait_no_channels(runtime)


async def test_the_audit_log_names_who_did_what(asterisk: AsteriskProcess, store: ConfigVersionStore) -> None:
    """Saves, applies, the refusal and the rollback are each in the audit log with their author."""
    site = asterisk.site
    first = await save_and_apply(site, store, admin_dialplan("a"), "ada", "a")
    with pytest.raises(DialplanRefusedError):
        await save_and_apply(site, store, "[globals]\nX=1\n", "mallory", "globals")
    await save_and_apply(site, store, admin_dialplan("b"), "ada", "b")
    await rollback(site, store, first.id, "bob")
    log = [(e.user, e.action) for e in reversed(store.audit_log("dialplan."))]
    assert log[-7:] == [
        ("ada", "dialplan.save"),
        ("ada", "dialplan.apply"),
        ("mallory", "dialplan.refused"),
        ("ada", "dialplan.save"),
        ("ada", "dialplan.apply"),
        ("bob", "dialplan.rollback"),
        ("bob", "dialplan.apply"),
    ]


async def test_an_unreachable_ami_puts_the_previous_file_back(
    asterisk: AsteriskProcess, store: ConfigVersionStore, runtime: AmiClient
) -> None:
    """AMI on a port where nothing listens: the apply fails, the file on disk is the previous one, nothing applied."""
    site = asterisk.site
    await save_and_apply(site, store, admin_dialplan("kept"), "ada", "kept")
    unreachable: Site = site.model_copy(update={"asterisk": site.asterisk.model_copy(update={"ami_port": free_port()})})
    with pytest.raises(DialplanApplyError, match="Asterisk did not take version"):
        await save_and_apply(unreachable, store, admin_dialplan("lost"), "ada", "lost")
    assert (asterisk.conf_dir / ADMIN_FILE).read_text() == admin_dialplan("kept")
    assert store.history(KIND)[0].applied_at is None and store.current(KIND).content == admin_dialplan("kept")  # type: ignore[union-attr]
    assert await marker_of_a_call(runtime) == "kept"
    await wait_no_channels(runtime)
