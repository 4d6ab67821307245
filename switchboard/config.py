"""The site configuration: one TOML file describing the call centre, loaded into a validated model.

Bad input is refused with a ConfigError naming the file, the field and the value.
"""

from __future__ import annotations

import os
import socket
import tomllib
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from pydantic import Field, ValidationError, field_validator, model_validator

from switchboard.config_sections import (
    NAME_RE,
    NUMBER_RE,
    AcdSection,
    AmiSection,
    AsteriskSection,
    DialerSection,
    FastAgiSection,
    Hotline,
    Operator,
    Queue,
    RetentionSection,
    Trunk,
    WideningStep,
    _check_overflows,
    _FieldError,
    _Model,
    _no_duplicates,
    zone_named,
)
from switchboard.errors import ConfigError

__all__ = [
    "NAME_RE", "NUMBER_RE", "AcdSection", "AmiSection", "AsteriskSection", "DialerSection", "FastAgiSection",
    "Hotline", "Operator", "Queue", "RetentionSection", "Site", "Trunk", "WideningStep", "load_site", "parse_site",
]  # fmt: skip

CONFIG_ENV = "SWITCHBOARD_CONFIG"
DB_ENV = "SWITCHBOARD_DB"
DEFAULT_CONFIG = "switchboard.toml"


class Site(_Model):
    """The whole call-centre set-up, as one validated value."""

    name: str = "Switchboard"
    # The IANA zone the site's calendar days are counted in: an operator's "today", days off, the day's charts.
    time_zone: str = "UTC"
    recording: bool = True
    recordings_dir: Path = Path("recordings")
    store_url: str = "sqlite:///switchboard.db"
    redis_url: str = "redis://127.0.0.1:6379/0"
    skills: list[str] = Field(default_factory=list)
    asterisk: AsteriskSection = AsteriskSection()
    ami: AmiSection
    fastagi: FastAgiSection = FastAgiSection()
    trunk: Trunk = Trunk()
    acd: AcdSection = AcdSection()
    queue_log: Path = Path("queue_log")  # Asterisk-format queue_log our ACD writes
    # Asterisk's log folder (`asterisk render --out DIR` puts it at DIR/log): messages, queue_log, cdr-csv/.
    # A person's erasure masks their number there too; unset, the erasure report lists it as unchecked.
    asterisk_logs: Path | None = None
    retention: RetentionSection = RetentionSection()
    dialers: list[DialerSection] = Field(default_factory=list)
    hotlines: list[Hotline] = Field(default_factory=list)
    queues: list[Queue] = Field(default_factory=list)
    operators: list[Operator] = Field(default_factory=list)
    # Where this site was loaded from; relative paths are taken from its folder.
    source: Path | None = Field(default=None, exclude=True)

    @field_validator("time_zone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        zone_named(value)
        return value

    @model_validator(mode="after")
    def _cross_checks(self) -> Site:
        known = set(self.skills)
        for i, op in enumerate(self.operators):
            for skill in op.skills:
                if skill not in known:
                    raise _FieldError(f"operators.{i}.skills", skill, f"unknown skill (declared: {sorted(known)})")
        for i, queue in enumerate(self.queues):
            for skill in queue.requires:
                if skill not in known:
                    raise _FieldError(f"queues.{i}.requires", skill, f"unknown skill (declared: {sorted(known)})")
        _no_duplicates("operators", [op.sip_user for op in self.operators], "sip_user", "duplicate operator")
        _no_duplicates("queues", [q.name for q in self.queues], "name", "duplicate queue")
        _no_duplicates("hotlines", [h.number for h in self.hotlines], "number", "duplicate hotline number")
        queue_names = {q.name for q in self.queues}
        for i, line in enumerate(self.hotlines):
            if line.queue not in queue_names:
                raise _FieldError(f"hotlines.{i}.queue", line.queue, "no such queue")
            for digit, target in line.menu.items():
                if target not in queue_names:
                    raise _FieldError(f"hotlines.{i}.menu.{digit}", target, "no such queue")
        _check_overflows(self.queues)
        for i, dialer in enumerate(self.dialers):
            if dialer.queue not in queue_names:
                raise _FieldError(f"dialers.{i}.queue", dialer.queue, "no such queue")
        _no_duplicates("dialers", [d.campaign for d in self.dialers], "campaign", "duplicate dialer for a campaign")
        extensions = [(f"queues.{i}.extension", q.extension) for i, q in enumerate(self.queues)]
        extensions += [(f"operators.{i}.extension", op.extension) for i, op in enumerate(self.operators)]
        seen: set[str] = set()
        for field, extension in extensions:
            if extension is not None and extension in seen:
                raise _FieldError(field, extension, "duplicate transfer extension")
            seen.add(extension or "")
        return self

    def transfer_targets(self) -> dict[str, str]:
        """Transfer extension -> 'queue:NAME' or 'operator:SIP_USER', as the dialplan's transfer context lists them."""
        targets = {q.extension: f"queue:{q.name}" for q in self.queues if q.extension}
        targets.update({op.extension: f"operator:{op.sip_user}" for op in self.operators if op.extension})
        return targets

    def operator(self, sip_user: str) -> Operator:
        for op in self.operators:
            if op.sip_user == sip_user:
                return op
        raise KeyError(sip_user)

    def queue(self, name: str) -> Queue:
        for q in self.queues:
            if q.name == name:
                return q
        raise KeyError(name)

    def hotline_queue(self, number: str, choice: str = "") -> Queue | None:
        """The queue for a call to `number`; `choice` is the menu digit the caller pressed (ignored if unknown)."""
        for line in self.hotlines:
            if line.number == number or line.number.lstrip("+") == number.lstrip("+"):
                return self.queue(line.menu.get(choice, line.queue))
        return None

    @property
    def zone(self) -> ZoneInfo:
        """The site's time zone (time_zone)."""
        return zone_named(self.time_zone)

    @property
    def base_dir(self) -> Path:
        return self.source.parent if self.source else Path.cwd()

    @property
    def queue_log_path(self) -> Path:
        path = self.queue_log
        return path if path.is_absolute() else (self.base_dir / path).resolve()

    @property
    def recordings_path(self) -> Path:
        path = self.recordings_dir
        return path if path.is_absolute() else (self.base_dir / path).resolve()

    @property
    def asterisk_logs_path(self) -> Path | None:
        path = self.asterisk_logs
        if path is None:
            return None
        return path if path.is_absolute() else (self.base_dir / path).resolve()

    @property
    def store_url_effective(self) -> str:
        """The SQLAlchemy URL; SWITCHBOARD_DB overrides the file for every command."""
        url = os.environ.get(DB_ENV) or self.store_url
        prefix = "sqlite:///"
        if url.startswith(prefix) and not url.startswith(prefix + "/") and ":memory:" not in url:
            url = prefix + str((self.base_dir / url[len(prefix) :]).resolve())
        return url


def resolve_config_path(option: str | os.PathLike[str] | None) -> Path:
    """--config FILE, else $SWITCHBOARD_CONFIG, else ./switchboard.toml."""
    if option:
        return Path(option)
    env = os.environ.get(CONFIG_ENV)
    return Path(env) if env else Path(DEFAULT_CONFIG)


def load_site(path: str | os.PathLike[str], *, check_ports: bool = False) -> Site:
    """Read and validate a site file; every problem becomes a ConfigError naming file, field and value."""
    path = Path(path)
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"{path}: no such configuration file", path=str(path)) from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}", path=str(path)) from None
    site = parse_site(raw, path)
    if check_ports:
        check_ports_free(site, path)
    return site


def parse_site(raw: dict[str, Any], path: Path | None = None) -> Site:
    where = str(path) if path else "<site>"
    try:
        site = Site.model_validate({**raw, "source": path.resolve() if path else None})
    except ValidationError as exc:
        raise ConfigError(_describe(where, exc, raw), path=where, field=_first_field(exc)) from None
    return site


def _first_field(exc: ValidationError) -> str:
    err = exc.errors()[0]
    inner = (err.get("ctx") or {}).get("error")
    if isinstance(inner, _FieldError):
        return inner.field
    return ".".join(str(p) for p in err["loc"])


def _describe(where: str, exc: ValidationError, raw: dict[str, Any]) -> str:
    lines = []
    for err in exc.errors():
        inner = (err.get("ctx") or {}).get("error")
        if isinstance(inner, _FieldError):
            lines.append(f"{where}: {inner.field} = {inner.value!r}: {inner.reason}")
            continue
        loc = ".".join(str(p) for p in err["loc"])
        value = _lookup(raw, err["loc"])
        msg = err["msg"].removeprefix("Value error, ")
        shown = "" if value is _MISSING else f" = {value!r}"
        lines.append(f"{where}: {loc or '(top level)'}{shown}: {msg}")
    return "\n".join(lines)


_MISSING = object()


def _lookup(raw: Any, loc: tuple[Any, ...]) -> Any:
    node = raw
    for part in loc:
        try:
            node = node[part]
        except (KeyError, IndexError, TypeError):
            return _MISSING
    return node


def check_ports_free(site: Site, path: Path | None = None) -> None:
    """Refuse a site whose listening ports are taken right now (before Asterisk fails obscurely)."""
    where = str(path) if path else "<site>"
    wanted = [
        ("asterisk.sip_port", site.asterisk.sip_port, socket.SOCK_DGRAM),
        ("asterisk.ami_port", site.asterisk.ami_port, socket.SOCK_STREAM),
        ("fastagi.port", site.fastagi.port, socket.SOCK_STREAM),
    ]
    for field, port, kind in wanted:
        if not port_is_free(port, kind):
            raise ConfigError(f"{where}: {field} = {port}: port in use on 127.0.0.1", path=where, field=field)


def port_is_free(port: int, kind: int = socket.SOCK_STREAM, host: str = "127.0.0.1") -> bool:
    with socket.socket(socket.AF_INET, kind) as sock:
        if kind == socket.SOCK_STREAM:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError:
            return False
    return True
