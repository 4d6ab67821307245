"""Golden-file tests pinning the rendered Asterisk configs (regenerate: SWITCHBOARD_UPDATE_GOLDEN=1)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from asterisk_conf.render import ADMIN_DIALPLAN, render_asterisk, render_files, template_names
from switchboard.config import load_site

GOLDEN = Path(__file__).with_name("golden")
OUT = Path("/srv/switchboard/asterisk")


@pytest.fixture(scope="module")
def rendered() -> dict[str, str]:
    return render_files(load_site(GOLDEN / "site.toml"), OUT)


@pytest.mark.parametrize("name", template_names())
def test_rendered_config_matches_golden_file(rendered: dict[str, str], name: str) -> None:
    """Each rendered file equals its golden copy byte for byte."""
    golden = GOLDEN / "asterisk" / name
    if os.environ.get("SWITCHBOARD_UPDATE_GOLDEN"):
        golden.parent.mkdir(exist_ok=True)
        golden.write_text(rendered[name], encoding="utf-8")
    assert rendered[name] == golden.read_text(encoding="utf-8")


def test_every_writable_directory_is_under_the_render_folder(rendered: dict[str, str]) -> None:
    """Writable folders are under the render folder; modules and data stay at the system paths."""
    dirs = dict(
        line.split(" => ")
        for line in rendered["asterisk.conf"].splitlines()
        if line.startswith("ast") and " => " in line
    )
    for key in ("astrundir", "astlogdir", "astspooldir", "astvarlibdir", "astdbdir", "astkeydir", "astagidir"):
        assert dirs[key].startswith(str(OUT)), key
    assert dirs["astmoddir"] == "/usr/lib/asterisk/modules"
    assert dirs["astdatadir"] == "/usr/share/asterisk"


def test_runtime_ami_user_never_gets_system_command_or_config_writes(rendered: dict[str, str]) -> None:
    """The runtime AMI user writes only call, originate, agent and reporting; the admin user only config."""
    sections = _sections(rendered["manager.conf"])
    assert sections["switchboard"]["write"] == "call,originate,agent,reporting"
    assert sections["switchboard-admin"]["write"] == "config"
    assert sections["general"]["bindaddr"] == "127.0.0.1"
    for user in ("switchboard", "switchboard-admin"):
        assert sections[user]["permit"] == "127.0.0.1/255.255.255.255"


def test_pjsip_identifies_by_username_before_ip(rendered: dict[str, str]) -> None:
    """The global section orders username before ip so operators' REGISTERs are not taken for the trunk."""
    assert "endpoint_identifier_order = username,ip" in rendered["pjsip.conf"]


def test_render_writes_files_and_private_secrets(tmp_path: Path) -> None:
    """render_asterisk writes every file, creates the writable folders, and keeps secret files private."""
    conf = render_asterisk(load_site(GOLDEN / "site.toml"), tmp_path)
    assert conf == tmp_path / "asterisk.conf"
    assert {p.name for p in tmp_path.glob("*.conf")} == set(template_names())
    assert (tmp_path / "run").is_dir()
    assert (tmp_path / "log").is_dir()
    assert (tmp_path / "manager.conf").stat().st_mode & 0o077 == 0


def test_rendering_again_keeps_the_admins_applied_dialplan(tmp_path: Path) -> None:
    """A second render (the lab starting Asterisk, `switchboard asterisk render`) rewrites the platform's files but
    keeps extensions_admin.conf as the dialplan editor left it; a folder without one gets the template."""
    site = load_site(GOLDEN / "site.toml")
    render_asterisk(site, tmp_path)
    expected = render_files(site, tmp_path.resolve())
    assert (tmp_path / ADMIN_DIALPLAN).read_text(encoding="utf-8") == expected[ADMIN_DIALPLAN]
    applied = "[switchboard-admin]\nexten => 700,1,Playback(hello-world)\n"
    (tmp_path / ADMIN_DIALPLAN).write_text(applied, encoding="utf-8")
    (tmp_path / "extensions.conf").write_text("; edited by hand\n", encoding="utf-8")
    render_asterisk(site, tmp_path)
    assert (tmp_path / ADMIN_DIALPLAN).read_text(encoding="utf-8") == applied
    assert (tmp_path / "extensions.conf").read_text(encoding="utf-8") == expected["extensions.conf"]
    (tmp_path / ADMIN_DIALPLAN).unlink()
    render_asterisk(site, tmp_path)
    assert (tmp_path / ADMIN_DIALPLAN).read_text(encoding="utf-8") == expected[ADMIN_DIALPLAN]


def _sections(text: str) -> dict[str, dict[str, str]]:
    out: dict[str, dict[str, str]] = {}
    current: dict[str, str] = {}
    for line in text.splitlines():
        line = line.split(";", 1)[0].strip()
        if line.startswith("["):
            current = out.setdefault(line.strip("[]"), {})
        elif "=" in line:
            key, value = (part.strip() for part in line.split("=", 1))
            current[key] = value
    return out
