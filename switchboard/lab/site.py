"""Site files for the lab: a call centre on free loopback ports with fresh secrets, for tests and the demo.

The result is an ordinary site TOML file, loaded by the same code as a production site.
"""

from __future__ import annotations

import secrets
from pathlib import Path
from typing import Any

from switchboard.config import Site, load_site
from switchboard.lab.ports import free_port, free_range

DEMO_SKILLS = ["general", "tax", "accounting", "english"]
DEMO_OPERATORS: list[dict[str, Any]] = [
    {"sip_user": "op1001", "name": "Anna Petrova", "skills": {"general": 5, "tax": 5, "accounting": 2}},
    {"sip_user": "op1002", "name": "Boris Ivanov", "skills": {"general": 4, "tax": 2, "accounting": 5}},
    {"sip_user": "op1003", "name": "Chloe Martin", "skills": {"general": 3, "tax": 3, "english": 5}},
    {"sip_user": "op1004", "name": "Dmitri Sokolov", "skills": {"general": 5, "accounting": 3}},
    {"sip_user": "op1005", "name": "Eva Novak", "skills": {"general": 2, "tax": 4, "english": 3}},
]
# general: anyone. tax and accounting: specialists first, widening to the less skilled after 20 s of wait.
# A short wrap-up keeps a one-minute demo moving.
DEMO_QUEUES: list[dict[str, Any]] = [
    {"name": "general", "requires": {"general": 1}, "wrapup_s": 3},
    {
        "name": "tax",
        "requires": {"tax": 1},
        "steps": [{"after_s": 0, "min_level": 4}, {"after_s": 20, "min_level": 2}],
        "wrapup_s": 3,
    },
    {
        "name": "accounting",
        "requires": {"accounting": 1},
        "steps": [{"after_s": 0, "min_level": 3}, {"after_s": 20, "min_level": 1}],
        "wrapup_s": 3,
    },
]
# The first hotline stays a plain one to "general" that every operator takes: the integration tests dial it.
DEMO_HOTLINES: list[dict[str, Any]] = [
    {"number": "+18005550100", "queue": "general"},
    {"number": "+18005550111", "queue": "tax", "menu": {"1": "tax", "2": "accounting"}},
    {"number": "+18005550122", "queue": "accounting"},
]


def lab_site_dict(folder: Path, *, operators: int = 3, redis_url: str | None = None) -> dict[str, Any]:
    """A site description with free ports, fresh secrets and everything written under `folder`."""
    rtp_start, rtp_end = free_range(200)
    ops = [dict(op, secret=secrets.token_urlsafe(12)) for op in DEMO_OPERATORS[:operators]]
    return {
        "name": "Switchboard lab",
        "recording": True,
        "recordings_dir": str(folder / "recordings"),
        "store_url": f"sqlite:///{folder / 'switchboard.db'}",
        "redis_url": redis_url or "redis://127.0.0.1:6379/0",
        "skills": DEMO_SKILLS,
        "asterisk": {"sip_port": free_port(), "ami_port": free_port(), "rtp_start": rtp_start, "rtp_end": rtp_end},
        "ami": {"secret": secrets.token_urlsafe(16), "admin_secret": secrets.token_urlsafe(16)},
        "fastagi": {"port": free_port()},
        "queue_log": str(folder / "asterisk" / "log" / "queue_log"),
        "asterisk_logs": str(folder / "asterisk" / "log"),  # where erasure looks for numbers in Asterisk's files
        "trunk": {"port": free_port(), "caller_id": "+18005550199"},
        "queues": DEMO_QUEUES,
        "hotlines": DEMO_HOTLINES,
        "operators": ops,
    }


def write_lab_site(folder: Path, data: dict[str, Any] | None = None, **kwargs: Any) -> tuple[Path, Site]:
    folder.mkdir(parents=True, exist_ok=True)
    data = data or lab_site_dict(folder, **kwargs)
    path = folder / "site.toml"
    path.write_text(dumps_toml(data), encoding="utf-8")
    return path, load_site(path)


def dumps_toml(data: dict[str, Any]) -> str:
    """TOML for the subset a site uses: scalars, lists of scalars, inline tables, tables, arrays of tables."""
    head, tables = [], []
    for key, value in data.items():
        if isinstance(value, dict):
            tables.append(f"\n[{key}]\n" + "".join(f"{k} = {_value(v)}\n" for k, v in value.items()))
        elif isinstance(value, list) and value and isinstance(value[0], dict):
            for item in value:
                tables.append(f"\n[[{key}]]\n" + "".join(f"{k} = {_value(v)}\n" for k, v in item.items()))
        else:
            head.append(f"{key} = {_value(value)}\n")
    return "".join(head) + "".join(tables)


def _value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, str):
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    if isinstance(value, list):
        return "[" + ", ".join(_value(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k} = {_value(v)}" for k, v in value.items()) + "}"
    raise TypeError(f"cannot write {type(value).__name__} to TOML")
