"""The check an admin's dialplan passes before it reaches Asterisk: well-formed, only applications our Asterisk
has loaded, nothing that runs a shell or reads files, no caller data choosing what is dialled. Pure.

Refused, each with its line: syntax (dialplan_parse, dialplan_args); `#exec`, `#include`, `switch =>`;
System(), TrySystem(), SHELL() and FILE() anywhere, in any case, however deeply nested; AGI()/EAGI()/DeadAGI()
and Queue()'s AGI of a local program (FastAGI agi:// only) and MixMonitor()'s post-recording shell command;
names built at run time (`${ARG${N}}`, `Set(${X}=...)`: they could spell SHELL); applications Asterisk has not
loaded; contexts named like the platform's (an admin must not replace the hotline); caller data (below) in the
arguments of an application that takes a dial string or names a channel (DIAL_STRING_APPS), or in EVAL().

Caller data: ${EXTEN}, ${CALLERID(...)}, ${CONNECTEDLINE(...)}, ${REDIRECTING(...)}, SIP and PJSIP headers,
${RDNIS}, ${DNID}; and, followed through the file, variables Set from them, Read() digits, and a Gosub's ${ARGn}
when any Gosub passes caller data. It is safe inside ${FILTER(class,...)} whose class allows only digits, letters
and + * # . _ -. Queue() is not in DIAL_STRING_APPS: it names one of our queues, never a device or a channel.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable
from dataclasses import replace

from asterisk_conf import variables
from asterisk_conf.applications import APPLICATIONS, known_application
from asterisk_conf.dialplan_args import (
    Expression,
    Node,
    Problem,
    Substitution,
    Text,
    parse_arguments,
    plain_text,
    walk,
)
from asterisk_conf.dialplan_parse import Dialplan, Priority, parse_dialplan

__all__ = ["PLATFORM_CONTEXTS", "Problem", "check_dialplan", "context_names"]

MAX_CHARS = 256 * 1024
PLATFORM_CONTEXTS = frozenset(
    getattr(variables, name) for name in dir(variables) if name.startswith("CTX_") and name != "CTX_ADMIN"
)
RESERVED_SECTIONS = frozenset({"general", "globals"})  # extensions.conf's settings and global variables
PLATFORM_PREFIX = "switchboard-"
SHELL_TEXT = "it runs a shell command on the server"
REFUSED_APPS = {"system": SHELL_TEXT, "trysystem": SHELL_TEXT}
REFUSED_FUNCTIONS = {"SHELL": SHELL_TEXT, "FILE": "it reads and writes files on the server"}
_REFUSED_CALL = re.compile(r"(?<![A-Za-z0-9_])(shell|file)\(", re.IGNORECASE)
DIAL_STRING_APPS = frozenset(
    {"dial", "retrydial", "originate", "page", "chanspy", "extenspy", "transfer", "blindtransfer", "bridge"}
    | {"importvar", "messagesend"}
)
EXEC_APPS = frozenset({"exec", "tryexec", "execif", "execiftime"})  # they run the application in their arguments
LOCAL_AGI_APPS = frozenset({"agi", "eagi", "deadagi"})
FASTAGI = ("agi://", "hagi://", "${" + variables.PREFIX.lower() + "agi}")  # compared in lower case
CALLER_VARIABLES = frozenset({"EXTEN", "RDNIS", "DNID", "CALLERIDNUM", "CALLERIDNAME"})
CALLER_FUNCTIONS = frozenset(
    {"CALLERID", "CONNECTEDLINE", "REDIRECTING", "SIP_HEADER", "SIP_HEADERS", "PJSIP_HEADER", "PJSIP_HEADERS"}
)
GOSUB_APPS = frozenset({"gosub", "gosubif", "macro"})
SAFE_FILTER = frozenset("0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ+*#._-")
FILTER_HINT = "wrap it in ${FILTER(0-9,...)}"


def check_dialplan(
    text: str,
    *,
    platform_contexts: Iterable[str] = PLATFORM_CONTEXTS,
    applications: frozenset[str] = APPLICATIONS,
) -> list[Problem]:
    """Every problem in an admin's dialplan text, by line; [] means it may be applied."""
    if len(text) > MAX_CHARS:
        return [Problem(1, None, f"the dialplan is {len(text)} characters long; the limit is {MAX_CHARS}")]
    plan = parse_dialplan(text)
    platform = {name.lower() for name in platform_contexts}
    problems = list(plan.problems)
    problems += _context_problems(plan, platform)
    problems += _first_priorities(plan)
    tainted = _tainted(plan.priorities)
    for prio in plan.priorities:
        problems += _priority_problems(prio, tainted, applications)
    return _unique(problems)


def context_names(text: str) -> list[str]:
    """The contexts a dialplan text defines (templates aside), in order."""
    return list(dict.fromkeys(c.name for c in parse_dialplan(text).contexts if not c.template))


def _unique(problems: list[Problem]) -> list[Problem]:
    seen: set[tuple[int, str]] = set()
    out = []
    for problem in sorted(problems, key=lambda p: (p.line, p.column or 0, p.message)):
        if (problem.line, problem.message) not in seen:
            seen.add((problem.line, problem.message))
            out.append(problem)
    return out


def _context_problems(plan: Dialplan, platform: set[str]) -> list[Problem]:
    problems, defined = [], set()
    admin = variables.CTX_ADMIN
    for ctx in plan.contexts:
        lower = ctx.name.lower()
        if lower in RESERVED_SECTIONS:
            message = f"[{ctx.name}] is reserved: extensions.conf's [{lower}] belongs to the platform"
        elif lower in platform:
            message = f"[{ctx.name}] is the platform's own context: an admin context may not replace it"
        elif lower.startswith(PLATFORM_PREFIX) and lower != admin and not lower.startswith(admin + "-"):
            message = f"[{ctx.name}]: {PLATFORM_PREFIX} names are the platform's; use {admin}-... or a name of your own"
        elif ctx.append and lower not in defined:
            message = f"[{ctx.name}](+) adds to a context defined above, and there is none named {ctx.name}"
        else:
            message = ""
        if message:
            problems.append(Problem(ctx.line, 2, message, f"[{ctx.name}]"))
        for template in ctx.inherits:
            if template.lower() not in defined:
                problems.append(Problem(ctx.line, None, f"[{ctx.name}]({template}): no {template} defined above"))
        defined.add(lower)
    real = {c.name.lower() for c in plan.contexts if not c.template}
    for inc in plan.includes:
        if inc.target.lower() not in real | platform:
            message = f"include => {inc.target}: no such context, neither here nor in the platform's dialplan"
            problems.append(Problem(inc.line, None, message, inc.target))
    return problems


def _first_priorities(plan: Dialplan) -> list[Problem]:
    first_line: dict[tuple[str, str], int] = {}
    numbers: dict[tuple[str, str], set[int]] = {}
    for prio in plan.priorities:
        key = (prio.context, prio.extension)
        if prio.number is not None:
            first_line.setdefault(key, prio.line)
            numbers.setdefault(key, set()).add(prio.number)
    return [
        Problem(line, None, f"extension {ext} in [{ctx}] has no priority 1: Asterisk never starts it", ext)
        for (ctx, ext), line in first_line.items()
        if 1 not in numbers[(ctx, ext)]
    ]


# --- caller data, followed through the file ---


def _var_key(name: str) -> str:
    return name.strip().lstrip("_").upper()


def _filter_is_safe(sub: Substitution) -> bool:
    """FILTER(class,data) whose class is literal and lets through only characters without meaning in a dial string."""
    if len(sub.args) < 2 or not all(isinstance(n, Text) and not n.escaped for n in sub.args[0]):
        return False
    chars = plain_text(sub.args[0])
    i = 0
    while i < len(chars):
        if i + 2 < len(chars) and chars[i + 1] == "-":
            low, high = ord(chars[i]), ord(chars[i + 2])
            if high - low > 80 or any(chr(c) not in SAFE_FILTER for c in range(low, high + 1)):
                return False
            i += 3
        elif chars[i] not in SAFE_FILTER:
            return False
        else:
            i += 1
    return bool(chars)


def _caller_data(nodes: Iterable[Node], tainted: dict[str, int]) -> list[tuple[Substitution, str]]:
    """Unfiltered caller data in the nodes: each substitution, with why it is the caller's."""
    found: list[tuple[Substitution, str]] = []
    for node in nodes:
        if isinstance(node, Text):
            continue
        if not isinstance(node, Substitution):
            found += _caller_data(node.body, tainted)
            continue
        name, key = node.name.upper(), _var_key(node.name)
        plain_variable = not node.call and not node.dynamic
        if node.call and name == "FILTER":
            if not _filter_is_safe(node):
                why = f"{node.source} lets through characters with a meaning in a dial string"
                found += [(sub, why) for sub, _ in _caller_data(node.body, tainted)]
        elif (node.call and name in CALLER_FUNCTIONS) or (plain_variable and key in CALLER_VARIABLES):
            found.append((node, "the caller chooses it"))
        elif plain_variable and key in tainted:
            found.append((node, f"it holds caller data (set on line {tainted[key]})"))
        else:
            found += _caller_data(node.body, tainted)
    return found


def _assignments(prio: Priority) -> list[tuple[tuple[Node, ...], tuple[Node, ...]]]:
    """(name nodes, value nodes) of each assignment a Set() or MSet() makes."""
    app = prio.app.lower()
    if app == "set" and prio.args:
        pieces = [tuple(n for arg in prio.args for n in (*arg, Text(",", 0)))[:-1]]
    elif app == "mset":
        pieces = list(prio.args)
    else:
        return []
    out = []
    for piece in pieces:
        for i, node in enumerate(piece):
            if isinstance(node, Text) and not node.escaped and "=" in node.text:
                left, _, right = node.text.partition("=")
                name = (*piece[:i], Text(left, node.column))
                out.append((name, (Text(right, node.column), *piece[i + 1 :])))
                break
    return out


def _built_at_run_time(nodes: tuple[Node, ...]) -> bool:
    return any(isinstance(n, Substitution | Expression) for n in walk(nodes))


def _tainted(priorities: list[Priority]) -> dict[str, int]:
    """Variable names (upper case, no inheritance underscores) that hold caller data, with the line that set them."""
    tainted: dict[str, int] = {}
    changed = True
    while changed:
        changed = False
        for prio in priorities:
            for name, line in _taints_of(prio, tainted):
                if name and name not in tainted:
                    tainted[name] = line
                    changed = True
    return tainted


def _taints_of(prio: Priority, tainted: dict[str, int]) -> list[tuple[str, int]]:
    app = prio.app.lower()
    if app == "read" and prio.args:
        return [(_var_key(plain_text(prio.args[0])), prio.line)]
    if app in GOSUB_APPS and any(_caller_data(arg, tainted) for arg in prio.args):
        return [(f"ARG{n}", prio.line) for n in range(1, 21)]
    return [
        (_var_key(plain_text(name)), prio.line)
        for name, value in _assignments(prio)
        if not _built_at_run_time(name) and _caller_data(value, tainted)
    ]


# --- one priority ---


def _priority_problems(prio: Priority, tainted: dict[str, int], applications: frozenset[str]) -> list[Problem]:
    problems = _refused_text(prio)
    if prio.number is None:  # a hint names a device, it runs nothing
        return problems
    problems += _application_problems(prio, tainted, applications)
    for sub in (n for arg in prio.args for n in walk(arg) if isinstance(n, Substitution)):
        problems += _substitution_problems(prio, sub, tainted)
    for name, _ in _assignments(prio):
        if _built_at_run_time(name):
            source = plain_text(name)
            message = f"Set() of a name built at run time ({source}) is refused: it could name SHELL() or FILE()"
            problems.append(Problem(prio.line, prio.app_column, message, source))
    return problems


def _refused_text(prio: Priority) -> list[Problem]:
    """SHELL( and FILE( anywhere in the line, as written and with backslashes taken out."""
    problems = []
    for text in (prio.line_text, prio.line_text.replace("\\", "")):
        for m in _REFUSED_CALL.finditer(text):
            name = m.group(1).upper()
            message = f"{name}() is refused: {REFUSED_FUNCTIONS[name]}"
            problems.append(Problem(prio.line, m.start() + 1, message, m.group(0)))
    return problems


def _substitution_problems(prio: Priority, sub: Substitution, tainted: dict[str, int]) -> list[Problem]:
    name = sub.name.upper()
    if sub.dynamic:
        message = f"a name built at run time ({sub.source}) is refused: it could spell SHELL() or a caller's data"
        return [Problem(prio.line, sub.column, message, sub.source)]
    if sub.call and name in REFUSED_FUNCTIONS:
        return [Problem(prio.line, sub.column, f"{name}() is refused: {REFUSED_FUNCTIONS[name]}", sub.source)]
    if sub.call and name == "EVAL" and _caller_data(sub.body, tainted):
        message = "EVAL() of caller data is refused: it would run whatever the caller sends"
        return [Problem(prio.line, sub.column, message, sub.source)]
    return []


def _application_problems(prio: Priority, tainted: dict[str, int], applications: frozenset[str]) -> list[Problem]:
    app = prio.app.lower()
    if app in REFUSED_APPS:
        return [Problem(prio.line, prio.app_column, f"{prio.app}() is refused: {REFUSED_APPS[app]}", prio.app)]
    problems = []
    if known_application(prio.app, applications) is None:
        close = difflib.get_close_matches(prio.app, sorted(applications), n=1)
        hint = f" (did you mean {close[0]}?)" if close else ""
        message = f"{prio.app}() is not an application this Asterisk has loaded{hint}"
        problems.append(Problem(prio.line, prio.app_column, message, prio.app))
    problems += _program_problems(prio)
    if app in DIAL_STRING_APPS:
        for sub, why in (found for arg in prio.args for found in _caller_data(arg, tainted)):
            message = f"{sub.source} reaches {prio.app}() unfiltered: {why}; {FILTER_HINT}"
            problems.append(Problem(prio.line, sub.column, message, sub.source))
    if app in EXEC_APPS:
        problems += _inner_problems(prio, tainted, applications)
    return problems


def _program_problems(prio: Priority) -> list[Problem]:
    """A program on the server, started by the dialplan: a local AGI script, MixMonitor's command."""
    app, args = prio.app.lower(), prio.args
    problems = []
    agi_arg = args[0] if app in LOCAL_AGI_APPS and args else args[5] if app == "queue" and len(args) > 5 else ()
    script = plain_text(agi_arg).strip()
    if script and not script.lower().startswith(FASTAGI):
        message = f"{prio.app}() of {script!r} is refused: a local AGI script is a program on the server; use agi://"
        problems.append(Problem(prio.line, agi_arg[0].column, message, script))
    if app == "mixmonitor" and len(args) > 2 and plain_text(args[2]).strip():
        message = "MixMonitor()'s third argument is refused: it is a shell command run after the recording"
        problems.append(Problem(prio.line, args[2][0].column, message, plain_text(args[2])))
    return problems


def _inner_problems(prio: Priority, tainted: dict[str, int], applications: frozenset[str]) -> list[Problem]:
    """ExecIf(cond?App(args):App(args)), ExecIfTime(times?App(args)), Exec(App(args)): the inner applications."""
    text, base, app = prio.args_text, prio.args_start, prio.app.lower()
    start = _top_level(text, "?", 0) + 1 if app in {"execif", "execiftime"} else 0
    problems: list[Problem] = []
    while start <= len(text):
        m = re.match(r"\s*([A-Za-z0-9_]+)", text[start:])
        if m is None:
            message = f"{prio.app}() of an application named at run time is refused: it could be System()"
            return [*problems, Problem(prio.line, base + start + 1, message, text[start:])]
        name_end = start + m.end()
        if text[name_end : name_end + 1] == "(":
            close_at = _top_level(text, ")", name_end + 1)
            first, last = base + name_end + 1, base + close_at
        else:
            close_at, first, last = name_end - 1, base + name_end, base + name_end
        args, _ = parse_arguments(prio.line, prio.line_text, first, last)
        column = base + start + m.start(1) + 1
        inner = replace(prio, app=m.group(1), app_column=column, args=args, args_start=first)
        problems += _application_problems(replace(inner, args_text=prio.line_text[first:last]), tainted, applications)
        after = close_at + 1
        if app != "execif" or text[after : after + 1] != ":":
            break
        start = after + 1
    return problems


def _top_level(text: str, target: str, start: int) -> int:
    """Index of `target` outside brackets (backslash escapes skipped) from start; len(text) if none."""
    depth, i = 0, start
    while i < len(text):
        ch = text[i]
        if ch == "\\":
            i += 2
            continue
        if ch == target and depth == 0:
            return i
        depth += 1 if ch in "({[" else -1 if ch in ")}]" else 0
        i += 1
    return len(text)
