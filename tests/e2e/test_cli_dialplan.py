"""`switchboard dialplan` as an admin runs it against a real Asterisk: check names the refused lines, apply reloads
the dialplan, diff and show tell what runs, history and audit list the versions and who made them, rollback."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import pytest_asyncio

from asterisk_conf import variables
from switchboard.lab.asterisk import AsteriskProcess
from switchboard.lab.site import write_lab_site

pytestmark = pytest.mark.e2e

SWITCHBOARD = shutil.which("switchboard", path=str(Path(sys.executable).parent)) or "switchboard"
ADMIN = variables.CTX_ADMIN
GOOD = f"[{ADMIN}]\nexten => s,1,NoOp(from the CLI)\n same => n,Hangup()\nexten => 100,1,Playback(hello-world)\n"
BAD = f"[{ADMIN}]\nexten => s,1,NoOp(x)\n same => n,Dial(PJSIP/${{EXTEN}})\n#exec /bin/id\n"


@pytest_asyncio.fixture(scope="module")
async def site_file(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Path]:
    """A lab site file with its Asterisk running (rendered beside it, found through asterisk_logs)."""
    folder = tmp_path_factory.mktemp("cli-dialplan")
    path, site = write_lab_site(folder)
    async with AsteriskProcess(site, folder / "asterisk"):
        yield path


def run(site_file: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SWITCHBOARD_")}
    command = [SWITCHBOARD, "--config", str(site_file), "dialplan", *args]
    return subprocess.run(command, capture_output=True, text=True, env=env, timeout=60, check=False)


def test_check_names_each_refused_line(site_file: Path, tmp_path: Path) -> None:
    """A bad file: exit 1, one line per problem with the file and the line; --json lists them."""
    bad = tmp_path / "bad.conf"
    bad.write_text(BAD)
    out = run(site_file, "check", str(bad))
    assert out.returncode == 1
    assert out.stdout.splitlines() == [
        f"{bad}: line 3: ${{EXTEN}} reaches Dial() unfiltered: the caller chooses it; wrap it in ${{FILTER(0-9,...)}}",
        f"{bad}: line 4: #exec is refused: it runs a shell command on the server",
    ]
    data = json.loads(run(site_file, "check", str(bad), "--json").stdout)
    assert [p["line"] for p in data["problems"]] == [3, 4] and data["ok"] is False
    good = tmp_path / "good.conf"
    good.write_text(GOOD)
    assert run(site_file, "check", str(good)).stdout.strip() == f"{good}: ok"


def test_apply_diff_history_rollback_and_audit(site_file: Path, tmp_path: Path) -> None:
    """Apply a file, see no diff left, apply another, roll back; the history and the audit log tell the story."""
    good = tmp_path / "good.conf"
    good.write_text(GOOD)
    diff = run(site_file, "diff", str(good))
    assert diff.returncode == 0 and "+exten => 100,1,Playback(hello-world)" in diff.stdout
    applied = run(site_file, "apply", str(good), "--note", "from the CLI", "--json")
    assert applied.returncode == 0, applied.stderr
    first = json.loads(applied.stdout)["id"]
    assert run(site_file, "diff", str(good)).stdout.strip() == "no change"
    assert run(site_file, "show").stdout.strip() == GOOD.strip()
    rendered = run(site_file, "show", "--rendered").stdout
    assert f"[{variables.CTX_INBOUND}]" in rendered and rendered.rstrip().endswith(GOOD.strip())

    second = tmp_path / "second.conf"
    second.write_text(GOOD.replace("hello-world", "goodbye"))
    assert run(site_file, "apply", str(second), "--note", "goodbye").returncode == 0
    back = run(site_file, "rollback", str(first), "--json")
    assert back.returncode == 0, back.stderr
    assert json.loads(back.stdout)["restored_from"] == first
    assert run(site_file, "show").stdout.strip() == GOOD.strip()

    history = json.loads(run(site_file, "history", "--json").stdout)
    assert [v["note"] for v in history[:3]] == [f"rollback to version {first}", "goodbye", "from the CLI"]
    assert all(v["author"].startswith("cli:") for v in history[:3])
    actions = [e["action"] for e in json.loads(run(site_file, "audit", "--json").stdout)]
    assert actions[:3] == ["dialplan.apply", "dialplan.rollback", "dialplan.apply"]


def test_a_refused_apply_exits_2_naming_the_line(site_file: Path, tmp_path: Path) -> None:
    """apply of a bad file changes nothing and says which lines, on standard error."""
    bad = tmp_path / "bad.conf"
    bad.write_text(BAD)
    before = run(site_file, "show").stdout
    out = run(site_file, "apply", str(bad), "--note", "bad")
    assert out.returncode == 2
    assert "error: the dialplan was refused:" in out.stderr and "line 4: #exec is refused" in out.stderr
    assert run(site_file, "show").stdout == before
    missing = run(site_file, "rollback", "9999")
    assert missing.returncode == 2 and "version 9999: no such dialplan version" in missing.stderr
