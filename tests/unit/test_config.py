"""The site configuration: valid files load, bad ones are refused naming the file, the field and the value."""

from __future__ import annotations

import socket
from pathlib import Path
from typing import Any

import pytest

from switchboard.config import load_site, resolve_config_path
from switchboard.errors import ConfigError
from switchboard.lab.site import dumps_toml

GOLDEN_SITE = Path(__file__).with_name("golden") / "site.toml"


def _site(**changes: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "skills": ["tax"],
        "ami": {"secret": "runtime-secret-01", "admin_secret": "admin-secret-001"},
        "queues": [{"name": "tax", "requires": {"tax": 1}}],
        "hotlines": [{"number": "+18005550100", "queue": "tax"}],
        "operators": [{"sip_user": "op1", "secret": "operator-secret-1", "name": "Anna", "skills": {"tax": 3}}],
    }
    base.update(changes)
    return base


def _write(tmp_path: Path, data: dict[str, Any]) -> Path:
    path = tmp_path / "site.toml"
    path.write_text(dumps_toml(data), encoding="utf-8")
    return path


def test_golden_site_loads_with_its_operators_queues_and_hotlines() -> None:
    """A complete site file loads into the model."""
    site = load_site(GOLDEN_SITE)
    assert [op.sip_user for op in site.operators] == ["op1001", "op1002"]
    assert site.hotline_queue("18005550100").name == "tax"  # type: ignore[union-attr]
    assert site.operator("op1002").skills == {"accounting": 5, "english": 3}


@pytest.mark.parametrize(
    ("changes", "field", "value"),
    [
        (
            {"operators": [{"sip_user": "op1", "secret": "operator-secret-1", "name": "A", "skills": {"cooking": 2}}]},
            "operators.0.skills",
            "cooking",
        ),
        (
            {
                "operators": [
                    {"sip_user": "op1", "secret": "operator-secret-1", "name": "A"},
                    {"sip_user": "op1", "secret": "operator-secret-2", "name": "B"},
                ]
            },
            "operators.1.sip_user",
            "op1",
        ),
        ({"operators": [{"sip_user": "op1", "secret": "short", "name": "A"}]}, "operators.0.secret", "short"),
        ({"hotlines": [{"number": "800-CALL-NOW", "queue": "tax"}]}, "hotlines.0.number", "800-CALL-NOW"),
        ({"hotlines": [{"number": "+18005550100", "queue": "nope"}]}, "hotlines.0.queue", "nope"),
        ({"queues": [{"name": "tax", "requires": {"law": 1}}], "hotlines": []}, "queues.0.requires", "law"),
        (
            {"operators": [{"sip_user": "op1", "secret": "operator-secret-1", "name": "A", "skills": {"tax": 9}}]},
            "operators.0.skills.tax",
            "9",
        ),
        (
            {"operators": [{"sip_user": "op 1;x", "secret": "operator-secret-1", "name": "A"}]},
            "operators.0.sip_user",
            "op 1;x",
        ),
        ({"asterisk": {"sip_port": 70000}}, "asterisk.sip_port", "70000"),
        ({"time_zone": "Mars/Olympus"}, "time_zone", "Mars/Olympus"),
        ({"time_zone": "Europe"}, "time_zone", "Europe"),  # a folder of zones, not a zone
        ({"queues": [{"name": "tax", "requires": {"tax": 1}, "abandon_target": 0}]}, "queues.0.abandon_target", "0"),
        (
            {"queues": [{"name": "tax", "requires": {"tax": 1}, "abandon_target": 1.5}]},
            "queues.0.abandon_target",
            "1.5",
        ),
        ({"colour": "blue"}, "colour", "blue"),
    ],
)
def test_bad_site_is_refused_naming_file_field_and_value(
    tmp_path: Path, changes: dict[str, Any], field: str, value: str
) -> None:
    """Unknown skill, duplicate operator, short secret, malformed number ... each names file, field and value."""
    path = _write(tmp_path, _site(**changes))
    with pytest.raises(ConfigError) as caught:
        load_site(path)
    message = str(caught.value)
    assert str(path) in message
    assert field in message
    assert value in message


def test_port_in_use_is_refused(tmp_path: Path) -> None:
    """A listening port already taken on loopback is refused before Asterisk would fail obscurely."""
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        path = _write(tmp_path, _site(fastagi={"port": port}))
        with pytest.raises(ConfigError, match=rf"fastagi.port = {port}: port in use"):
            load_site(path, check_ports=True)


def test_missing_file_and_broken_toml_are_clear_errors(tmp_path: Path) -> None:
    """No file, or a file that is not TOML, is a ConfigError naming the file."""
    with pytest.raises(ConfigError, match="no such configuration file"):
        load_site(tmp_path / "absent.toml")
    broken = tmp_path / "broken.toml"
    broken.write_text("[ami\nsecret = 1", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"broken\.toml: not valid TOML"):
        load_site(broken)


def test_config_path_comes_from_option_then_environment_then_cwd(monkeypatch: pytest.MonkeyPatch) -> None:
    """--config FILE wins, then SWITCHBOARD_CONFIG, then ./switchboard.toml."""
    monkeypatch.setenv("SWITCHBOARD_CONFIG", "/etc/sb/env.toml")
    assert resolve_config_path("/tmp/x.toml") == Path("/tmp/x.toml")
    assert resolve_config_path(None) == Path("/etc/sb/env.toml")
    monkeypatch.delenv("SWITCHBOARD_CONFIG")
    assert resolve_config_path(None) == Path("switchboard.toml")


def test_database_url_from_environment_overrides_the_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """SWITCHBOARD_DB overrides store_url; a relative SQLite path is taken from the site file's folder."""
    site = load_site(_write(tmp_path, _site(store_url="sqlite:///data/sb.db")))
    assert site.store_url_effective == f"sqlite:///{tmp_path / 'data' / 'sb.db'}"
    monkeypatch.setenv("SWITCHBOARD_DB", "postgresql://u@127.0.0.1:5432/sb")
    assert site.store_url_effective == "postgresql://u@127.0.0.1:5432/sb"
