"""Render a complete Asterisk config set from the site configuration and the templates beside this file.

One function, `render_files`, makes the texts (pure, pinned by golden files); `render_asterisk` writes them, except
the admin's dialplan file when the folder has one already.
"""

from __future__ import annotations

import os
from pathlib import Path

import jinja2

from asterisk_conf import variables
from switchboard.config import Hotline, Site

TEMPLATES = Path(__file__).with_name("templates")
# Folders Asterisk writes to: all under the render folder so it runs unprivileged.
WRITABLE_DIRS = ("run", "log", "spool", "lib", "db", "keys", "agi")
SYSTEM_MODULES = Path("/usr/lib/asterisk/modules")
SYSTEM_DATA = Path("/usr/share/asterisk")
RING_SECONDS = 20
# The admin's own dialplan contexts: the template is only its first version; after that the dialplan editor
# (switchboard/dialplan_admin.py) owns the file, and rendering again must not wipe what the admin applied.
ADMIN_DIALPLAN = "extensions_admin.conf"

_env = jinja2.Environment(
    loader=jinja2.FileSystemLoader(TEMPLATES),
    undefined=jinja2.StrictUndefined,
    keep_trailing_newline=True,
    trim_blocks=True,
    lstrip_blocks=True,
    autoescape=False,
)


def template_names() -> list[str]:
    return sorted(p.name for p in TEMPLATES.glob("*.conf"))


def render_files(site: Site, out_dir: Path) -> dict[str, str]:
    """Every config file's text, by file name; pure apart from reading the templates."""
    context = {
        "site": site,
        "dirs": {name: str(out_dir / name) for name in WRITABLE_DIRS},
        "etc_dir": str(out_dir),
        "modules_dir": str(SYSTEM_MODULES),
        "data_dir": str(SYSTEM_DATA),
        "recordings_dir": str(site.recordings_path),
        "ring_seconds": RING_SECONDS,
        "v": variables,
        "ref": {name: f"${{{getattr(variables, name)}}}" for name in dir(variables) if name.isupper()},
        "hotline_numbers": _hotline_numbers(site),
    }
    return {name: _env.get_template(name).render(context) for name in template_names()}


def render_asterisk(site: Site, out_dir: str | os.PathLike[str]) -> Path:
    """Write the config set into out_dir (creating the writable folders), keeping an existing ADMIN_DIALPLAN;
    returns the asterisk.conf path."""
    out = Path(out_dir).resolve()
    out.mkdir(parents=True, exist_ok=True)
    for name in WRITABLE_DIRS:
        (out / name).mkdir(exist_ok=True)
    (out / "log" / "cdr-csv").mkdir(exist_ok=True)
    site.recordings_path.mkdir(parents=True, exist_ok=True)
    for name, text in render_files(site, out).items():
        target = out / name
        if name == ADMIN_DIALPLAN and target.exists():
            continue
        target.write_text(text, encoding="utf-8")
        # manager.conf and pjsip.conf hold secrets.
        target.chmod(0o600 if name in {"manager.conf", "pjsip.conf"} else 0o644)
    return out / "asterisk.conf"


def _hotline_numbers(site: Site) -> list[tuple[str, Hotline]]:
    """(extension, hotline) pairs: each hotline answers with and without its leading '+'."""
    pairs: list[tuple[str, Hotline]] = []
    for line in site.hotlines:
        bare = line.number.lstrip("+")
        pairs.append((bare, line))
        if bare != line.number:
            pairs.append((line.number, line))
    return pairs
