"""Reads extensions.conf text as Asterisk's config parser and pbx_config do, into contexts and priorities whose
application arguments are trees of `${...}`, `$[...]` and brackets. Pure: text in, values and problems out.

The checker (dialplan_check.py) judges what this finds; here only the shape of the text is refused.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from asterisk_conf.dialplan_args import Node, Problem, parse_arguments

MAX_CONTEXT_NAME = 79  # AST_MAX_CONTEXT is 80 with its NUL
CONTEXT_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.+-]*")
LABEL = re.compile(r"[A-Za-z0-9_-]+")
LITERAL_EXTENSION = re.compile(r"[A-Za-z0-9*#+-]+")
PATTERN_CHARS = re.compile(r"[0-9A-Za-z*#+.!-]")
PRIORITY = re.compile(r"(\d+|n|next|s|same|hint|[ns]\+\d+)\s*(?:\(([^()]*)\))?")
APP_NAME = re.compile(r"[A-Za-z0-9_]+")
REFUSED_SWITCH = "{key} => is refused: it hands calls to a dialplan outside this file (another server, or realtime)"


@dataclass(frozen=True)
class ContextHeader:
    line: int
    name: str
    template: bool  # (!): a template, not a context of its own
    append: bool  # (+): adds to a context defined before
    inherits: tuple[str, ...]  # (tpl, ...): copies these templates' lines


@dataclass(frozen=True)
class Priority:
    """One `exten =>` or `same =>` line; `number` is None for a hint, `app` is "" for a hint."""

    line: int
    context: str
    extension: str
    number: int | None
    label: str | None
    app: str
    app_column: int
    args: tuple[tuple[Node, ...], ...]  # split at the commas Asterisk splits at
    args_text: str  # the arguments as written, without the enclosing parentheses
    line_text: str  # the line with comments blanked out (columns unchanged)
    args_start: int = 0  # index of the arguments in line_text


@dataclass(frozen=True)
class Include:
    line: int
    context: str
    target: str


@dataclass
class Dialplan:
    contexts: list[ContextHeader] = field(default_factory=list)
    priorities: list[Priority] = field(default_factory=list)
    includes: list[Include] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)


@dataclass
class _State:
    """Where the reader is: the current context, and the extension `same =>` and `n` continue."""

    context: str | None = None
    extension: str | None = None
    last: int | None = None  # the last numbered priority of that extension
    seen: dict[tuple[str, str, int], int] = field(default_factory=dict)  # (context, exten, priority) -> line
    labels: dict[tuple[str, str, str], int] = field(default_factory=dict)


def parse_dialplan(text: str) -> Dialplan:
    plan, state, depth = Dialplan(), _State(), 0
    opened_at = 0
    for number, raw in enumerate(text.split("\n"), start=1):
        raw = raw.removesuffix("\r")
        was_open = depth
        kept, depth = blank_comments(raw, depth)
        if depth and not was_open:
            opened_at = number
        _control_chars(number, kept, plan.problems)
        if kept.strip():
            _read_line(number, kept, state, plan)
        elif raw.lstrip().startswith("#"):
            # Commented out here; refused all the same, should Asterisk's reader ever see comments differently.
            plan.problems.append(_directive(number, raw.strip()))
    if depth:
        plan.problems.append(Problem(opened_at, None, "a ;-- block comment is never closed with --;"))
    return plan


def blank_comments(line: str, depth: int) -> tuple[str, int]:
    """The line with its comments replaced by spaces (so columns stay), and the ;-- --; nesting after it.

    As Asterisk's config.c: `;` starts a comment unless right after a backslash; `;--` opens a block comment
    (not `;---`), `--;` closes one.
    """
    out = list(line)
    i = 0
    while i < len(line):
        if depth:
            if line.startswith("--;", i):
                out[i : i + 3], i, depth = "   ", i + 3, depth - 1
            elif line.startswith(";--", i) and not line.startswith(";---", i):
                out[i : i + 3], i, depth = "   ", i + 3, depth + 1
            else:
                out[i], i = " ", i + 1
            continue
        if line[i] == ";" and (i == 0 or line[i - 1] != "\\"):
            if line.startswith(";--", i) and not line.startswith(";---", i):
                out[i : i + 3], i, depth = "   ", i + 3, depth + 1
                continue
            out[i:] = " " * (len(line) - i)
            break
        i += 1
    return "".join(out), depth


def _control_chars(number: int, line: str, problems: list[Problem]) -> None:
    for i, ch in enumerate(line):
        if (ord(ch) < 32 and ch != "\t") or ord(ch) == 127:
            problems.append(Problem(number, i + 1, f"control character {ch!r} at column {i + 1}", repr(ch)))
            return


def _read_line(number: int, line: str, state: _State, plan: Dialplan) -> None:
    stripped = line.strip()
    if stripped.startswith("#"):
        plan.problems.append(_directive(number, stripped))
    elif stripped.startswith("["):
        _header(number, stripped, state, plan)
    elif "=" not in stripped:
        message = "not a dialplan line: expected [context], exten =>, same =>, include => or ignorepat =>"
        plan.problems.append(Problem(number, None, message, stripped))
    else:
        key, _, value = stripped.partition("=")
        value_at = line.index("=") + 1
        if value.startswith(">"):
            value, value_at = value[1:], value_at + 1
        _statement(number, key.strip().lower(), line, value_at, state, plan)


def _directive(number: int, stripped: str) -> Problem:
    word = stripped.split(maxsplit=1)[0].lower()
    if word == "#exec":
        return Problem(number, 1, "#exec is refused: it runs a shell command on the server", stripped)
    if word in {"#include", "#tryinclude"}:
        return Problem(number, 1, f"{word} is refused: the admin's file may not include other files", stripped)
    return Problem(number, 1, f"unknown directive {word}", stripped)


def _header(number: int, stripped: str, state: _State, plan: Dialplan) -> None:
    m = re.fullmatch(r"\[([^\]]*)\]\s*(?:\(([^()]*)\))?", stripped)
    if m is None:
        plan.problems.append(Problem(number, 1, "a context header is [name] or [name](options)", stripped))
        state.context = None
        return
    name, options = m.group(1).strip(), [o.strip() for o in (m.group(2) or "").split(",") if o.strip()]
    if not CONTEXT_NAME.fullmatch(name) or len(name) > MAX_CONTEXT_NAME:
        message = f"context name [{name}]: 1-{MAX_CONTEXT_NAME} letters, digits, '-', '_', '.' or '+'"
        plan.problems.append(Problem(number, 2, message, stripped))
    inherits = tuple(o for o in options if o not in {"!", "+"})
    plan.contexts.append(ContextHeader(number, name, "!" in options, "+" in options, inherits))
    state.context, state.extension, state.last = name, None, None


def _statement(number: int, key: str, line: str, at: int, state: _State, plan: Dialplan) -> None:
    value = line[at:].strip()
    if key in {"switch", "eswitch", "lswitch"}:
        plan.problems.append(Problem(number, None, REFUSED_SWITCH.format(key=key), line.strip()))
        return
    if key not in {"exten", "same", "include", "ignorepat"}:
        plan.problems.append(Problem(number, None, f"unknown statement {key!r} in a dialplan", line.strip()))
        return
    if state.context is None:
        plan.problems.append(Problem(number, None, f"{key} => before any [context]", line.strip()))
        return
    if key == "include":
        target = value.split(",", 1)[0].strip()
        if not CONTEXT_NAME.fullmatch(target):
            plan.problems.append(Problem(number, None, f"include => names no context: {value!r}", value))
        else:
            plan.includes.append(Include(number, state.context, target))
    elif key == "ignorepat" and not value:
        plan.problems.append(Problem(number, None, "ignorepat => needs a pattern", line.strip()))
    elif key in {"exten", "same"}:
        _priority_line(number, key, line, at, state, plan)


def _priority_line(number: int, key: str, line: str, at: int, state: _State, plan: Dialplan) -> None:
    parts = line[at:].split(",", 2 if key == "exten" else 1)
    problems = plan.problems
    if key == "same":
        if state.extension is None:
            problems.append(Problem(number, None, "same => with no exten => before it in this context", line.strip()))
            return
        extension = state.extension
    else:
        extension = parts.pop(0).strip()
        if not _extension_ok(number, extension, problems):
            return
    if len(parts) < 2:
        problems.append(Problem(number, None, "expected a priority and an application", line.strip()))
        return
    pri_text, app_text = parts[0].strip(), parts[1]
    app_at = len(line) - len(app_text)
    resolved = _resolve_priority(number, pri_text, extension, state, problems)
    if resolved is None:
        return
    prio, label = resolved
    assert state.context is not None
    _remember(number, (state.context, extension, prio, label), state, problems)
    if prio is None:  # a hint: a device state, not an application
        plan.priorities.append(Priority(number, state.context, extension, None, None, "", app_at + 1, (), "", line))
        return
    _application(number, line, app_at, (state.context, extension, prio, label), plan)


def _extension_ok(number: int, extension: str, problems: list[Problem]) -> bool:
    name, _, caller = extension.partition("/")
    for part, what in ((name, "extension"), (caller, "caller id match")):
        if part == "" and what == "caller id match" and "/" not in extension:
            continue
        if part.startswith("_"):
            message = _pattern_problem(part[1:])
        else:
            message = None if LITERAL_EXTENSION.fullmatch(part) else "letters, digits, *, #, + or -"
        if message:
            problems.append(Problem(number, None, f"{what} {part!r}: {message}", extension))
            return False
    return True


def _pattern_problem(body: str) -> str | None:
    """Why an extension pattern (after its `_`) is malformed, or None."""
    if not body:
        return "a pattern needs something after _"
    inside = False
    for ch in body:
        if ch == "[":
            if inside:
                return "a [ inside [...]"
            inside = True
        elif ch == "]":
            if not inside:
                return "a ] with no [ before it"
            inside = False
        elif not PATTERN_CHARS.fullmatch(ch):
            return f"{ch!r} is not a pattern character (X Z N . ! [...] digits * # +)"
    return "a [ that is never closed" if inside else None


def _resolve_priority(
    number: int, text: str, extension: str, state: _State, problems: list[Problem]
) -> tuple[int | None, str | None] | None:
    m = PRIORITY.fullmatch(text)
    if m is None:
        problems.append(Problem(number, None, f"priority {text!r}: a number, n, n(label), or hint", text))
        return None
    kind, label = m.group(1), m.group(2)
    if label is not None and not LABEL.fullmatch(label):
        problems.append(Problem(number, None, f"label {label!r}: letters, digits, '-' or '_'", text))
        return None
    new_extension = extension != state.extension
    state.extension = extension
    if kind == "hint":
        state.last = None
        return None, None
    if kind.isdigit():
        prio = int(kind)
        if prio < 1:
            problems.append(Problem(number, None, "priorities start at 1", text))
            return None
    elif new_extension or state.last is None:
        what = "the first priority of an extension" if new_extension else "the priority after a hint"
        problems.append(Problem(number, None, f"{what} is a number (1), not {kind!r}", text))
        return None
    else:
        step = int(kind[2:]) if "+" in kind else (0 if kind in {"s", "same"} else 1)
        prio = state.last + step
    state.last = prio
    return prio, label


def _remember(
    number: int, key: tuple[str, str, int | None, str | None], state: _State, problems: list[Problem]
) -> None:
    context, extension, prio, label = key
    if prio is not None:
        first = state.seen.setdefault((context, extension, prio), number)
        if first != number:
            message = f"priority {prio} of extension {extension} in [{context}] is already defined on line {first}"
            problems.append(Problem(number, None, message, extension))
    if label is not None:
        first = state.labels.setdefault((context, extension, label), number)
        if first != number:
            message = f"label {label!r} of extension {extension} is already used on line {first}"
            problems.append(Problem(number, None, message, label))


def _application(number: int, line: str, at: int, where: tuple[str, str, int, str | None], plan: Dialplan) -> None:
    context, extension, prio, label = where
    text = line[at:]
    lead = len(text) - len(text.lstrip())
    body = text.strip()
    m = APP_NAME.match(body)
    column = at + lead + 1
    if m is None:
        plan.problems.append(Problem(number, column, "no application after the priority", body))
        return
    rest = body[m.end() :].lstrip()
    if rest and not (rest.startswith("(") and rest.endswith(")")):
        message = f"expected {m.group(0)}(arguments): the arguments go in parentheses"
        plan.problems.append(Problem(number, column, message, body))
        return
    args_start = at + lead + (len(body) - len(rest)) + 1
    args_text = rest[1:-1] if rest else ""
    args, problems = parse_arguments(number, line, args_start, args_start + len(args_text))
    plan.problems.extend(problems)
    plan.priorities.append(
        Priority(number, context, extension, prio, label, m.group(0), column, args, args_text, line, args_start)
    )
