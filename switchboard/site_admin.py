"""An admin's edits of the site file as data: operators with their skill levels, skills, queues; each edit gives the
new TOML text (the file's other sections and comments kept), checked by the same Site model as `config check`.

Pure: text in, text out. Saving versions, the audit log and applying to Asterisk are in switchboard/site_apply.py.
"""

from __future__ import annotations

import difflib
import hashlib
import re
import tomllib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import tomlkit
from pydantic import BaseModel, ValidationError
from tomlkit.items import AoT, Array, Table, Whitespace

from switchboard.config import NAME_RE, Operator, Queue, Site, parse_site
from switchboard.errors import ConfigError

# Shown instead of a secret in diffs and in the site as the API gives it: the browser never sees one.
MASK = "********"
_SECRET_LINE = re.compile(r'^(?P<head>[ \t]*[A-Za-z_]*secret[ \t]*=[ \t]*)(?P<value>"[^"]*"|\'[^\']*\')', re.MULTILINE)


class UnknownEntryError(ConfigError):
    """The edit names an operator, a queue, a skill or a version the site does not have."""


@dataclass(frozen=True)
class Edited:
    """The site after one edit: its new file text, the validated Site, and what changed in a few words."""

    text: str
    site: Site
    summary: str


def check(text: str, source: Path | None = None) -> Site:
    """Validate site text as `config check` would; a ConfigError names the file, the field and the value."""
    where = str(source) if source else "<site>"
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{where}: not valid TOML: {exc}", path=where) from None
    return parse_site(raw, source)


# -- operators -------------------------------------------------------------------------------------------------


def add_operator(text: str, fields: Mapping[str, Any], source: Path | None = None) -> Edited:
    """A new operator: sip_user, secret, name, skills {skill: level 1-5}, extension, supervisor."""
    return _add_entry(text, "operators", "sip_user", Operator, fields, source)


def edit_operator(text: str, sip_user: str, changes: Mapping[str, Any], source: Path | None = None) -> Edited:
    """Change an operator's fields; a field set to null is removed; no secret given keeps the old one."""
    changes = {k: v for k, v in changes.items() if not (k == "secret" and v in (None, ""))}
    return _edit_entry(text, "operators", "sip_user", sip_user, Operator, changes, source)


def remove_operator(text: str, sip_user: str, source: Path | None = None) -> Edited:
    doc = tomlkit.parse(text)
    index = _require(doc, "operators", "sip_user", sip_user, source)
    return _remove_entry(doc, "operators", index, source, f"operator {sip_user} removed")


# -- skills ----------------------------------------------------------------------------------------------------


def add_skill(text: str, name: str, source: Path | None = None) -> Edited:
    doc = tomlkit.parse(text)
    skills = _skills(doc)
    if not isinstance(name, str) or not NAME_RE.match(name):
        reason = "a skill name starts with a letter and holds only letters, digits, '_' or '-' (40 at most)"
        raise _refused(source, "skills", name, reason)
    if name in skills:
        raise _refused(source, f"skills.{list(skills).index(name)}", name, "this skill exists already")
    skills.append(name)
    return _edited(doc, source, f"skill {name} added")


def remove_skill(text: str, name: str, source: Path | None = None) -> Edited:
    """Remove a skill nobody uses; one still held by an operator or required by a queue is refused, naming them."""
    doc = tomlkit.parse(text)
    skills = _skills(doc)
    if name not in skills:
        raise _refused(source, "skills", name, "no such skill", UnknownEntryError)
    site = check(text, source)
    holders = [f"{op.sip_user} ({op.name})" for op in site.operators if name in op.skills]
    queues = [q.name for q in site.queues if name in q.requires]
    if holders or queues:
        users = "; ".join(
            part
            for part in (
                f"operators {', '.join(holders)}" if holders else "",
                f"queues {', '.join(queues)}" if queues else "",
            )
            if part
        )
        raise _refused(source, f"skills.{list(skills).index(name)}", name, f"still used by {users}: take it off first")
    skills.remove(name)
    return _edited(doc, source, f"skill {name} removed")


# -- queues ----------------------------------------------------------------------------------------------------


def add_queue(text: str, fields: Mapping[str, Any], source: Path | None = None) -> Edited:
    """A new queue: name, requires {skill: level}, steps [{after_s, min_level}], sl_seconds, sl_target,
    max_wait_s and on_max_wait (apologise, callback, voicemail, overflow with overflow_to), wrapup_s, ..."""
    return _add_entry(text, "queues", "name", Queue, fields, source)


def edit_queue(text: str, name: str, changes: Mapping[str, Any], source: Path | None = None) -> Edited:
    return _edit_entry(text, "queues", "name", name, Queue, changes, source)


def remove_queue(text: str, name: str, source: Path | None = None) -> Edited:
    """Remove a queue no hotline, menu, dialer or other queue's overflow sends calls to (else refused, naming them)."""
    doc = tomlkit.parse(text)
    index = _require(doc, "queues", "name", name, source)
    site = check(text, source)
    users = [f"hotline {h.number}" for h in site.hotlines if h.queue == name or name in h.menu.values()]
    users += [f"dialer {d.campaign}" for d in site.dialers if d.queue == name]
    users += [f"queue {q.name} (overflow)" for q in site.queues if q.overflow_to == name]
    if users:
        raise _refused(source, f"queues.{index}.name", name, f"still used by {', '.join(users)}: change them first")
    return _remove_entry(doc, "queues", index, source, f"queue {name} removed")


# -- reading and comparing -------------------------------------------------------------------------------------


def site_view(site: Site) -> dict[str, Any]:
    """The parts of the site an admin edits or looks at, as JSON; secrets left out."""
    operators = [op.model_dump(mode="json", exclude={"secret"}) for op in site.operators]
    return {
        "name": site.name,
        "file": str(site.source) if site.source else None,
        "skills": list(site.skills),
        "operators": operators,
        "queues": [q.model_dump(mode="json") for q in site.queues],
        "hotlines": [h.model_dump(mode="json") for h in site.hotlines],
        "dialers": [{"campaign": d.campaign, "queue": d.queue, "method": d.method} for d in site.dialers],
    }


def mask_secrets(text: str) -> str:
    """Site text with every `...secret = "..."` value masked (for diffs shown in a browser)."""
    # A short fingerprint tells a changed secret from an unchanged one without showing either.
    return _SECRET_LINE.sub(lambda m: f'{m.group("head")}"{MASK}" # {_fingerprint(m.group("value"))}', text)


def _fingerprint(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()[:6]


def diff(old: str, new: str, old_label: str = "before", new_label: str = "after") -> str:
    """A unified diff of two site texts, secrets masked ('' when they are the same)."""
    lines = difflib.unified_diff(
        mask_secrets(old).splitlines(keepends=True),
        mask_secrets(new).splitlines(keepends=True),
        old_label,
        new_label,
    )
    return "".join(line if line.endswith("\n") else line + "\n" for line in lines)


# -- helpers ---------------------------------------------------------------------------------------------------


def _add_entry(
    text: str, section: str, key: str, model: type[BaseModel], fields: Mapping[str, Any], source: Path | None
) -> Edited:
    """A new entry at the end of `section` (operators, queues), refused when one has the same `key` already."""
    doc = tomlkit.parse(text)
    entry = _without_nulls(fields)
    value, noun = str(entry.get(key, "")), section.removesuffix("s")
    index = _find(doc, section, key, value) if value else None
    if index is not None:
        article = "an" if noun[0] in "aeiou" else "a"
        raise _refused(source, f"{section}.{index}.{key}", value, f"{article} {noun} with this {key} exists")
    _append(doc, section, entry)
    return _finish(doc, source, section, len(_entries(doc, section)) - 1, model, f"{noun} {value} added")


def _edit_entry(
    text: str, section: str, key: str, value: str, model: type[BaseModel], changes: Mapping[str, Any],
    source: Path | None,
) -> Edited:  # fmt: skip
    """Change the fields of the entry whose `key` is `value`; the key itself cannot be changed."""
    doc = tomlkit.parse(text)
    index = _require(doc, section, key, value, source)
    _rename_refused(changes, key, value, f"{section}.{index}.{key}", source)
    _update(_entries(doc, section)[index], changes)
    return _finish(doc, source, section, index, model, f"{section.removesuffix('s')} {value} changed")


def _remove_entry(doc: tomlkit.TOMLDocument, section: str, index: int, source: Path | None, summary: str) -> Edited:
    del _entries(doc, section)[index]
    return _edited(doc, source, summary)


def _edited(doc: tomlkit.TOMLDocument, source: Path | None, summary: str) -> Edited:
    text = _dumps(doc)
    return Edited(text, check(text, source), summary)


def _refused(
    source: Path | None, field: str, value: object, reason: str, kind: type[ConfigError] = ConfigError
) -> ConfigError:
    where = str(source) if source else "<site>"
    return kind(f"{where}: {field} = {value!r}: {reason}", path=where, field=field)


def _dumps(doc: tomlkit.TOMLDocument) -> str:
    return tomlkit.dumps(doc)


def _entries(doc: tomlkit.TOMLDocument, section: str) -> Any:
    """The section's array of tables (or inline array), created empty when the file has none."""
    if section not in doc:
        doc.append(section, tomlkit.aot())
    return doc[section]


def _skills(doc: tomlkit.TOMLDocument) -> Any:
    if "skills" not in doc:
        doc["skills"] = tomlkit.array()
    return doc["skills"]


def _find(doc: tomlkit.TOMLDocument, section: str, key: str, value: str) -> int | None:
    for index, entry in enumerate(doc.get(section, [])):
        if isinstance(entry, Mapping) and entry.get(key) == value:
            return index
    return None


def _require(doc: tomlkit.TOMLDocument, section: str, key: str, value: str, source: Path | None) -> int:
    index = _find(doc, section, key, value)
    if index is None:
        raise _refused(source, f"{section}.{key}", value, f"no such {section.removesuffix('s')}", UnknownEntryError)
    return index


def _rename_refused(changes: Mapping[str, Any], key: str, current: str, field: str, source: Path | None) -> None:
    if key in changes and changes[key] != current:
        raise _refused(source, field, changes[key], f"cannot be renamed (remove this one and add {changes[key]!r})")


def _without_nulls(fields: Mapping[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in fields.items() if value is not None}


def _append(doc: tomlkit.TOMLDocument, section: str, entry: Mapping[str, Any]) -> None:
    entries = _entries(doc, section)
    if isinstance(entries, AoT):
        # A blank line between [[tables]], and after the new one when the section is followed by another.
        follows_blank = bool(len(entries)) and _ends_blank(entries[-1])
        if len(entries) and not follows_blank:
            entries[-1].add(tomlkit.nl())
        table = tomlkit.table()
        _update(table, entry)
        if follows_blank:
            table.add(tomlkit.nl())
        entries.append(table)
    elif isinstance(entries, Array):
        inline = tomlkit.inline_table()
        _update(inline, entry)
        entries.append(inline)
    else:
        raise ConfigError(f"{section} is not a list of tables in the site file", field=section)


def _ends_blank(table: Table) -> bool:
    body = table.value.body
    return bool(body) and isinstance(body[-1][1], Whitespace)


def _update(table: Any, changes: Mapping[str, Any]) -> None:
    """Set each changed key in place (comments on the others stay); a null removes the key."""
    for key, value in changes.items():
        if value is None:
            if key in table:
                del table[key]
            continue
        table[key] = _toml_value(key, value)


def _toml_value(field: str, value: Any) -> Any:
    if isinstance(value, bool | str):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)  # `after_s = 20`, not `20.0`
    if isinstance(value, int | float):
        return value
    if isinstance(value, Mapping):
        inline = tomlkit.inline_table()
        for key, item in value.items():
            inline[str(key)] = _toml_value(f"{field}.{key}", item)
        return inline
    if isinstance(value, list | tuple):
        array = tomlkit.array()
        for i, item in enumerate(value):
            array.append(_toml_value(f"{field}.{i}", item))
        return array
    raise ConfigError(f"{field} = {value!r}: not a value a site file can hold", field=field)


def _finish(
    doc: tomlkit.TOMLDocument, source: Path | None, section: str, index: int, model: type[BaseModel], summary: str
) -> Edited:
    """Validate the edited site, then rewrite the edited entry with the model's own types ('3' becomes 3)."""
    check(_dumps(doc), source)
    entry = _entries(doc, section)[index]
    normal = _normalised(model, dict(entry))
    _update(entry, {key: normal[key] for key in list(entry) if key in normal})
    return _edited(doc, source, summary)


def _normalised(model: type[BaseModel], raw: dict[str, Any]) -> dict[str, Any]:
    try:
        dumped: dict[str, Any] = model.model_validate(raw).model_dump(mode="json")
    except ValidationError:  # the whole site validated: cannot happen, but never lose the admin's edit over it
        return raw
    return dumped


EditFn = Callable[[str], Edited]
