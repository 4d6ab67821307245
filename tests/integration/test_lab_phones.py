"""The lab's people against a real Asterisk: pjsua2 softphones, SIPp callers and the SIPp network.

The Asterisk config here is a minimal throwaway until the project's renderer lands.
"""

from __future__ import annotations

import asyncio
import re
import shutil
import subprocess
import tempfile
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from switchboard.lab.sipp import SippNetwork, free_udp_port, run_callers
from switchboard.lab.softphone import SoftphoneBank

pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(
        shutil.which("asterisk") is None or shutil.which("sipp") is None,
        reason="needs Asterisk and SIPp (make setup)",
    ),
]

ASTERISK = shutil.which("asterisk") or "/usr/sbin/asterisk"
OPERATORS = [f"op{1000 + n}" for n in range(1, 13)]
# What the tests need loaded. By trial: res_pjsip requires res_sorcery_astdb, chan_pjsip
# requires res_pjsip_pubsub, and Read()/Playback() of the core sounds (.gsm) need codec_gsm.
MODULES = [
    "res_sorcery_config",
    "res_sorcery_memory",
    "res_sorcery_astdb",
    "res_pjproject",
    "res_pjsip",
    "res_pjsip_pubsub",
    "res_pjsip_session",
    "res_pjsip_authenticator_digest",
    "res_pjsip_endpoint_identifier_user",
    "res_pjsip_endpoint_identifier_ip",
    "res_pjsip_registrar",
    "res_pjsip_sdp_rtp",
    "res_pjsip_caller_id",
    "res_pjsip_dtmf_info",
    "res_rtp_asterisk",
    "chan_pjsip",
    "pbx_config",
    "app_dial",
    "app_playback",
    "app_echo",
    "app_read",
    "app_verbose",
    "codec_ulaw",
    "codec_alaw",
    "codec_gsm",
    "format_wav",
    "format_gsm",
    "format_pcm",
    "bridge_simple",
    "bridge_native_rtp",
    "bridge_softmix",
    "func_callerid",
    "func_logic",
    "func_strings",
    "func_channel",
    "res_timing_timerfd",
]
DIALPLAN = """
[general]
static=yes
writeprotect=yes

[inbound]
exten => _10XX,1,Verbose(1,LAB inbound num=${CALLERID(num)} name=${CALLERID(name)})
 same => n,Dial(PJSIP/op${EXTEN},20)
 same => n,Hangup()
exten => 2000,1,Answer()
 same => n,Playback(beep)
 same => n,Wait(30)
 same => n,Hangup()
exten => _555XXXX,1,Set(NUM=${EXTEN})
 same => n,Dial(PJSIP/${EXTEN}@trunk,2)
 same => n,Hangup(${IF($["${DIALSTATUS}"="BUSY"]?17:${IF($["${DIALSTATUS}"="NOANSWER"]?19:34)})})
exten => h,1,Log(NOTICE,DIALRESULT num=${NUM} status=${DIALSTATUS})

[operators]
exten => *41,1,Answer()
 same => n,Read(DIGIT,beep,1,,1,5)
 same => n,Log(NOTICE,FEATURE caller=${CALLERID(num)} digit=${DIGIT})
 same => n,Hangup()
"""


@dataclass
class LabAsterisk:
    """A throwaway unprivileged Asterisk on 127.0.0.1, its config and logs in one temp dir."""

    root: Path
    sip_port: int
    proc: subprocess.Popen[bytes]

    @property
    def registrar(self) -> str:
        return f"127.0.0.1:{self.sip_port}"

    def cli(self, command: str) -> str:
        conf = str(self.root / "asterisk.conf")
        done = subprocess.run([ASTERISK, "-C", conf, "-rx", command], capture_output=True, text=True, timeout=10)
        return done.stdout

    def log(self) -> str:
        return (self.root / "log" / "messages").read_text(errors="replace")

    def active_channels(self) -> int:
        found = re.search(r"(\d+) active channel", self.cli("core show channels count"))
        return int(found.group(1)) if found else -1


def write_config(root: Path, sip_port: int, network_port: int) -> None:
    """asterisk.conf, modules, logger, rtp, pjsip and extensions for these tests only."""
    for sub in ("lib", "db", "keys", "agi", "spool", "run", "log"):
        (root / sub).mkdir()
    dirs = {"etc": root, "mod": "/usr/lib/asterisk/modules", "sbin": "/usr/sbin"}
    dirs |= {"data": "/usr/share/asterisk", "varlib": root / "lib", "db": root / "db"}
    dirs |= {"key": root / "keys", "agi": root / "agi", "spool": root / "spool"}
    dirs |= {"run": root / "run", "log": root / "log"}
    lines = "".join(f"ast{name}dir => {path}\n" for name, path in dirs.items())
    # No runuser/rungroup: Asterisk runs as whoever runs the tests.
    (root / "asterisk.conf").write_text(f"[directories]\n{lines}[options]\nverbose = 3\n")
    loads = "".join(f"load => {m}.so\n" for m in MODULES)
    (root / "modules.conf").write_text("[modules]\nautoload=no\n" + loads)
    (root / "logger.conf").write_text("[logfiles]\nmessages => notice,warning,error,verbose(3)\n")
    (root / "rtp.conf").write_text("[general]\nrtpstart=30000\nrtpend=39999\n")
    (root / "pjsip.conf").write_text(pjsip_conf(sip_port, network_port))
    (root / "extensions.conf").write_text(DIALPLAN)


def pjsip_conf(sip_port: int, network_port: int) -> str:
    # endpoint_identifier_order=username,ip: without it the trunk's identify (127.0.0.1)
    # would claim the operators' REGISTERs too, since everything comes from 127.0.0.1.
    text = "[global]\ntype=global\nendpoint_identifier_order=username,ip\n"
    text += f"[udp]\ntype=transport\nprotocol=udp\nbind=127.0.0.1:{sip_port}\n"
    media = "disallow=all\nallow=ulaw\ndirect_media=no\nrtp_symmetric=yes\n"
    for user in OPERATORS:
        text += f"[{user}]\ntype=endpoint\ncontext=operators\n{media}auth={user}\naors={user}\n"
        text += f"[{user}]\ntype=auth\nauth_type=userpass\nusername={user}\npassword=pw-{user}\n"
        text += f"[{user}]\ntype=aor\nmax_contacts=1\nremove_existing=yes\n"
    text += f"[trunk]\ntype=endpoint\ncontext=inbound\n{media}aors=trunk\n"
    text += f"[trunk]\ntype=aor\ncontact=sip:127.0.0.1:{network_port}\nqualify_frequency=0\n"
    text += "[trunk]\ntype=identify\nendpoint=trunk\nmatch=127.0.0.1\n"
    return text


@pytest.fixture
async def network() -> AsyncIterator[SippNetwork]:
    async with SippNetwork(ring_s=0.3, talk_s=1.0) as net:
        yield net


@pytest.fixture
def asterisk(network: SippNetwork) -> Iterator[LabAsterisk]:
    root = Path(tempfile.mkdtemp(prefix="lab-ast-"))  # short: the control socket path is capped
    sip_port = free_udp_port()
    write_config(root, sip_port, network.port)
    with (root / "console.log").open("wb") as console:
        proc = subprocess.Popen(
            [ASTERISK, "-C", str(root / "asterisk.conf"), "-f", "-n"],
            stdin=subprocess.DEVNULL,
            stdout=console,
            stderr=subprocess.STDOUT,
        )
    ast = LabAsterisk(root, sip_port, proc)
    try:
        _wait_booted(ast)
        ast.cli("core show channels")  # a marker in the log: the test starts here
        yield ast
        assert ast.active_channels() == 0, "a channel outlived the test"
    finally:
        _stop(ast)
        shutil.rmtree(root, ignore_errors=True)


def _wait_booted(ast: LabAsterisk, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if ast.proc.poll() is not None:
            raise RuntimeError((ast.root / "console.log").read_text(errors="replace")[-2000:])
        if "fully booted" in ast.cli("core waitfullybooted").lower() or _booted(ast):
            return
        time.sleep(0.2)
    raise TimeoutError("Asterisk did not boot")


def _booted(ast: LabAsterisk) -> bool:
    return "PJSIP" in ast.cli("core show channeltypes")


def _stop(ast: LabAsterisk) -> None:
    if ast.proc.poll() is None:
        ast.cli("core stop now")
        try:
            ast.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            ast.proc.kill()
            ast.proc.wait()


@pytest.fixture
async def bank() -> AsyncIterator[SoftphoneBank]:
    async with SoftphoneBank() as phones:
        yield phones


async def register_all(bank: SoftphoneBank, ast: LabAsterisk, users: list[str]) -> None:
    for user in users:
        await bank.register(user, f"pw-{user}", ast.registrar, display=f"Operator {user}")


async def wait_quiet(ast: LabAsterisk, timeout: float = 10.0) -> None:
    """Wait until Asterisk has no channel left (hangups settle a moment after SIPp exits)."""
    for _ in range(int(timeout / 0.2)):
        if ast.active_channels() == 0:
            return
        await asyncio.sleep(0.2)


async def test_ten_operators_register_answer_talk_and_hang_up(asterisk: LabAsterisk, bank: SoftphoneBank) -> None:
    """Given 10 softphones registered, when SIPp calls each, each answers, talks and hangs up."""
    users = OPERATORS[:10]
    await register_all(bank, asterisk, users)
    contacts = asterisk.cli("pjsip show contacts")
    assert all(f"{user}/sip:{user}@127.0.0.1" in contacts for user in users)
    for user in users:
        await bank.configure(user, answer_after_s=0.2, talk_s=1.0)
    rows = [{"number": user.removeprefix("op")} for user in users]
    result = await run_callers(
        "caller.xml", "127.0.0.1", asterisk.sip_port, number=None, calls=10, rate=20,
        concurrency=10, call_seconds=10, injection_rows=rows, timeout=40,
    )  # fmt: skip
    assert (result.successful, result.failed, result.exit_code) == (10, 0, 0), result.errors
    for user in users:
        counters = bank.counters(user)
        assert (counters.offered, counters.answered) == (1, 1)
        assert 0.9 <= counters.talk_s < 3.0
    await wait_quiet(asterisk)


async def test_caller_with_hostile_caller_id_completes(asterisk: LabAsterisk, bank: SoftphoneBank) -> None:
    """Given shell and dialplan metacharacters in the caller ID, the call still completes."""
    await register_all(bank, asterisk, ["op1002"])
    await bank.configure("op1002", answer_after_s=0.1, talk_s=0.5)
    hostile = {
        "number": "1002",
        "caller_number": '1;2&3|4`5$(id)${SHELL(id)}"',
        "caller_name": 'Evil " & | ` $(id) ${SHELL(id)}',
    }
    result = await run_callers(
        "caller.xml", "127.0.0.1", asterisk.sip_port, number=None, calls=1, rate=1,
        concurrency=1, call_seconds=5, injection_rows=[hostile], timeout=30,
    )  # fmt: skip
    assert result.all_successful, result.errors
    assert bank.counters("op1002").answered == 1
    assert "name=Evil" in asterisk.log()
    assert "${SHELL(id)}" in asterisk.log()  # logged as text, never expanded
    await wait_quiet(asterisk)


async def test_network_answers_busies_and_rings_out_by_number(asterisk: LabAsterisk, network: SippNetwork) -> None:
    """Given the number plan, Dial through the trunk ends ANSWER, BUSY, NOANSWER and so on."""
    expected = {
        "5550001": "ANSWER",
        "5550002": "BUSY",
        "5550003": "NOANSWER",
        "5550004": "ANSWER",
        "5550005": "CONGESTION",
        "5550006": "CHANUNAVAIL",
    }
    rows = [{"number": number} for number in expected]
    result = await run_callers(
        "caller.xml", "127.0.0.1", asterisk.sip_port, number=None, calls=6, rate=20,
        concurrency=6, call_seconds=10, injection_rows=rows, timeout=40,
    )  # fmt: skip
    assert (result.successful, result.failed) == (2, 4), result.errors
    await wait_quiet(asterisk)
    found = dict(re.findall(r"DIALRESULT num=(\d+) status=(\w+)", asterisk.log()))
    assert found == expected
    counts = await network.stop()
    assert (counts.successful, counts.failed) == (6, 0), counts.errors


async def test_caller_gives_up_while_ringing_and_while_answered(asterisk: LabAsterisk, bank: SoftphoneBank) -> None:
    """Given a caller with 1.5 s of patience, it cancels a ringing call and hangs up an IVR."""
    await register_all(bank, asterisk, ["op1003"])
    await bank.configure("op1003", auto_answer=False)
    since = bank.mark()
    result = await run_callers(
        "caller_hangup_early.xml", "127.0.0.1", asterisk.sip_port, number=None, calls=2,
        rate=10, concurrency=2, call_seconds=1.5,
        injection_rows=[{"number": "1003"}, {"number": "2000"}], timeout=30,
    )  # fmt: skip
    assert (result.successful, result.failed) == (2, 0), result.errors
    ended = await bank.wait_for(lambda e: e.ev == "disconnected" and e.user == "op1003", since=since)
    assert ended.get("duration_s") == 0.0
    assert bank.counters("op1003").answered == 0
    await wait_quiet(asterisk)


async def test_operator_dials_a_feature_code_and_keys_a_digit(asterisk: LabAsterisk, bank: SoftphoneBank) -> None:
    """Given a registered softphone, it dials *41, sends DTMF 7, and Asterisk reads it."""
    await register_all(bank, asterisk, ["op1001"])
    since = bank.mark()
    call_id = await bank.dial("op1001", f"sip:*41@{asterisk.registrar}")
    await bank.wait_for(lambda e: e.ev == "confirmed" and e.get("call_id") == call_id, since=since)
    await asyncio.sleep(0.5)  # the beep prompt plays first; Read() listens after it
    await bank.dtmf("op1001", "7")
    await bank.wait_for(lambda e: e.ev == "disconnected" and e.get("call_id") == call_id)
    assert re.search(r"FEATURE caller=op1001 digit=7", asterisk.log())
    await bank.unregister("op1001")
    assert "op1001/sip" not in asterisk.cli("pjsip show contacts")
