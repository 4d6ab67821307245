"""Application arguments as Asterisk reads them: `${...}` substitutions (variables and function calls),
`$[...]` expressions and bracket groups, nested, with each piece's column; split at commas as apps split them.

Pure. Brackets are balanced as Asterisk counts them (quotes do not hide a bracket); a backslash escapes one char.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

MAX_DEPTH = 24  # deeper nesting than any real dialplan; a guard against text built to exhaust the parser
_CLOSES = {"(": ")", "{": "}", "[": "]"}
_NAME = re.compile(r"[^:(]*")


@dataclass(frozen=True)
class Problem:
    """One refusal: the line (1-based), the column when known, what is wrong, and the offending text."""

    line: int
    column: int | None
    message: str
    text: str = ""

    def __post_init__(self) -> None:
        for name, limit in (("message", 300), ("text", 120)):
            value = getattr(self, name)
            if len(value) > limit:  # a problem is shown to a person: the start of a long piece is enough
                object.__setattr__(self, name, value[: limit - 1] + "…")

    def __str__(self) -> str:
        return f"line {self.line}: {self.message}"


@dataclass(frozen=True)
class Text:
    text: str
    column: int
    escaped: bool = False  # one character after a backslash: never a separator or a quote


@dataclass(frozen=True)
class Group:
    """(...), {...} or [...] in plain text."""

    opener: str
    column: int
    body: tuple[Node, ...]


@dataclass(frozen=True)
class Expression:
    """$[...]: an expression Asterisk evaluates."""

    column: int
    body: tuple[Node, ...]
    source: str


@dataclass(frozen=True)
class Substitution:
    """${NAME}, ${NAME:offset:length} or ${FUNC(args)}; `dynamic` when the name itself is built at run time."""

    column: int
    body: tuple[Node, ...]
    source: str
    name: str
    call: bool
    dynamic: bool
    args: tuple[tuple[Node, ...], ...]  # a function's arguments


Node = Text | Group | Expression | Substitution


def parse_arguments(
    line_no: int, line: str, start: int, end: int
) -> tuple[tuple[tuple[Node, ...], ...], list[Problem]]:
    """line[start:end] as a tree, split into the application's arguments; and what is unbalanced in it."""
    scanner = _Scanner(line_no, line)
    nodes, _, _ = scanner.sequence(start, end, None, 0)
    return split_arguments(nodes), scanner.problems


def split_arguments(nodes: tuple[Node, ...] | list[Node]) -> tuple[tuple[Node, ...], ...]:
    """Split at top-level commas outside double quotes (ast_app_separate_args); () of an argument stay whole."""
    if not nodes:
        return ()
    args: list[list[Node]] = [[]]
    quoted = False
    for node in nodes:
        if not isinstance(node, Text) or node.escaped:
            args[-1].append(node)
            continue
        piece_start = 0
        for i, ch in enumerate(node.text):
            if ch == '"':
                quoted = not quoted
            elif ch == "," and not quoted:
                if i > piece_start:
                    args[-1].append(Text(node.text[piece_start:i], node.column + piece_start))
                args.append([])
                piece_start = i + 1
        if piece_start < len(node.text):
            args[-1].append(Text(node.text[piece_start:], node.column + piece_start))
    return tuple(tuple(arg) for arg in args)


def walk(nodes: tuple[Node, ...] | list[Node]) -> Iterator[Node]:
    """Every node, depth first, including those inside substitutions, expressions and groups."""
    for node in nodes:
        yield node
        if not isinstance(node, Text):
            yield from walk(node.body)


def plain_text(nodes: tuple[Node, ...] | list[Node]) -> str:
    """The text of the nodes as written (escapes resolved)."""
    parts: list[str] = []
    for node in nodes:
        if isinstance(node, Text):
            parts.append(node.text)
        elif isinstance(node, Group):
            parts.append(node.opener + plain_text(node.body) + _CLOSES[node.opener])
        else:
            parts.append(node.source)
    return "".join(parts)


class _Scanner:
    def __init__(self, line_no: int, line: str) -> None:
        self.line_no, self.line = line_no, line
        self.problems: list[Problem] = []

    def _problem(self, index: int, message: str) -> None:
        self.problems.append(Problem(self.line_no, index + 1, message, self.line[index : index + 20].strip()))

    def sequence(self, pos: int, end: int, closer: str | None, depth: int) -> tuple[list[Node], int, bool]:
        """Nodes from pos up to `closer` (consumed) or end: them, the position after, and whether it closed."""
        nodes: list[Node] = []
        text_start = pos
        line = self.line

        def flush(upto: int) -> None:
            if upto > text_start:
                nodes.append(Text(line[text_start:upto], text_start + 1))

        while pos < end:
            ch = line[pos]
            if ch == "\\":
                flush(pos)
                if pos + 1 >= end:
                    self._problem(pos, "a backslash at the end of the arguments escapes nothing")
                    return nodes, end, False
                nodes.append(Text(line[pos + 1], pos + 2, escaped=True))
                pos += 2
            elif ch == "$" and pos + 1 < end and line[pos + 1] in "{[":
                flush(pos)
                pos = self._nested(pos, end, depth, nodes, dollar=True)
            elif ch in _CLOSES:
                flush(pos)
                pos = self._nested(pos, end, depth, nodes, dollar=False)
            elif ch in ")}]":
                if ch == closer:
                    flush(pos)
                    return nodes, pos + 1, True
                expected = f"where {closer!r} was expected" if closer else "closes nothing"
                self._problem(pos, f"{ch!r} at column {pos + 1} {expected}")
                pos += 1
                continue
            else:
                pos += 1
                continue
            text_start = pos
        flush(end)
        return nodes, end, False

    def _nested(self, pos: int, end: int, depth: int, nodes: list[Node], *, dollar: bool) -> int:
        opener = self.line[pos + 1] if dollar else self.line[pos]
        inner = pos + (2 if dollar else 1)
        if depth >= MAX_DEPTH:
            self._problem(pos, f"brackets nested more than {MAX_DEPTH} deep")
            return end
        body, after, closed = self.sequence(inner, end, _CLOSES[opener], depth + 1)
        if not closed:
            shown = ("$" if dollar else "") + opener
            self._problem(pos, f"{shown!r} at column {pos + 1} is never closed")
        source = self.line[pos:after]
        if not dollar:
            nodes.append(Group(opener, pos + 1, tuple(body)))
        elif opener == "[":
            nodes.append(Expression(pos + 1, tuple(body), source))
        else:
            nodes.append(self._substitution(pos, tuple(body), source))
        return after

    def _substitution(self, pos: int, body: tuple[Node, ...], source: str) -> Substitution:
        if not body:
            self._problem(pos, "${} names nothing")
            return Substitution(pos + 1, body, source, "", False, False, ())
        first = body[0]
        if not isinstance(first, Text) or first.escaped:
            return Substitution(pos + 1, body, source, "", False, True, ())
        m = _NAME.match(first.text)
        name = m.group(0) if m else ""
        rest = first.text[len(name) :]
        if rest == "" and len(body) > 1 and isinstance(body[1], Group) and body[1].opener == "(":
            after = body[2:]
            if all(isinstance(n, Text) for n in after[:1]) and (not after or _starts_substring(after[0])):
                return Substitution(pos + 1, body, source, name.strip(), True, False, split_arguments(body[1].body))
        dynamic = rest == "" and len(body) > 1  # ${ARG${N}}: a name finished at run time
        return Substitution(pos + 1, body, source, name.strip(), False, dynamic or not name.strip(), ())


def _starts_substring(node: Node) -> bool:
    return isinstance(node, Text) and node.text.startswith(":")
