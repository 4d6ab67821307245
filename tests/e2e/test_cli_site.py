"""The console command as a user runs it: --config resolution, --json output, and errors that name the problem."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

GOLDEN_SITE = Path(__file__).resolve().parents[1] / "unit" / "golden" / "site.toml"
SWITCHBOARD = shutil.which("switchboard", path=str(Path(sys.executable).parent)) or "switchboard"


def run(
    *args: str, env: dict[str, str] | None = None, cwd: Path | None = None, timeout: float = 60
) -> subprocess.CompletedProcess[str]:
    full_env = {k: v for k, v in os.environ.items() if not k.startswith("SWITCHBOARD_")}
    full_env.update(env or {})
    return subprocess.run(
        [SWITCHBOARD, *args], capture_output=True, text=True, env=full_env, cwd=cwd, timeout=timeout, check=False
    )


def test_help_lists_the_commands() -> None:
    """`switchboard --help` reads well and names every command."""
    out = run("--help")
    assert out.returncode == 0
    for command in ("config", "asterisk", "run", "calls", "demo"):
        assert command in out.stdout


def test_config_check_json_from_option_before_or_after_the_command() -> None:
    """--config works before or after the command name, and --json prints a summary."""
    for args in (["--config", str(GOLDEN_SITE), "config", "check", "--json"],
                 ["config", "check", "--config", str(GOLDEN_SITE), "--json"]):  # fmt: skip
        out = run(*args)
        assert out.returncode == 0, out.stderr
        data = json.loads(out.stdout)
        assert data["ok"] is True
        assert data["operators"] == 2


def test_config_from_environment_then_working_folder(tmp_path: Path) -> None:
    """Without --config the site comes from SWITCHBOARD_CONFIG, else ./switchboard.toml."""
    assert run("config", "check", "--json", env={"SWITCHBOARD_CONFIG": str(GOLDEN_SITE)}).returncode == 0
    missing = run("config", "check", cwd=tmp_path)
    assert missing.returncode == 2
    assert "switchboard.toml: no such configuration file" in missing.stderr
    shutil.copy(GOLDEN_SITE, tmp_path / "switchboard.toml")
    assert run("config", "check", cwd=tmp_path).returncode == 0


def test_bad_config_exits_2_naming_file_field_and_value(tmp_path: Path) -> None:
    """A secret too short is refused with the file, the field and the value, and exit code 2."""
    bad = tmp_path / "site.toml"
    bad.write_text(GOLDEN_SITE.read_text().replace('"operator-secret-1002"', '"short"'), encoding="utf-8")
    out = run("--config", str(bad), "config", "check")
    assert out.returncode == 2
    assert f"{bad}: operators.1.secret = 'short': secret is shorter than 12 characters" in out.stderr


def test_asterisk_render_writes_a_config_set(tmp_path: Path) -> None:
    """`asterisk render --out DIR --json` writes asterisk.conf and the rest, and lists them."""
    out = run("asterisk", "render", "--config", str(GOLDEN_SITE), "--out", str(tmp_path / "ast"), "--json")
    assert out.returncode == 0, out.stderr
    data = json.loads(out.stdout)
    assert Path(data["asterisk_conf"]).is_file()
    assert all(Path(f).is_file() for f in data["files"])


def test_calls_on_an_empty_store_prints_an_empty_list(tmp_path: Path) -> None:
    """`calls --json` on a new database prints [] (and SWITCHBOARD_DB picks the database)."""
    out = run("calls", "--config", str(GOLDEN_SITE), "--json", env={"SWITCHBOARD_DB": f"sqlite:///{tmp_path}/x.db"})
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout) == []
    assert (tmp_path / "x.db").exists()


def test_callbacks_lists_the_pending_tasks_left_at_the_maximum_wait(tmp_path: Path) -> None:
    """Tasks stored by the platform come back by status, as JSON or lines, with the voice message's file."""
    from switchboard.picture_moves import CallbackRequest
    from switchboard.store.calls import CallStore, make_engine

    url = f"sqlite:///{tmp_path / 'cb.db'}"
    store = CallStore(make_engine(url))
    store.create_schema()
    store.add_callbacks([
        CallbackRequest("c1", "tax", "+79120000001", "callback", 100.0),
        CallbackRequest("c2", "tax", "+79120000002", "voicemail", 101.0, "/rec/voicemail/c2.wav"),
    ])  # fmt: skip
    store.add_callbacks([CallbackRequest("c1", "tax", "+79120000001", "callback", 100.0)])  # a retried flush
    env = {"SWITCHBOARD_DB": url}
    out = run("--config", str(GOLDEN_SITE), "callbacks", "--json", env=env)
    assert out.returncode == 0, out.stderr
    assert [(r["id"], r["kind"], r["message"]) for r in json.loads(out.stdout)] == [
        ("c1", "callback", None), ("c2", "voicemail", "/rec/voicemail/c2.wav"),
    ]  # fmt: skip
    assert "/rec/voicemail/c2.wav" in run("--config", str(GOLDEN_SITE), "callbacks", env=env).stdout
    done = run("--config", str(GOLDEN_SITE), "callbacks", "--status", "done", env=env)
    assert done.stdout.strip() == "no done callback tasks"


def test_queues_without_redis_says_which_url_it_could_not_read(tmp_path: Path) -> None:
    site = tmp_path / "site.toml"
    site.write_text('redis_url = "redis://127.0.0.1:1/0"\n' + GOLDEN_SITE.read_text(), encoding="utf-8")
    out = run("--config", str(site), "queues")
    assert out.returncode == 1 and "redis_url = 'redis://127.0.0.1:1/0': cannot read the live figures" in out.stderr
